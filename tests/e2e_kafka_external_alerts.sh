#!/usr/bin/env bash
# Kafka e2e: any process may send alerts. Hand-written alert events (the
# documented schema vigil.alert/v1, not vigil's own full form) produced to the
# alerts topic with `vigil produce` reach the owner's destination through
# `vigil gateway`; identity is derived when the producer gives none; the
# resolve closes the episode; malformed events go to the dead-letter topic
# with the reason and are counted.
source "$(dirname "$0")/fixtures/kafka/lib.sh"
kt_timeout 90
# one alerts partition: the events go out unkeyed, and a firing and its
# resolve must meet in order (real producers key by owner)
KT_TOPICS="metrics,metrics.state,alerts:1,alerts.state:1,alerts.control:1,metrics.dlq" kt_broker 3
kt_config g1
kt_gateway g1
cat >"$KT_DIR/events.jsonl" <<'EOT'
{"schema":"vigil.alert/v1","status":"firing","labels":{"alertname":"DiskFull","owner":"kt-team","host":"db1"},"startsAt":"2026-03-02T08:15:00Z","summary":"disk 97% full"}
{"status":"firing","rule":"QueueStuck","owner":"kt-team","series":"queue.depth{q=orders}","startsAt":"2026-03-02T08:20:00Z","action":"page","why":{"observed":5000,"expected":20}}
{"status":"firing","labels":{"alertname":"NoStart"}}
{"status":"sideways","rule":"X","startsAt":"2026-03-02T08:15:00Z"}
not json at all
{"status":"firing","rule":"Spoofed","series":"a{}","startsAt":"2026-03-02T08:15:00Z","fingerprint":"0000000000000000"}
{"schema":"vigil.alert/v1","status":"resolved","labels":{"alertname":"DiskFull","owner":"kt-team","host":"db1"},"startsAt":"2026-03-02T08:15:00Z","endsAt":"2026-03-02T09:00:00Z"}
EOT
"$VIGIL" produce -b "$KT_BOOT" -t alerts --key none "$KT_DIR/events.jsonl" 2>>"$KT_DIR/produce.log" || kt_fail "produce"
got() { [ "$(wc -l <"$KT_DIR/alerts-g1.jsonl" 2>/dev/null || echo 0)" -ge 3 ]; }
kt_wait 30 "three notifications at kt-team's file" got
bad() { [ "$(kt_stat g1 gw_bad)" = 4 ] 2>/dev/null; }
kt_wait 15 "gw_bad=4 in the gateway's stats" bad
python3 - "$KT_DIR/alerts-g1.jsonl" <<'PY' || kt_fail "notifications at the destination"
import sys, json
rows = [json.loads(l) for l in open(sys.argv[1])]
errs = []
def want(cond, msg):
    if not cond: errs.append(msg)
want(len(rows) == 3, "%d notifications, want 3" % len(rows))
byrule = {}
for r in rows: byrule.setdefault(r["rule"], []).append(r)
d = byrule.get("DiskFull", [])
want([r["status"] for r in d] == ["firing", "resolved"], "DiskFull: %s" % [r["status"] for r in d])
if len(d) == 2:
    want(d[0]["episode"] == d[1]["episode"], "DiskFull resolve is another episode")
    want(d[0]["series"] == "DiskFull{host=db1}", "derived series %r" % d[0]["series"])
    want(d[0]["owner"] == "kt-team", "owner from labels")
    want(d[1]["endsAt"] == "2026-03-02T09:00:00Z", "endsAt %r" % d[1]["endsAt"])
    want(d[0]["schema"] == "vigil.alert/v1", "schema field")
q = byrule.get("QueueStuck", [])
want(len(q) == 1 and q[0]["severity"] == "page" and q[0]["why"]["observed"] == 5000, "QueueStuck %r" % q)
if errs:
    print("\n".join(errs), file=sys.stderr); sys.exit(1)
PY
dlq() { "$VIGIL" consume -b "$KT_BOOT" -t metrics.dlq >"$KT_DIR/dlq.jsonl" 2>/dev/null; [ "$(wc -l <"$KT_DIR/dlq.jsonl")" -ge 4 ]; }
kt_wait 15 "four malformed events on the dead-letter topic" dlq
python3 - "$KT_DIR/dlq.jsonl" <<'PY' || kt_fail "dead-letter records"
import sys, json
rows = [json.loads(l) for l in open(sys.argv[1])]
why = sorted(r["headers"].get("vigil.error", "") for r in rows)
want = ["alert: fingerprint:", "alert: startsAt: missing", "alert: status:", "not a JSON object"]
errs = [w for w in want if not any(x.startswith(w) for x in why)]
if len(rows) != 4 or errs:
    print("dead letters: %r; missing reasons %r" % (why, errs), file=sys.stderr); sys.exit(1)
for r in rows:
    if not r["headers"].get("vigil.src", "").startswith("alerts/") or not r["headers"].get("vigil.offset"):
        print("no origin headers: %r" % r, file=sys.stderr); sys.exit(1)
PY
grep -q 'event=gateway_bad_alert topic=alerts partition=[0-9] offset=[0-9]* err="alert: status' "$KT_DIR/g1.log" || kt_fail "no bad-alert log line with its position"
kt_log "PASS: hand-written events routed, resolved, malformed ones dead-lettered with reasons"
