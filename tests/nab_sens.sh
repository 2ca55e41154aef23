#!/usr/bin/env bash
# Sensitivity of the default detector's NAB score (issue 3's robustness
# discipline): for every numeric parameter of DETECTOR (default: the
# engine's default detector) with a non-zero default, score the corpus with
# that one parameter at x0.67 and at x1.5 (integers rounded, clamped to 1
# or more) and print "param low high"; the last line is the worst standard
# score of all. Extra arguments go to vigil detect (e.g. --set k=v for a
# variant under test). Skipped: sensitivity (the score's own offset) and
# max_gap (never reached on NAB). Needs tests/nab.sh; env as there.
# Usage: tests/nab_sens.sh [--set k=v ...]   env: SENS_PARAMS="a b c" to restrict
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
vigil=${VIGIL:-$here/bin/vigil}
det=${DETECTOR:-$("$vigil" help detectors | sed -n 's/^Detectors (default: \(.*\)):$/\1/p')}
params=$("$vigil" help detectors | awk -v d="$det" '
  /^  [a-z]/ { cur = $1; next }
  cur == d && ($2 == "number" || $2 == "integer") && $4 != "0" && $4 != "nan" &&
    $1 != "sensitivity" && $1 != "max_gap" { print $1, $2, $4 }')
worst=1000
probe=$(mktemp)
trap 'rm -f "$probe"' EXIT
printf 'timestamp,value\n' >"$probe"
while read -r name kind def; do
  if [ -n "${SENS_PARAMS:-}" ] && ! grep -qw "$name" <<<"$SENS_PARAMS"; then continue; fi
  row="$name"
  for f in 0.67 1.5; do
    v=$(python3 -c "v=$def*$f; print(max(1,round(v)) if '$kind'=='integer' else v)")
    # a value outside the parameter's range is refused by vigil detect: n/a
    if ! "$vigil" detect --detector "$det" "$@" --set "$name=$v" "$probe" >/dev/null 2>&1; then
      row="$row n/a"
      continue
    fi
    s=$(NAB_QUIET=1 NAB_OUT="$here/build/nab-sens" bash "$here/tests/nab.sh" --detector "$det" "$@" \
      --set "$name=$v" | awk '{ print $1 }')
    row="$row $s"
    worst=$(python3 -c "print(min($worst, $s))")
  done
  echo "$row"
done <<<"$params"
echo "worst $worst"
