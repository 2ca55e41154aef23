#!/usr/bin/env bash
# End-to-end: `vigil rules test` on generated data with known injected
# incidents. Two weeks of 5-minute points of one series; incidents A (3
# points at 02:00Z = 03:00 in Berlin, night), B (3 points at 14:00Z, day),
# C (3 points at 21:30Z = 22:30 in Berlin: night there, not in UTC) and D
# (three single points 20 minutes apart: flapping). The baseline pages on
# every anomalous point (6 pages), the candidate needs 2 in a row (A, B, C).
# Every alert, the weekly and the night-time counts are checked exactly.
# $VIGIL is the binary under test.
set -uo pipefail
VIGIL=${VIGIL:-bin/vigil}
cd "$(dirname "$0")/.." || exit 1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
check() { # check NAME CONDITION...
  local name=$1; shift
  if "$@"; then echo "ok   $name"; else echo "FAIL $name"; fails=$((fails+1)); fi
}

python3 - "$tmp/data.log" <<'PY'
import json, sys
from datetime import datetime, timezone
t0 = int(datetime(2026, 3, 2, tzinfo=timezone.utc).timestamp())   # a Monday
def at(d, h, m): return int(datetime(2026, 3, d, h, m, tzinfo=timezone.utc).timestamp())
spikes = set()
for d, h, m in [(3, 2, 0), (5, 14, 0), (10, 21, 30)]:              # A, B, C: 3 points each
    spikes |= {at(d, h, m) + 300 * k for k in range(3)}
spikes |= {at(12, 10, 0), at(12, 10, 20), at(12, 10, 40)}         # D: flapping
with open(sys.argv[1], "w") as f:
    for i in range(14 * 288):
        ts = t0 + 300 * i
        v = 1000.0 if ts in spikes else 100.0 + i % 5
        f.write(json.dumps({"series": "api.latency_ms", "tags": {"app": "checkout"}, "ts": ts, "value": v}) + "\n")
PY
cat >"$tmp/owners.yaml" <<'YAML'
owners:
  - name: payments
    people: [{name: alice, destinations: [{type: stdout}]}]
    schedules:
      - {name: primary, time_zone: Europe/Berlin, rotation: [alice], start: "2026-01-05 09:00"}
    destinations: [{type: stdout}]
  - name: search
    destinations: [{type: stdout}]
YAML
rule() { # rule FOR
  printf 'rules:\n  - name: lat\n    series: api.latency_ms\n    match: {app: checkout}\n    detector: mad\n    params: {window: 50, min_points: 50}\n    for: %s\n    action: page\n    owner: payments\n' "$1"
}
rule 1 >"$tmp/before.yaml"
rule 2 >"$tmp/after.yaml"

"$VIGIL" rules test --owners "$tmp/owners.yaml" --data "$tmp/data.log" "$tmp/before.yaml" >"$tmp/out" 2>"$tmp/err"; rc=$?
check "baseline: exit 0" test $rc -eq 0
cat >"$tmp/want" <<'TXT'
data: 2026-03-02T00:00:00Z to 2026-03-15T23:55:00Z (2.00 weeks)

rule lat (owner payments, page): 6 alerts
  2026-03-03T02:00:00Z  api.latency_ms{app=checkout}  15m  peak 1.00
  2026-03-05T14:00:00Z  api.latency_ms{app=checkout}  15m  peak 1.00
  2026-03-10T21:30:00Z  api.latency_ms{app=checkout}  15m  peak 1.00
  2026-03-12T10:00:00Z  api.latency_ms{app=checkout}  5m  peak 1.00
  2026-03-12T10:20:00Z  api.latency_ms{app=checkout}  5m  peak 1.00
  2026-03-12T10:40:00Z  api.latency_ms{app=checkout}  5m  peak 1.00
  longest flapping run: 3 episodes on api.latency_ms{app=checkout} from 2026-03-12T10:00:00Z

owner payments: 6 pages, 3.0 pages/week, 33% at night (22:00-07:00 Europe/Berlin)
owner search: 0 pages, 0.0 pages/week, 0% at night (22:00-07:00 UTC)
TXT
check "baseline: exact report (no sparklines when not a terminal)" diff -u "$tmp/want" "$tmp/out"

# on a terminal (forced) a progress line goes to stderr while the data is
# read (a FIFO that pauses, so the run lasts); the report stays the same
mkfifo "$tmp/data.fifo"
n=$(wc -l <"$tmp/data.log")
(head -n $((n / 2)) "$tmp/data.log"; sleep 1.2; tail -n +$((n / 2 + 1)) "$tmp/data.log") >"$tmp/data.fifo" &
VIGIL_PROGRESS=1 "$VIGIL" rules test --owners "$tmp/owners.yaml" --data "$tmp/data.fifo" "$tmp/before.yaml" >"$tmp/out" 2>"$tmp/err"
check "progress line on a (forced) terminal" grep -q $'\rvigil rules: .* lines .*lines/s' "$tmp/err"
check "progress: the report is unchanged" diff -u "$tmp/want" "$tmp/out"

