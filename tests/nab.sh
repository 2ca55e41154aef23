#!/usr/bin/env bash
# make nab: run `bin/vigil detect` (default detector, no options) over every
# file of $NAB_DIR (default ../shared/nab) and score the results with
# nab-score ($NAB_SCORE, default ../shared/tools/nab-score) on that corpus.
# The only part of the repo that reads a NAB directory (the unit tests use
# tests/data/nab).
# Usage: tests/nab.sh [extra args for vigil detect...]   env: NAB_OUT (results dir)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
shared=${SHARED:-$here/../shared}
nab=${NAB_DIR:-$shared/nab}
score=${NAB_SCORE:-$shared/tools/nab-score}
vigil=${VIGIL:-$here/bin/vigil}
out=${NAB_OUT:-$here/build/nab-results}
[ -d "$nab/data" ] || { echo "nab: $nab/data not found (set NAB_DIR)" >&2; exit 1; }
rm -rf "$out"
mkdir -p "$out"
n=0
for f in "$nab"/data/*/*.csv; do
  rel=${f#"$nab/data/"}
  mkdir -p "$out/$(dirname "$rel")"
  "$vigil" detect "$@" "$f" >"$out/$rel" &
  n=$((n+1))
  if (( n % 2 == 0 )); then wait; fi
done
wait
python3 "$score" --corpus "$nab" "$out" ${NAB_SCORE_ARGS:-}
