#!/usr/bin/env bash
# On-call control through `vigil replay` (data time: a backtest of the
# owner's policy), as a user runs it: metric lines -> rules -> gateway ->
# a real HTTP receiver behind the webhook destination (group messages in
# Alertmanager's webhook v4 shape) and a file destination (one line per
# episode). Three hosts of cluster eu-1 and one of us-1 spike at the same
# minute; the owner groups by cluster with group_wait 2m. Expected, exactly:
#   webhook: 2 firing group messages (eu-1 with 3 alerts, us-1 with 1),
#            "first notification", every alert marked "new"; then 2
#            "all alerts resolved" messages with the same alerts resolved;
#   file:    4 firing then 4 resolved lines (one per episode);
# and with the silence `host=db2` given through `vigil silence add --state`
# before the replay: db2 is left out of every message and of the file.
# $VIGIL is the binary under test.
set -uo pipefail
VIGIL=${VIGIL:-bin/vigil}
cd "$(dirname "$0")/.." || exit 1
tmp=$(mktemp -d /tmp/vigil-oncall.XXXXXX)
RT_DIR=$tmp
RT_PIDS=()
fails=0
fail() { echo "FAIL $*"; fails=$((fails + 1)); keep=1; }
rt_fail() { fail "$@"; }
cleanup() {
	for p in "${RT_PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
	if [ "${keep:-0}" = 1 ]; then echo "kept $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
source tests/fixtures/receivers/lib.sh

port=$(rt_free_port)
rt_receiver hook "$port"

python3 - "$tmp/metrics.jsonl" <<'PY'
import json, sys
t0 = 1772323200  # 2026-03-01T00:00:00Z
hosts = [("eu-1", "db1"), ("eu-1", "db2"), ("eu-1", "db3"), ("us-1", "web1")]
with open(sys.argv[1], "w") as f:
    for i in range(60):
        for c, h in hosts:
            v = 300.0 if 30 <= i < 33 else 100.0
            f.write(json.dumps({"series": "disk.latency", "tags": {"cluster": c, "host": h},
                                "ts": t0 + 60 * i, "value": v}) + "\n")
PY
cat >"$tmp/rules.yaml" <<EOT
rules:
  - name: disk-latency
    series: disk.latency
    detector: des
    params: {training: 10}
    action: page
    owner: storage
EOT
cat >"$tmp/owners.yaml" <<EOT
owners:
  - name: storage
    destinations:
      - {type: webhook, url: "http://127.0.0.1:$port/hook/storage"}
      - {type: file, path: "$tmp/storage.jsonl"}
    group_by: [cluster]
    group_wait: 2m
    group_interval: 5m
    repeat_interval: 0
EOT

# check RUN: the receiver's messages and the file's lines against the expectation
check() {
	python3 - "$tmp/hook.jsonl" "$tmp/storage.jsonl" "$1" <<'PY'
import json, sys
hook, filep, silenced = sys.argv[1], sys.argv[2], sys.argv[3] == "silenced"
eu = ["db1", "db3"] if silenced else ["db1", "db2", "db3"]
want = [("firing", "first notification", "eu-1", [(h, "firing", "new") for h in eu]),
        ("firing", "first notification", "us-1", [("web1", "firing", "new")]),
        ("resolved", "all alerts resolved", "eu-1", [(h, "resolved", "resolved") for h in eu]),
        ("resolved", "all alerts resolved", "us-1", [("web1", "resolved", "resolved")])]
got = []
for l in open(hook):
    r = json.loads(l)
    b = json.loads(r["body"])
    got.append((b["status"], b.get("notification_reason"), b["groupLabels"].get("cluster"),
                sorted((a["labels"]["host"], a["status"], a.get("change")) for a in b["alerts"])))
    assert b["version"] == "4" and b["receiver"] == "storage", b
    assert b["groupKey"] == '{}/{owner="storage"}:{cluster="%s"}' % b["groupLabels"]["cluster"], b["groupKey"]
ok = sorted(got) == sorted((s, r, c, sorted(a)) for s, r, c, a in want)
print("webhook: want %d group messages, got %d: %s" % (len(want), len(got), "ok" if ok else got))
lines = [json.loads(l) for l in open(filep)]
fl = sorted((j["status"], j["labels"]["host"]) for j in lines)
hosts = eu + ["web1"]
wantf = sorted([("firing", h) for h in hosts] + [("resolved", h) for h in hosts])
okf = fl == wantf
print("file: want %d lines, got %d: %s" % (len(wantf), len(fl), "ok" if okf else fl))
sys.exit(0 if ok and okf else 1)
PY
}

echo "== grouped by cluster, no silence"
"$VIGIL" replay --rules "$tmp/rules.yaml" --owners "$tmp/owners.yaml" --state "$tmp/s1" "$tmp/metrics.jsonl" \
	>"$tmp/replay1.out" 2>&1 || fail "replay 1 failed: $(tail -3 "$tmp/replay1.out")"
check plain || fail "grouped notifications differ"

echo "== with a silence given through vigil silence add --state"
: >"$tmp/hook.jsonl"
rm -f "$tmp/storage.jsonl"
"$VIGIL" silence add --state "$tmp/s2" --owners "$tmp/owners.yaml" --rules "$tmp/rules.yaml" --owner storage \
	--author alice --comment "db2 disk swap" --starts 2026-03-01T00:00:00Z --ends 2026-03-02T00:00:00Z \
	'host=db2' >"$tmp/sil.out" 2>&1 || fail "silence add failed: $(cat "$tmp/sil.out")"
"$VIGIL" silence list --state "$tmp/s2" --owners "$tmp/owners.yaml" --rules "$tmp/rules.yaml" \
	>"$tmp/list.out" 2>&1 || fail "silence list failed: $(cat "$tmp/list.out")"
grep -q 'host="db2"' "$tmp/list.out" || fail "silence list does not show the silence: $(cat "$tmp/list.out")"
"$VIGIL" replay --rules "$tmp/rules.yaml" --owners "$tmp/owners.yaml" --state "$tmp/s2" "$tmp/metrics.jsonl" \
	>"$tmp/replay2.out" 2>&1 || fail "replay 2 failed: $(tail -3 "$tmp/replay2.out")"
check silenced || fail "silenced notifications differ"

echo "== a bad control line is reported with its place and skipped"
mkdir -p "$tmp/s3"
printf '{"op":"silence_add","silence":{"owner":"storage"}}\nnot json\n' >"$tmp/s3/control.jsonl"
"$VIGIL" replay --rules "$tmp/rules.yaml" --owners "$tmp/owners.yaml" --state "$tmp/s3" "$tmp/metrics.jsonl" \
	>"$tmp/replay3.out" 2>&1 || fail "replay 3 failed"
grep -q "control.jsonl:1" "$tmp/replay3.out" || fail "no error naming control.jsonl:1"
grep -q "control.jsonl:2" "$tmp/replay3.out" || fail "no error naming control.jsonl:2"

[ "$fails" -eq 0 ] && echo "e2e_oncall: ok" || { echo "e2e_oncall: $fails failure(s)"; exit 1; }
