#!/usr/bin/env bash
# End-to-end checks of `vigil rules check|list`: exit codes 0/1/2, the
# "ok: N rules, M owners" line, errors as file:line:column on stderr, and the
# list format. Uses tests/fixtures/rules/. $VIGIL is the binary under test.
set -uo pipefail
VIGIL=${VIGIL:-bin/vigil}
cd "$(dirname "$0")/.." || exit 1
F=tests/fixtures/rules
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
check() { # check NAME CONDITION...
  local name=$1; shift
  if "$@"; then echo "ok   $name"; else echo "FAIL $name"; fails=$((fails+1)); fi
}

out=$("$VIGIL" rules check --owners $F/good/owners.yaml $F/good/rules.d 2>"$tmp/err"); rc=$?
check "check good: exit 0" test $rc -eq 0
check "check good: ok line" test "$out" = "ok: 3 rules, 2 owners"
check "check good: no stderr" test ! -s "$tmp/err"

out=$("$VIGIL" rules check $F/good/all-in-one.yaml --owners=$F/good/owners.yaml); rc=$?
check "check all-in-one + --owners=: exit 0" test $rc -eq 0
check "check all-in-one: counts" test "$out" = "ok: 1 rules, 3 owners"

"$VIGIL" rules list --owners $F/good/owners.yaml $F/good/rules.d >"$tmp/list"; rc=$?
check "list: exit 0" test $rc -eq 0
check "list: one line per rule" test "$(wc -l <"$tmp/list")" -eq 3
check "list: columns" bash -c "head -1 '$tmp/list' | grep -qxP 'checkout-latency\tapi.latency\tdes\tpage\tpayments'"
check "list: file order" bash -c "cut -f1 '$tmp/list' | tr '\n' ' ' | grep -qx 'checkout-latency checkout-errors disk-latency '"

