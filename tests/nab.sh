#!/usr/bin/env bash
# make nab: run `bin/vigil detect` (default detector, no options) over every
# file of $NAB_DIR (default ../shared/nab) and score the results with
# nab-score ($NAB_SCORE, default ../shared/tools/nab-score) on that corpus.
# The only part of the repo that reads a NAB directory (the unit tests use
# tests/data/nab).
# Usage: tests/nab.sh [extra args for vigil detect...]
# env: NAB_OUT (results dir), NAB_SPLIT=1 (also score the odd and even halves
# of the sorted file list, tests/nab_split.py), NAB_QUIET=1 (one summary line:
# standard low-FP low-FN [odd even]).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
shared=${SHARED:-$here/../shared}
nab=${NAB_DIR:-$shared/nab}
score=${NAB_SCORE:-$shared/tools/nab-score}
vigil=${VIGIL:-$here/bin/vigil}
out=${NAB_OUT:-$here/build/nab-results}
[ -d "$nab/data" ] || { echo "nab: $nab/data not found (set NAB_DIR)" >&2; exit 1; }
rm -rf "$out" "$out.split"
mkdir -p "$out"
n=0
for f in "$nab"/data/*/*.csv; do
  rel=${f#"$nab/data/"}
  mkdir -p "$out/$(dirname "$rel")"
  if [ "${NAB_QUIET:-0}" = 1 ]; then
    "$vigil" detect "$@" "$f" >"$out/$rel" 2>/dev/null &
  else
    "$vigil" detect "$@" "$f" >"$out/$rel" &
  fi
  n=$((n+1))
  if (( n % 2 == 0 )); then wait; fi
done
wait
full=$(python3 "$score" --corpus "$nab" "$out" ${NAB_SCORE_ARGS:-})
line=$(awk '$2 == "score" { printf "%s ", $3 }' <<<"$full")
[ "${NAB_QUIET:-0}" = 1 ] || printf '%s\n' "$full"
if [ "${NAB_SPLIT:-0}" = 1 ]; then
  python3 "$here/tests/nab_split.py" "$nab" "$out.split" "$out"
  for h in odd even; do
    s=$(python3 "$score" --corpus "$out.split/$h" "$out.split/$h-res" ${NAB_SCORE_ARGS:-} |
      awk '$1 == "standard" { print $3 }')
    line="$line$s "
    [ "${NAB_QUIET:-0}" = 1 ] || echo "$h files: standard $s"
  done
fi
[ "${NAB_QUIET:-0}" = 1 ] && echo "$line"
exit 0
