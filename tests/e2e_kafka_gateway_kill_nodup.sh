#!/usr/bin/env bash
# Kafka e2e: kill -9 of a gateway member right after a destination accepted
# a page and before the member's next snapshot; the restarted member reads
# the alert again and must not page twice (issue 16, fault row 6).
# Deterministic: checkpoint_interval is 60 s (no snapshot before the kill),
# and the owner has a second webhook that answers 500, so its notification
# stays pending and holds the alerts partition's commit below the alert: the
# restarted member re-reads the alert and regenerates both notifications.
# The one to the healthy webhook was delivered (its done record is on the
# gateway state topic): it must not be sent again; the pending one is.
source "$(dirname "$0")/fixtures/kafka/lib.sh"
source "$(dirname "$0")/fixtures/kafka/kill_nodup.sh"
kt_receivers
kt_timeout 120
kt_broker 3
kn_setup "      - {type: webhook, url: \"http://127.0.0.1:@PORT@/hook/ok\", timeout: 2s, retry_initial: 200ms, retry_max: 1s, max_attempts: 1000, max_age: 10m}"
kn_fire
ok_once() { [ "$(kn_path_count /hook/ok 2xx)" -ge 1 ]; }
kt_wait 30 "the page accepted by the healthy webhook" ok_once
kn_kill
kn_restart
ok=$(kn_path_count /hook/ok 2xx)
kt_log "healthy webhook: $ok accepted; $(kn_skipped) skipped by g1r"
[ "$ok" -eq 1 ] || kt_fail "the healthy webhook accepted the page $ok times, want once"
grep -q 'event=notification_already_delivered' "$KT_DIR/g1r.log" || kt_fail "g1r did not say it skipped the delivered page"
# every request of the notification, from either process, carries the same
# Idempotency-Key (fingerprint/episode/status), so a receiver can drop a
# duplicate that gets through (a send in flight at the kill)
python3 - "$KT_DIR/recv.jsonl" <<'PY' || kt_fail "Idempotency-Key"
import sys, json
keys = set()
for l in open(sys.argv[1]):
    r = json.loads(l)
    k = {a.lower(): b for a, b in r["headers"].items()}.get("idempotency-key")
    a = json.loads(r["body"])["alerts"][0]
    if k is None:
        print("%s: no Idempotency-Key header" % r["path"], file=sys.stderr); sys.exit(1)
    if not (k.startswith("vigil/") and k.endswith("/firing")):
        print("%s: Idempotency-Key %r is not vigil/<fingerprint>/<episode>/firing" % (r["path"], k), file=sys.stderr); sys.exit(1)
    if a["fingerprint"] not in k:
        print("Idempotency-Key %r does not name the fingerprint %s" % (k, a["fingerprint"]), file=sys.stderr); sys.exit(1)
    keys.add(k)
if len(keys) != 1:
    print("Idempotency-Keys differ between requests: %r" % sorted(keys), file=sys.stderr); sys.exit(1)
PY
kt_log "PASS: a gateway member killed after a delivery and before its snapshot: no duplicate after the takeover"
