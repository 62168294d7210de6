#!/usr/bin/env bash
# The benchmark set: upcause against ripgrep on every kind of log it reads,
# not on one. Each row times `upcause analyze --format json FILE` (all
# cores) alternating with its reference (A B A B ..., RUNS pairs, page
# cache warm) and gives the median time, the throughput, the median of the
# per-pair ratios with their range, and upcause's peak RSS:
#
#   nginx noisy / quiet / outage   benches/genlog.rs --profile (40%, 4% and
#                                  100% upstream failures), 64 MiB to 1 GiB
#                                  (4 GiB with --full)
#   nginx noisy, gzip -1           against zcat of the same file
#   nginx in syslog / docker / cri envelopes (genlog --wrap)
#   Apache 2.4, php-fpm, kernel    genlog --format apache|php-fpm|kernel
#                                  (php-fpm also --profile quiet: a calm
#                                  pool's children started and exited)
#   access, custom / combined      genlog --format access (the custom
#                                  format with the upstream variables, given
#                                  with --access-format; and the same lines
#                                  cut to `combined`), against rg -c ' 502 '
#   real fixtures                  every log under fixtures/ written by a
#                                  real server or taken from a public
#                                  project, concatenated and repeated to
#                                  64 MiB
#   fixed cost                     a run on a 1-line log and on a 1 MB
#                                  paste, with hyperfine (-N, 50 runs)
#
# The reference of an error log is `rg -c upstream`, of an access log
# `rg -c ' 502 '`, of a gzip file `zcat`: what people run to count the same
# thing by hand.
#
# usage: benches/suite.sh [--runs N] [--quick] [--full] [--readme]
#   --quick   64 MiB and 256 MiB rows only, 3 pairs
#   --full    adds the 4 GiB nginx row (needs 8 GiB free under target/)
#   --readme  writes the table into README.md between its suite markers
# Needs: rg, gzip, zcat, /usr/bin/time (GNU time), hyperfine for the fixed
# cost rows. Generated data is cached under target/bench-data/.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=5
QUICK=0
FULL=0
README=0
while [ $# -gt 0 ]; do
  case $1 in
    --runs) RUNS=$2; shift ;;
    --quick) QUICK=1; RUNS=3 ;;
    --full) FULL=1 ;;
    --readme) README=1 ;;
    *) echo "usage: benches/suite.sh [--runs N] [--quick] [--full] [--readme]" >&2; exit 2 ;;
  esac
  shift
done
for tool in rg gzip zcat /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "suite.sh: $tool is missing (apt-get install -y ripgrep gzip time)" >&2; exit 3; }
done
. benches/timing.sh

cargo build --release --quiet
cargo build --release --quiet --example genlog
UPCAUSE=target/release/upcause
GEN=target/release/examples/genlog
DATA=target/bench-data
mkdir -p "$DATA"
ACCESS_FORMAT=$("$GEN" --print-access-format)

# A generated log, made once: data NAME SIZE GENLOG-ARGS...
data() {
  local name=$1 size=$2 f
  shift 2
  f=$DATA/$name-$size.log
  if [ ! -s "$f" ]; then
    echo "generating $f ..." >&2
    "$GEN" "$@" --size "$size" --seed 1 > "$f.tmp" && mv "$f.tmp" "$f"
  fi
  printf '%s\n' "$f"
}

# The access log cut to `combined`: everything up to the user agent's
# closing quote.
combined() {
  local src=$1 f=${1%.log}-combined.log
  [ -s "$f" ] || LC_ALL=C sed -E 's/(" "[^"]*")[^"]*$/\1/' "$src" > "$f"
  printf '%s\n' "$f"
}

# Every fixture log, concatenated and repeated to 64 MiB.
fixtures_mix() {
  local f=$DATA/fixtures-64M.log one=$DATA/fixtures-once.log
  if [ ! -s "$f" ]; then
    find fixtures -type f \( -name '*.log' -o -name '*.jsonl' -o -name '*.json' \) \
      ! -path 'fixtures/config/*' ! -path 'fixtures/access/*' -print0 | sort -z |
      xargs -0 cat > "$one"
    : > "$f"
    while [ "$(stat -c %s "$f")" -lt $((64 << 20)) ]; do cat "$one" >> "$f"; done
  fi
  printf '%s\n' "$f"
}

