#!/usr/bin/env bash
# Bytes per second on each kind of error log against nginx's: the measure
# behind "Apache, php-fpm and kernel logs at nginx's per-byte speed". The
# logs are benches/suite.sh's 256 MiB generated ones (nginx noisy, Apache
# 2.4, php-fpm with most lines failures, a calm php-fpm pool, kern.log),
# made the same way if missing. Each round times `upcause analyze --format
# json FILE` (all cores, page cache warm) once on every log in turn, so
# that all of them see the same machine state; per log, the median time,
# the throughput, and the median over the rounds of its MB/s divided by
# nginx's in the same round, with the range.
#
# usage: benches/perbyte.sh [ROUNDS]    (default 15)
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-15}
UPCAUSE=target/release/upcause
GEN=target/release/examples/genlog
DATA=target/bench-data
cargo build --release --quiet
cargo build --release --quiet --example genlog
mkdir -p "$DATA"

# A generated log, made once (named as benches/suite.sh names it).
data() { # data NAME GENLOG-ARGS...
  local f=$DATA/$1-256M.log
  shift
  if [ ! -s "$f" ]; then
    echo "generating $f ..." >&2
    "$GEN" "$@" --size 256M --seed 1 > "$f.tmp" && mv "$f.tmp" "$f"
  fi
  printf '%s\n' "$f"
}

names=(nginx apache php-fpm "php-fpm quiet" kernel)
files=(
  "$(data nginx --format nginx)"
  "$(data apache --format apache)"
  "$(data php-fpm --format php-fpm)"
  "$(data php-fpm-quiet --format php-fpm --profile quiet)"
  "$(data kernel --format kernel)"
)
for f in "${files[@]}"; do cat "$f" > /dev/null; done

# Seconds of one run, from the clock around it.
seconds() {
  local t0 t1
  t0=$(date +%s%N)
  "$UPCAUSE" analyze -q --format json "$1" > /dev/null
  t1=$(date +%s%N)
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", (b - a) / 1e9 }'
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

declare -A times ratios
for _ in $(seq "$ROUNDS"); do
  round=()
  for i in "${!files[@]}"; do
    round[i]=$(seconds "${files[i]}")
    times[$i]+="${round[i]} "
  done
  for i in "${!files[@]}"; do
    # (bytes_i / t_i) / (bytes_nginx / t_nginx)
    ratios[$i]+="$(awk -v bi="$(stat -c %s "${files[i]}")" -v ti="${round[i]}" \
      -v bn="$(stat -c %s "${files[0]}")" -v tn="${round[0]}" \
      'BEGIN { printf "%.3f", (bi / ti) / (bn / tn) }') "
  done
done

echo "Measured $(date -u +%Y-%m-%d) on $(nproc) cores, page cache warm, \`benches/perbyte.sh $ROUNDS\`: $ROUNDS rounds, each log once per round."
echo
echo "| log | size | upcause (s) | MB/s | MB/s against nginx's (range) |"
echo "|---|---|---|---|---|"
for i in "${!files[@]}"; do
  bytes=$(stat -c %s "${files[i]}")
  t=$(printf '%s\n' ${times[$i]} | median)
  r=$(printf '%s\n' ${ratios[$i]} | median)
  lo=$(printf '%s\n' ${ratios[$i]} | sort -n | head -n 1)
  hi=$(printf '%s\n' ${ratios[$i]} | sort -n | tail -n 1)
  awk -v n="${names[i]}" -v b="$bytes" -v t="$t" -v r="$r" -v lo="$lo" -v hi="$hi" \
    'BEGIN { printf "| %s | %d MiB | %.3f | %.0f | %.0f%% (%.0f%%-%.0f%%) |\n", n, b / 1048576, t, b / 1e6 / t, r * 100, lo * 100, hi * 100 }'
done
