#!/usr/bin/env bash
# Times upcause against what people run today, side by side in one run, on
# a generated realistic log (benches/genlog.rs):
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

# median of the wall times (and the max RSS) of RUNS runs, read from
# GNU time -v ("Elapsed (wall clock) time", "Maximum resident set size")
measure() {
  local cmd=$1 times=() rss=0 out wall kb
  for _ in $(seq "$RUNS"); do
    out=$( { /usr/bin/time -v bash -c "$cmd" 2>&1 >/dev/null; } )
    wall=$(printf '%s\n' "$out" | awk -F': ' '/Elapsed \(wall clock\)/ {
      n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; printf "%.2f", s }')
    kb=$(printf '%s\n' "$out" | awk -F': ' '/Maximum resident set size/ {print $2}')
    times+=("$wall")
    [ "${kb:-0}" -gt "$rss" ] && rss=$kb
  done
  printf '%s %s\n' "$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')" "$rss"
}

echo
echo "Input: $LOG ($((BYTES / 1048576)) MiB, $(wc -l < "$LOG") lines), median of $RUNS runs, $(nproc) cores"
echo
printf '| %-40s | %10s | %9s | %16s | %9s |\n' "command" "median (s)" "MB/s" "ratio to rg -c" "peak RSS"
printf '|%s|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..42})" "------------" "-----------" "------------------" "-----------"
RG=""
for entry in "${CMDS[@]}"; do
  name=${entry%%::*}; cmd=${entry#*::}
  read -r wall rss < <(measure "$cmd")
  [ "$name" = "rg -c upstream" ] && RG=$wall
  mbs=$(awk -v b="$BYTES" -v t="$wall" 'BEGIN { if (t > 0) printf "%.0f", b / 1e6 / t; else print "-" }')
  ratio=$(awk -v t="$wall" -v r="${RG:-0}" 'BEGIN { if (r > 0) printf "%.2fx", t / r; else print "-" }')
  printf '| %-40s | %10s | %9s | %16s | %6s MiB |\n' "$name" "$wall" "$mbs" "$ratio" "$((rss / 1024))"
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
  read -r wall rss < <(RUNS=1 measure "$UPCAUSE analyze -q --format json $f > /dev/null")
  echo "  $size: $((rss / 1024)) MiB peak RSS, ${wall}s"
done
