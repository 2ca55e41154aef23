#!/usr/bin/env bash
# make nab: run `bin/vigil detect` (default detector, no options) over every
# file of ../shared/nab and score the results with ../shared/tools/nab-score.
# Usage: tests/nab.sh [extra args for vigil detect...]   env: NAB_OUT (results dir)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
shared=${SHARED:-$here/../shared}
vigil=${VIGIL:-$here/bin/vigil}
out=${NAB_OUT:-$here/build/nab-results}
[ -d "$shared/nab/data" ] || { echo "nab: $shared/nab/data not found" >&2; exit 1; }
rm -rf "$out"
mkdir -p "$out"
n=0
for f in "$shared"/nab/data/*/*.csv; do
  rel=${f#"$shared/nab/data/"}
  mkdir -p "$out/$(dirname "$rel")"
  "$vigil" detect "$@" "$f" >"$out/$rel" &
  n=$((n+1))
  if (( n % 2 == 0 )); then wait; fi
done
wait
python3 "$shared/tools/nab-score" "$out" ${NAB_SCORE_ARGS:-}