ROWS=()
row() { # row NAME FILE REFERENCE-COMMAND [UPCAUSE-ARGS...]
  local name=$1 file=$2 ref=$3 bytes wall rss refwall ratio mbs
  shift 3
  bytes=$(stat -c %s "$file")
  cat "$file" > /dev/null
  echo "timing $name ..." >&2
  read -r wall rss refwall ratio < <(paired "$UPCAUSE analyze -q --format json $* $file > /dev/null" "$ref")
  mbs=$(awk -v b="$bytes" -v t="$wall" 'BEGIN { if (t > 0) printf "%.0f", b / 1e6 / t; else print "-" }')
  ROWS+=("$(printf '| %s | %s MiB | %s | %s | %s | %s | %s | %s MiB |' \
    "$name" "$((bytes >> 20))" "$wall" "$mbs" "${ref%% $file*}" "$refwall" "$ratio" "$((rss / 1024))")")
}

sizes=(64M 256M 1G)
[ "$QUICK" = 1 ] && sizes=(64M 256M)
[ "$FULL" = 1 ] && sizes+=(4G)
for size in "${sizes[@]}"; do
  f=$(data nginx "$size" --format nginx)
  row "nginx noisy" "$f" "rg -c upstream $f"
done
mid=256M
for profile in quiet outage; do
  f=$(data "nginx-$profile" $mid --format nginx --profile "$profile")
  row "nginx $profile" "$f" "rg -c upstream $f"
done
f=$(data nginx $mid --format nginx)
[ -s "$f.gz" ] || gzip -1 -c "$f" > "$f.gz"
row "nginx noisy, gzip -1" "$f.gz" "zcat $f.gz"
for wrap in syslog docker cri; do
  f=$(data "nginx-$wrap" $mid --format nginx --wrap "$wrap")
  row "nginx in $wrap envelopes" "$f" "rg -c upstream $f"
done
for fmt in apache php-fpm kernel; do
  f=$(data "$fmt" $mid --format "$fmt")
  row "$fmt" "$f" "rg -c upstream $f"
  if [ "$fmt" = php-fpm ]; then
    f=$(data php-fpm-quiet $mid --format php-fpm --profile quiet)
    row "php-fpm quiet" "$f" "rg -c upstream $f"
  fi
done
asize=1G
[ "$QUICK" = 1 ] && asize=$mid
f=$(data access $asize --format access)
row "access, custom format" "$f" "rg -c ' 502 ' $f" --access-format "$(printf '%q' "$ACCESS_FORMAT")"
c=$(combined "$f")
row "access, combined" "$c" "rg -c ' 502 ' $c"
f=$(fixtures_mix)
row "real fixtures, repeated" "$f" "rg -c upstream $f"

FIXED=()
if command -v hyperfine >/dev/null; then
  tiny=$DATA/one-line.log
  head -n 1 "$(data nginx 64M --format nginx)" > "$tiny"
  paste=$DATA/paste-1M.log
  head -c 1000000 "$(data nginx 64M --format nginx)" > "$paste"
  for f in "$tiny" "$paste"; do
    for cmd in "$UPCAUSE analyze -q --format json $f" "rg -c upstream $f"; do
      hyperfine -N -i --warmup 5 --runs 50 --export-json "$DATA/hyperfine.json" "$cmd" > /dev/null 2>&1 || true
      ms=$(awk -F': ' '/"median"/ && !done { gsub(/,/, "", $2); printf "%.1f", $2 * 1000; done = 1 }' "$DATA/hyperfine.json")
      FIXED+=("| \`${cmd/$DATA\//}\` | $ms ms |")
    done
  done
else
  FIXED+=("| (hyperfine is missing: apt-get install -y hyperfine) | |")
fi

table() {
  echo "Measured $(date -u +%Y-%m-%d) on $(nproc) cores, page cache warm, \`benches/suite.sh$([ "$QUICK" = 1 ] && echo ' --quick')\`: each row alternates \`upcause analyze --format json FILE\` with its reference, $RUNS pairs; ratio = median of the per-pair ratios (range)."
  echo
  echo "| log | size | upcause (s) | MB/s | reference | reference (s) | ratio to reference | peak RSS |"
  echo "|---|---|---|---|---|---|---|---|"
  printf '%s\n' "${ROWS[@]}"
  echo
  echo "Fixed cost (hyperfine -N, median of 50 runs):"
  echo
  echo "| command | median |"
  echo "|---|---|"
  printf '%s\n' "${FIXED[@]}"
}

out=$(table)
printf '%s\n' "$out"
if [ "$README" = 1 ]; then
  grep -q '<!-- suite:begin -->' README.md || { echo "suite.sh: README.md has no <!-- suite:begin --> marker" >&2; exit 1; }
  TABLE=$out awk '
    /<!-- suite:end -->/ { skip = 0 }
    !skip { print }
    /<!-- suite:begin -->/ { print ENVIRON["TABLE"]; skip = 1 }
  ' README.md > README.md.tmp && mv README.md.tmp README.md
  echo "README.md updated" >&2
fi