VIGIL_SPARKLINES=1 "$VIGIL" rules test --owners "$tmp/owners.yaml" --data "$tmp/data.log" "$tmp/before.yaml" >"$tmp/out" 2>"$tmp/err"
check "sparklines (forced terminal): 3 high points then the normal one" bash -c "sed -n 5p '$tmp/out' | grep -qx '    ███▁'"
check "sparklines: a single-point episode" bash -c "sed -n 11p '$tmp/out' | grep -qx '    █▁'"

"$VIGIL" rules test --owners "$tmp/owners.yaml" --data "$tmp/data.log" --baseline "$tmp/before.yaml" "$tmp/after.yaml" >"$tmp/out" 2>"$tmp/err"; rc=$?
check "candidate: exit 0" test $rc -eq 0
check "candidate: A, B, C only, from their second point" bash -c "grep -c '^  2026' '$tmp/out' | grep -qx 3 && grep -q '^  2026-03-03T02:05:00Z  api.latency_ms{app=checkout}  10m  peak 1.00$' '$tmp/out' && grep -q '^  2026-03-10T21:35:00Z ' '$tmp/out'"
check "candidate: no flapping" bash -c "! grep -q flapping '$tmp/out'"
check "candidate: before/after per owner" grep -qxF "owner payments: 3 pages, 1.5 pages/week, 67% at night (22:00-07:00 Europe/Berlin); before: 3.0 pages/week, after: 1.5" "$tmp/out"

"$VIGIL" rules test --json --owners "$tmp/owners.yaml" --data "$tmp/data.log" --baseline "$tmp/before.yaml" "$tmp/after.yaml" >"$tmp/json" 2>"$tmp/err"; rc=$?
check "--json: exit 0" test $rc -eq 0
check "--json: the same numbers" python3 - "$tmp/json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
al = j["rules"][0]["alerts"]
assert [a["start"] for a in al] == ["2026-03-03T02:05:00Z", "2026-03-05T14:05:00Z", "2026-03-10T21:35:00Z"], al
assert all(a["length_s"] == 600 and a["peak_score"] == 1.0 and not a["open"] for a in al), al
o = {x["name"]: x for x in j["owners"]}["payments"]
assert (o["pages"], o["night_pages"], o["time_zone"]) == (3, 2, "Europe/Berlin"), o
assert round(o["pages_per_week"], 2) == 1.5 and round(o["baseline_pages_per_week"], 2) == 3.0, o
PY

# the warnings of check --data come with the backtest
printf 'rules:\n  - name: typo\n    series: api.latncy_ms\n    owner: search\n' >"$tmp/typo.yaml"
"$VIGIL" rules test --owners "$tmp/owners.yaml" --data "$tmp/data.log" "$tmp/typo.yaml" >"$tmp/out" 2>&1
check "no-match warning in the backtest" grep -qF "$tmp/typo.yaml:2:5: warning: rule 'typo' matched none of the 1 series in the data" "$tmp/out"
"$VIGIL" rules test --owners "$tmp/owners.yaml" "$tmp/after.yaml" >/dev/null 2>&1; rc=$?
check "test without --data: exit 2" test $rc -eq 2

# --svg DIR: one chart per episode, the renderer of replay --svg and the gateway
"$VIGIL" rules test --owners "$tmp/owners.yaml" --data "$tmp/data.log" --svg "$tmp/svg" "$tmp/before.yaml" >/dev/null 2>"$tmp/err"; rc=$?
check "--svg: exit 0" test $rc -eq 0
check "--svg: six charts for six episodes" test "$(ls "$tmp/svg"/*.svg 2>/dev/null | wc -l)" -eq 6
check "--svg: the count said" grep -q 'vigil rules test: --svg .*: 6 charts written, 0 failed' "$tmp/err"
check "--svg: each an SVG with the series and a red anomaly mark" python3 -c '
import sys, glob, xml.etree.ElementTree as ET
for f in glob.glob(sys.argv[1] + "/*.svg"):
    root = ET.parse(f).getroot()
    assert root.tag.endswith("svg"), f
    text = open(f).read()
    assert "api.latency_ms" in text, f
    assert "#d62728" in text or "red" in text.lower(), f
' "$tmp/svg"
"$VIGIL" rules check --owners "$tmp/owners.yaml" --svg "$tmp/svg2" "$tmp/before.yaml" >/dev/null 2>&1; rc=$?
check "--svg is for test only: exit 2" test $rc -eq 2

echo "e2e_backtest: $fails failed"
[ "$fails" -eq 0 ]