# every bad fixture: exit 1, nothing on stdout, one line "file:L:C: ..." on stderr
for f in $F/bad/*.yaml; do
  out=$("$VIGIL" rules check --owners $F/good/owners.yaml $F/good/rules.d "$f" 2>"$tmp/err"); rc=$?
  check "$(basename "$f"): exit 1" test $rc -eq 1
  check "$(basename "$f"): no stdout" test -z "$out"
  check "$(basename "$f"): file:line:col" grep -qE "^$f:[0-9]+:[0-9]+: " "$tmp/err"
done
"$VIGIL" rules check --owners $F/good/owners.yaml $F/good/rules.d $F/bad/unknown-key.yaml 2>"$tmp/err"
check "unknown key: exact position and hint" grep -qF "$F/bad/unknown-key.yaml:5:5: unknown key 'treshold' in rule (did you mean 'threshold'?)" "$tmp/err"
"$VIGIL" rules check $F/no-such-dir 2>"$tmp/err"; rc=$?
check "missing path: exit 1" test $rc -eq 1
check "missing path: named" grep -qF "$F/no-such-dir: cannot open" "$tmp/err"

# destinations are checked as the gateway would create them, with no side effect
cat >"$tmp/dest.yaml" <<'Y'
rules:
  - name: r
    series: "api.*"
    owner: ops
    action: page
owners:
  - name: ops
    destinations:
      - {type: sloak, url: "http://127.0.0.1:1/x"}
Y
"$VIGIL" rules check "$tmp/dest.yaml" >/dev/null 2>"$tmp/err"; rc=$?
check "unknown destination type: exit 1" test $rc -eq 1
check "unknown destination type: named with its position" grep -qF "$tmp/dest.yaml:9:9: ops: unknown destination type 'sloak'" "$tmp/err"
sed -i 's|{type: sloak, url: "http://127.0.0.1:1/x"}|{type: file, path: '"$tmp"'/a.jsonl, fsnc: true}|' "$tmp/dest.yaml"
"$VIGIL" rules check "$tmp/dest.yaml" >/dev/null 2>"$tmp/err"; rc=$?
check "bad file destination setting: exit 1" test $rc -eq 1
check "bad file destination setting: named" grep -qF "unknown setting 'fsnc'" "$tmp/err"
sed -i 's|, fsnc: true||' "$tmp/dest.yaml"
out=$("$VIGIL" rules check "$tmp/dest.yaml"); rc=$?
check "file destination ok: exit 0" test $rc -eq 0
check "check creates no file" test ! -e "$tmp/a.jsonl"
check "vigil help lists rules list" bash -c "'$VIGIL' help | grep -q 'rules check|list'"

# usage errors exit 2
for args in "" "check" "list" "frob x" "check --owners" "check --bogus $F/good/all-in-one.yaml"; do
  # shellcheck disable=SC2086
  "$VIGIL" rules $args >/dev/null 2>&1; rc=$?
  check "usage error 'rules $args': exit 2" test $rc -eq 2
done
check "rules --help: exit 0" bash -c "'$VIGIL' rules --help | grep -q 'vigil rules check'"
check "rules check --help: exit 0" bash -c "'$VIGIL' rules check --help | grep -q 'ok: N rules, M owners'"

# ownership: the demo's owners guard the demo's rules; a rule on another
# team's series is refused naming both sides
D=data/demo
out=$("$VIGIL" rules check --owners $D/owners.yaml $D/rules 2>"$tmp/err"); rc=$?
check "demo with namespaces: exit 0" test $rc -eq 0
mkdir -p "$tmp/teams/payments"
printf 'rules:\n  - name: pay-on-search\n    series: api.latency_ms\n    match: {app: search}\n    owner: payments\n' >"$tmp/teams/payments/lat.yaml"
"$VIGIL" rules check --owners $D/owners.yaml "$tmp/teams" >/dev/null 2>"$tmp/err"; rc=$?
check "namespace violation: exit 1" test $rc -eq 1
check "namespace violation: both sides" grep -qF "$tmp/teams/payments/lat.yaml:2:5: rule 'pay-on-search' of owner 'payments' reaches into the namespace of owner 'search' at $D/owners.yaml:15:9" "$tmp/err"

# --data: a rule that matched nothing, a detector whose warm-up is longer than the data
printf 'rules:\n  - name: typo\n    series: "api.latncy_ms*"\n    match: {app: checkout}\n    owner: payments\n  - name: slow-hw\n    series: api.requests\n    match: {app: checkout}\n    detector: rad\n    params: {period: 7d, step: 5m}\n    owner: payments\n  - name: fine\n    series: api.requests\n    match: {app: checkout}\n    detector: des\n    owner: payments\n' >"$tmp/data-rules.yaml"
"$VIGIL" rules check --owners $D/owners.yaml "$tmp/data-rules.yaml" --data $D/metrics.log >"$tmp/out" 2>"$tmp/err"; rc=$?
check "--data: exit 0 with warnings" test $rc -eq 0
check "--data: no match warned" grep -qxF "$tmp/data-rules.yaml:2:5: warning: rule 'typo' matched none of the 7 series in the data (series 'api.latncy_ms*' and app=\"checkout\") (did you mean 'api.latency_ms'?)" "$tmp/out"
check "--data: warm-up warned" grep -qxF "$tmp/data-rules.yaml:6:5: warning: rule 'slow-hw': detector 'rad' had no opinion on any of its 5760 points (4.0 days of data in 1 series): its warm-up is longer than the data" "$tmp/out"
check "--data: the fine rule is not warned" bash -c "! grep -q \"'fine'\" '$tmp/out'"
check "--data: summary" grep -qxF "data: 40320 points, 7 series, 3 rejected lines, 2 warnings" "$tmp/out"
"$VIGIL" rules check --owners $D/owners.yaml "$tmp/data-rules.yaml" --data "$tmp/no-such-file" >/dev/null 2>&1; rc=$?
check "--data: unreadable file: exit 1" test $rc -eq 1

echo "e2e_rules: $fails failed"
[ "$fails" -eq 0 ]
