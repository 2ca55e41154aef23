#!/usr/bin/env bash
# Kafka e2e: the window the done records leave open by design (issue 16, fault
# row 6; RELIABILITY.md): a gateway member killed after the receiver accepted
# a page and before the page's done record was queued. Its successor cannot
# know the page went out and sends it again; what makes the duplicate
# harmless is that both requests carry the same Idempotency-Key, so a
# receiver that deduplicates on it delivers once. The failpoint
# gateway_send_accepted:kill (core/failpoint.h) kills g1 at exactly that
# moment, every time. If this window is ever closed, the count below changes
# and this test must be changed with it.
source "$(dirname "$0")/fixtures/kafka/lib.sh"
kt_receivers
kt_timeout 150
kt_broker 3

rt_receiver recv 0
PORT=$(cat "$KT_DIR/recv.port")
for g in g1 g1r; do
	kt_config $g
	cat >"$KT_DIR/owners-$g.yaml" <<EOT
owners:
  - name: kt-team
    destinations:
      - {type: webhook, url: "http://127.0.0.1:$PORT/hook/page", timeout: 5s, retry_initial: 200ms, retry_max: 1s, max_attempts: 1000, max_age: 10m}
EOT
done
assigned() { grep -q 'event=gateway_partition_assigned' "$KT_DIR/$1.log" 2>/dev/null; }

VIGIL_FAILPOINT=gateway_send_accepted:kill kt_gateway g1
kt_wait 40 "g1 owns the alerts partitions" assigned g1
fire='{"status":"firing","rule":"disk-full","owner":"kt-team","series":"disk.used{host=db1}","startsAt":"2026-03-02T08:15:00Z"}'
echo "$fire" | "$VIGIL" produce -b "$KT_BOOT" -t alerts --key none - 2>>"$KT_DIR/produce.log" ||
	kt_fail "produce firing"
gone() { ! kt_alive "$KT_PID_g1"; }
kt_wait 30 "g1 killed by its failpoint after the receiver accepted the page" gone
grep -q 'event=failpoint name=gateway_send_accepted action=kill hit=1' "$KT_DIR/g1.log" ||
	kt_fail "g1 died, but not at the failpoint"

kt_gateway g1r
kt_wait 60 "g1r owns the alerts partitions" assigned g1r
again() {
	python3 - "$KT_DIR/recv.jsonl" <<'PY'
import sys, json
sys.exit(0 if sum(1 for l in open(sys.argv[1])) >= 2 else 1)
PY
}
kt_wait 40 "g1r sent the page again" again
sleep 3
python3 - "$KT_DIR/recv.jsonl" <<'PY' || kt_fail "the in-flight window"
import sys, json
recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
keys = [r["headers"].get("idempotency-key") for r in recs]
print("requests=%d answers=%s idempotency_keys=%s" % (len(recs), [r["answer"] for r in recs], sorted(set(keys))), file=sys.stderr)
if len(recs) != 2 or any(not r["answer"].startswith("2") for r in recs):
    print("want the page accepted twice (g1's, then g1r's)", file=sys.stderr); sys.exit(1)
if None in keys or len(set(keys)) != 1:
    print("the two requests must carry one Idempotency-Key", file=sys.stderr); sys.exit(1)
PY
grep -q 'event=notification_already_delivered' "$KT_DIR/g1r.log" &&
	kt_fail "g1r found a done record: the kill was not before the record"
kt_log "PASS: killed between the receiver's 200 and the done record: sent again once, with the same Idempotency-Key"
