#!/usr/bin/env bash
# Times upcause against what people run today, side by side in one run, on
# a generated realistic log (benches/genlog.rs), each command alternating
# with rg -c upstream (A B A B ...) and judged by the median of the
# per-pair ratios, with their range:
#   cat, rg -c upstream (with and without mmap), the grep|sort|uniq
#   pipeline, zcat on the gzip copy, upcause analyze --format json on the
#   plain and the gzip file (all cores and one thread),
# then upcause's peak RSS on inputs of several sizes.
#
# usage: benches/compare.sh [SIZE] [RUNS]      (default 1G, 5 runs)
# Needs: rg (ripgrep), gzip, /usr/bin/time (GNU time). Data is cached under
# target/bench-data/; delete it to regenerate.
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE=${1:-1G}
RUNS=${2:-5}
DATA=target/bench-data
mkdir -p "$DATA"

for tool in rg gzip /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "compare.sh: $tool is missing (apt-get install -y ripgrep gzip time)" >&2; exit 3; }
done

cargo build --release --quiet
cargo build --release --quiet --example genlog
UPCAUSE=target/release/upcause
GEN=target/release/examples/genlog

LOG=$DATA/nginx-$SIZE.log
if [ ! -s "$LOG" ]; then
  echo "generating $LOG ..." >&2
  "$GEN" --format nginx --size "$SIZE" --seed 1 > "$LOG"
fi
if [ ! -s "$LOG.gz" ]; then
  echo "compressing $LOG.gz ..." >&2
  gzip -1 -c "$LOG" > "$LOG.gz"
fi
BYTES=$(stat -c %s "$LOG")
cat "$LOG" "$LOG.gz" > /dev/null # warm the page cache

SIGS='upstream timed out|connect\(\) failed|connect\(\) to .* failed|no live upstreams|upstream prematurely closed|recv\(\) failed|upstream sent|SSL_do_handshake\(\) failed|could not be resolved|worker_connections are not enough|FastCGI sent in stderr'

# name::command (run with bash -c)
CMDS=(
  "cat::cat $LOG > /dev/null"
  "rg -c upstream::rg -c upstream $LOG"
  "rg -c upstream --no-mmap::rg --no-mmap -c upstream $LOG"
  "grep -E SIGS + grep -o + sort + uniq -c::grep -E '$SIGS' $LOG | grep -o 'upstream: \"[^\"]*\"' | sort | uniq -c | sort -rn > /dev/null"
  "the same pipeline with LC_ALL=C::LC_ALL=C grep -E '$SIGS' $LOG | LC_ALL=C grep -o 'upstream: \"[^\"]*\"' | LC_ALL=C sort | uniq -c | sort -rn > /dev/null"
  "upcause analyze --format json::$UPCAUSE analyze -q --format json $LOG > /dev/null"
  "upcause analyze --format json -j1::$UPCAUSE analyze -q --format json -j1 $LOG > /dev/null"
  "zcat FILE.gz::zcat $LOG.gz > /dev/null"
  "upcause analyze --format json FILE.gz::$UPCAUSE analyze -q --format json $LOG.gz > /dev/null"
)

. benches/timing.sh

REF="rg -c upstream $LOG > /dev/null"
echo
echo "Input: $LOG ($((BYTES / 1048576)) MiB, $(wc -l < "$LOG") lines), $(nproc) cores, page cache warm"
echo "Each command alternates with rg -c upstream, $RUNS pairs: median time; ratio = median of the per-pair ratios (range)"
echo
printf '| %-40s | %10s | %9s | %24s | %9s |\n' "command" "median (s)" "MB/s" "ratio to rg -c (range)" "peak RSS"
printf '|%s|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..42})" "------------" "-----------" "--------------------------" "-----------"
for entry in "${CMDS[@]}"; do
  name=${entry%%::*}; cmd=${entry#*::}
  read -r wall rss _ ratio < <(paired "$cmd" "$REF")
  mbs=$(awk -v b="$BYTES" -v t="$wall" 'BEGIN { if (t > 0) printf "%.0f", b / 1e6 / t; else print "-" }')
  printf '| %-40s | %10s | %9s | %24s | %6s MiB |\n' "$name" "$wall" "$mbs" "$ratio" "$((rss / 1024))"
done

echo
echo "upcause peak RSS by input size (analyze --format json, all cores):"
for size in 100M "$SIZE" 3G; do
  f=$DATA/nginx-$size.log
  if [ ! -s "$f" ]; then
    if [ "$size" = 3G ] && [ "$(df --output=avail -B1G "$DATA" | tail -n 1)" -lt 8 ]; then
      echo "  $size: skipped (less than 8 GiB free)"; continue
    fi
    "$GEN" --format nginx --size "$size" --seed 1 > "$f"
  fi
  cat "$f" > /dev/null # warm, so that the time is the analysis, not the disk
  read -r wall rss < <(once "$UPCAUSE analyze -q --format json $f > /dev/null")
  echo "  $size: $((rss / 1024)) MiB peak RSS, ${wall}s"
done
