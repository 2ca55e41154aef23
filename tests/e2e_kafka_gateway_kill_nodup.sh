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
kt_receivers
kt_timeout 120
kt_broker 3
port=$(rt_free_port)
for g in g1 g1r; do
	kt_config $g
	cat >"$KT_DIR/owners-$g.yaml" <<EOT
owners:
  - name: kt-team
    destinations:
      - {type: webhook, url: "http://127.0.0.1:$port/hook/ok", timeout: 2s, retry_initial: 200ms, retry_max: 1s, max_attempts: 1000, max_age: 10m}
      - {type: webhook, url: "http://127.0.0.1:$port/hook/stuck", timeout: 2s, retry_initial: 200ms, retry_max: 1s, max_attempts: 1000, max_age: 10m}
EOT
	sed -i 's/^checkpoint_interval: .*/checkpoint_interval: 60s/' "$KT_DIR/$g.yaml"
done
rt_receiver recv "$port" --rule /hook/stuck=500
# requests accepted (2xx) on PATH, and requests on PATH
n_path() { python3 - "$KT_DIR/recv.jsonl" "$1" "${2:-}" <<'PY'
import sys, json
n = 0
try:
    lines = open(sys.argv[1]).read().splitlines()
except FileNotFoundError:
    lines = []
for l in lines:
    r = json.loads(l)
    if r["path"] == sys.argv[2] and (sys.argv[3] != "2xx" or r["answer"].startswith("2")):
        n += 1
print(n)
PY
}
assigned() { grep -q 'event=gateway_partition_assigned' "$KT_DIR/$1.log" 2>/dev/null; }
kt_gateway g1
kt_wait 40 "g1 owns the alerts partitions" assigned g1
fire='{"status":"firing","rule":"disk-full","owner":"kt-team","series":"disk.used{host=db1}","startsAt":"2026-03-02T08:15:00Z"}'
echo "$fire" | "$VIGIL" produce -b "$KT_BOOT" -t alerts --key none - 2>>"$KT_DIR/produce.log" || kt_fail "produce firing"
ok_once() { [ "$(n_path /hook/ok 2xx)" -ge 1 ]; }
kt_wait 30 "the page accepted by the healthy webhook" ok_once
stuck_seen() { [ "$(n_path /hook/stuck)" -ge 1 ]; }
kt_wait 10 "the failing webhook tried" stuck_seen
sleep 1 # the done record reaches the broker (librdkafka linger: 5 ms)
grep -q 'event=gateway_checkpoint .*why=interval' "$KT_DIR/g1.log" && kt_fail "g1 snapshotted: the test needs no snapshot"
kill -KILL "$KT_PID_g1"
gone() { ! kt_alive "$KT_PID_g1"; }
kt_wait 10 "g1 killed" gone
stuck_before=$(n_path /hook/stuck)
kt_gateway g1r
kt_wait 60 "g1r owns the alerts partitions" assigned g1r
# the regenerated pending notification reaches the failing webhook again
# (proof that the alert was read again); then time for a duplicate to come
stuck_again() { [ "$(n_path /hook/stuck)" -gt "$((stuck_before + 1))" ]; }
kt_wait 40 "g1r re-sent the pending notification" stuck_again
sleep 3
ok=$(n_path /hook/ok 2xx)
kt_log "healthy webhook: $ok accepted; $(grep -c 'event=notification_already_delivered' "$KT_DIR/g1r.log") skipped by g1r"
grep 'event=gateway_partition_assigned' "$KT_DIR/g1r.log" >&2
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
