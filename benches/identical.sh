#!/usr/bin/env bash
# Proves that a change left behaviour alone: runs the upcause of git
# revision BASE and the one of the work tree over every fixture and over
# generated benchmark logs, in every output form (analyze text and JSON at
# several thread counts, windows and filters, check in each format, merge,
# causes, usage errors), and compares stdout, stderr and exit status byte
# for byte.
#
# usage: benches/identical.sh [BASE] [SIZE]    (default BASE = main, SIZE = 64M)
# The base binary is built in a git worktree under target/identical/.
# Exit 0 when everything is identical, 1 on the first difference (shown).
set -euo pipefail
cd "$(dirname "$0")/.."
BASE=${1:-main}
SIZE=${2:-64M}
WORK=target/identical
mkdir -p "$WORK"
rev=$(git rev-parse --short "$BASE")

tree=$WORK/tree-$rev
if [ ! -x "$WORK/base-$rev/upcause" ]; then
  rm -rf "$tree"
  git worktree add --detach -f "$tree" "$rev" >/dev/null 2>&1
  (cd "$tree" && CARGO_TARGET_DIR="$PWD/../target-base" cargo build --release --quiet)
  mkdir -p "$WORK/base-$rev"
  cp "$WORK/target-base/release/upcause" "$WORK/base-$rev/upcause"
  git worktree remove --force "$tree"
fi
cargo build --release --quiet
cargo build --release --quiet --example genlog
# (same file name: clap prints it in usage errors)
OLD=$WORK/base-$rev/upcause
NEW=target/release/upcause
GEN=target/release/examples/genlog

# Generated logs, one per generator format and envelope, a calm php-fpm
# pool, and a gzip copy.
DATA=$WORK/data
mkdir -p "$DATA"
gen() { # gen NAME GENLOG-ARGS...
  local f=$DATA/$1-$SIZE.log
  shift
  [ -s "$f" ] || "$GEN" "$@" --size "$SIZE" --seed 3 > "$f" 2>/dev/null || rm -f "$f"
}
for fmt in nginx apache php-fpm kernel access; do gen "$fmt" --format "$fmt"; done
for wrap in syslog docker cri; do gen "nginx-$wrap" --format nginx --wrap "$wrap"; done
gen php-fpm-quiet --format php-fpm --profile quiet
ACCESS_FORMAT=$(printf '%q' "$("$GEN" --print-access-format)")
[ -s "$DATA/nginx-$SIZE.log.gz" ] || gzip -1 -c "$DATA/nginx-$SIZE.log" > "$DATA/nginx-$SIZE.log.gz"

mapfile -t fixtures < <(find fixtures -name '*.log' | sort)
generated=("$DATA"/*-"$SIZE".log "$DATA/nginx-$SIZE.log.gz")
printf 'not a log\n\x00\x01binary\n' > "$DATA/garbage.bin"
: > "$DATA/empty.log"

# Commands, with %B standing for the binary. Run from the repository
# root, so that paths in the reports are the same.
cmds=()
for f in "${fixtures[@]}"; do
  cmds+=("%B analyze -q --color never $f")
  cmds+=("%B analyze -q --format json $f")
done
for f in fixtures/nginx/mixed.log fixtures/apache/mixed.log; do
  for j in 1 2 3; do cmds+=("%B analyze -q --format json -j$j $f"); done
  cmds+=("%B analyze -q --color always --top 2 -w 30s $f")
  cmds+=("%B analyze -q --format json -w 5m --cause upstream_timeout $f")
  cmds+=("%B analyze -q --color never --since '2026-11-21 09:38' --until '2026-11-21 09:39' $f")
  cmds+=("%B analyze -q --color never --upstream 18112 $f")
  for fmt in text json junit github; do
    cmds+=("%B check -q --format $fmt --max any=10 $f")
    cmds+=("%B check -q --format $fmt --forbid upstream_timeout --max-upstream http://127.0.0.1:18111=5 $f")
  done
done
cmds+=("%B analyze -q --format json fixtures/nginx fixtures/apache fixtures/php-fpm")
cmds+=("%B analyze -q --color never fixtures/nginx/mixed.log fixtures/apache/mixed.log fixtures/php-fpm")
cmds+=("cat fixtures/nginx/mixed.log | %B analyze -q --format json -")
for f in "${generated[@]}"; do
  cmds+=("%B analyze -q --format json $f")
  cmds+=("%B analyze -q --format json -j1 $f")
  cmds+=("%B analyze -q --color never -w 1h $f")
done
cmds+=("%B analyze -q --format json --access-format $ACCESS_FORMAT $DATA/access-$SIZE.log")
cmds+=("%B analyze -q --format json -j1 --access-format $ACCESS_FORMAT $DATA/access-$SIZE.log")
cmds+=("%B analyze -q --format json $DATA/garbage.bin $DATA/empty.log /nonexistent/error.log")
cmds+=("%B check -q $DATA/empty.log")
cmds+=("%B causes")
cmds+=("%B causes --format json")
cmds+=("%B analyze --format yaml x")
cmds+=("%B analyze --window 0s x")
cmds+=("%B check --max nope=1 x")
cmds+=("%B merge /nonexistent.json")

run() { # binary, command -> "stdout\nstderr\nrc" digest material in $2.out
  local cmd=${2//%B/$1}
  set +e
  bash -c "$cmd" > "$3.out" 2> "$3.err"
  echo $? > "$3.rc"
  set -e
}

# merge: reports of each binary, merged by the same binary.
for who in OLD NEW; do
  bin=${!who}
  mkdir -p "$WORK/$who"
  "$bin" analyze -q --format json fixtures/nginx/mixed.log > "$WORK/$who/a.json"
  "$bin" analyze -q --format json fixtures/apache/mixed.log > "$WORK/$who/b.json"
done
cmds+=("%B merge %D/a.json %D/b.json")
cmds+=("%B merge --format json %D/a.json %D/b.json")

n=0
for c in "${cmds[@]}"; do
  n=$((n + 1))
  for who in OLD NEW; do
    run "${!who}" "${c//%D/$WORK/$who}" "$WORK/$who/$n"
  done
  for part in out err rc; do
    if ! cmp -s "$WORK/OLD/$n.$part" "$WORK/NEW/$n.$part"; then
      echo "DIFFERENT ($part): $c" >&2
      diff <(head -c 20000 "$WORK/OLD/$n.$part") <(head -c 20000 "$WORK/NEW/$n.$part") | head -40 >&2
      exit 1
    fi
  done
done
echo "identical: $n commands, base $rev against the work tree (${#fixtures[@]} fixtures, ${#generated[@]} generated logs of $SIZE)"
