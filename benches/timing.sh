# Timing shared by benches/compare.sh and benches/suite.sh (sourced, not
# run): one timed run with its peak RSS, the median of a column, and pairs
# of runs alternating a command with its reference. Reads RUNS.

# One run of a command: its wall time in seconds (from the clock around
# it, in ns) and its peak RSS in KiB (from GNU time -v). Its exit status
# is not judged: rg -c exits 1 on a log without a match.
once() {
  local cmd=$1 t0 t1 out kb
  t0=$(date +%s%N)
  out=$( { /usr/bin/time -v bash -c "$cmd" 2>&1 >/dev/null; } ) || true
  t1=$(date +%s%N)
  kb=$(printf '%s\n' "$out" | awk -F': ' '/Maximum resident set size/ {print $2}')
  printf '%s %s\n' "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')" "${kb:-0}"
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# RUNS pairs of runs, the command and the reference (rg -c upstream)
# alternating (A B A B ...), so that both see the same machine state: the
# command's median time, its max RSS, the reference's median time, and the
# median of the per-pair ratios with their range ("1.86x (1.74x-2.04x)").
paired() {
  local cmd=$1 ref=$2 times=() refs=() ratios=() rss=0 t kb r
  for _ in $(seq "$RUNS"); do
    read -r t kb < <(once "$cmd")
    read -r r _ < <(once "$ref")
    times+=("$t")
    refs+=("$r")
    ratios+=("$(awk -v a="$t" -v b="$r" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print 0 }')")
    [ "$kb" -gt "$rss" ] && rss=$kb
  done
  local med lo hi
  med=$(printf '%s\n' "${ratios[@]}" | median)
  lo=$(printf '%s\n' "${ratios[@]}" | sort -n | head -n 1)
  hi=$(printf '%s\n' "${ratios[@]}" | sort -n | tail -n 1)
  printf '%s %s %s %s\n' "$(printf '%s\n' "${times[@]}" | median)" "$rss" \
    "$(printf '%s\n' "${refs[@]}" | median)" \
    "$(awk -v m="$med" -v l="$lo" -v h="$hi" 'BEGIN { printf "%.2fx (%.2fx-%.2fx)", m, l, h }')"
}
