#!/usr/bin/env bash
# Kafka e2e: a send still in flight when its alerts partition is handed over
# without any kill (issue 16, fault row 6; RELIABILITY.md). A revoke (here the
# final one of a graceful stop) first waits, bounded (15 s), for the sends in
# flight of the partitions it hands over, so their done records precede the
# revoke snapshot, which no longer lists them: the next owner does not send
# them again. Made deterministic: the receiver holds its answer to the first
# request longer than the member's 10 s drain (the webhook's timeout is 30 s),
# g1 is stopped with TERM, the answer is released 3 s after the drain gave
# up (inside the revoke's wait), and g1r takes over once g1 has exited: the
# page is accepted once. Before the revoke waited (5dc2cf9), the revoke
# snapshot listed the page as pending and g1r sent it again (2 requests).
# The bound itself (a destination that does not answer in time):
# tests/e2e_kafka_gateway_handover_bound.sh.
source "$(dirname "$0")/fixtures/kafka/lib.sh"
kt_receivers
kt_timeout 150
kt_broker 3

rt_receiver recv 0 --first "/hook/slow=1:hold:$KT_DIR/release"
PORT=$(cat "$KT_DIR/recv.port")
for g in g1 g1r; do
	kt_config $g
	cat >"$KT_DIR/owners-$g.yaml" <<EOT
owners:
  - name: kt-team
    destinations:
      - {type: webhook, url: "http://127.0.0.1:$PORT/hook/slow", timeout: 30s, retry_initial: 200ms, retry_max: 1s, max_attempts: 1000, max_age: 10m}
EOT
done
count() { python3 -c 'import sys; print(sum(1 for _ in open(sys.argv[1])))' "$KT_DIR/recv.jsonl" 2>/dev/null || echo 0; }
assigned() { grep -q 'event=gateway_partition_assigned' "$KT_DIR/$1.log" 2>/dev/null; }

kt_gateway g1
kt_wait 40 "g1 owns the alerts partitions" assigned g1
fire='{"status":"firing","rule":"disk-full","owner":"kt-team","series":"disk.used{host=db1}","startsAt":"2026-03-02T08:15:00Z"}'
echo "$fire" | "$VIGIL" produce -b "$KT_BOOT" -t alerts --key none - 2>>"$KT_DIR/produce.log" ||
	kt_fail "produce firing"
sent() { [ "$(count)" -ge 1 ]; }
kt_wait 30 "the page sent to the receiver (held)" sent
kill -TERM "$KT_PID_g1"
stopping() { grep -q 'event=gateway_stopping_with_pending pending=1' "$KT_DIR/g1.log"; }
kt_wait 30 "g1 gave up draining with the page in flight" stopping
kt_alive "$KT_PID_g1" || kt_fail "g1 exited before its send finished"
sleep 3                 # the revoke is under way (before the fix: its snapshot written)
touch "$KT_DIR/release" # g1's request is answered now
gone() { ! kt_alive "$KT_PID_g1"; }
kt_wait 40 "g1 exited" gone
kt_gateway g1r
kt_wait 60 "g1r owns the alerts partitions" assigned g1r
caught() { grep -q 'event=gateway_caught_up' "$KT_DIR/g1r.log"; }
kt_wait 30 "g1r caught up with the partitions it took over" caught
sleep 3
python3 - "$KT_DIR/recv.jsonl" <<'PY' || kt_fail "the hand-over window"
import sys, json
recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
keys = [r["headers"].get("idempotency-key") for r in recs]
print("requests=%d answers=%s idempotency_keys=%s" % (len(recs), [r["answer"] for r in recs], sorted(set(keys))), file=sys.stderr)
if len(recs) != 1 or not recs[0]["answer"].startswith("2"):
    print("want the page accepted once (g1's request, answered during its revoke)", file=sys.stderr); sys.exit(1)
PY
grep -q 'event=gateway_handover_done in_flight=1' "$KT_DIR/g1.log" ||
	kt_fail "g1's revoke did not log that it waited for the send in flight"
grep -q 'event=gateway_partition_assigned .*snapshot=yes' "$KT_DIR/g1r.log" ||
	kt_fail "g1r did not take over from g1's snapshot"
kt_log "PASS: a send in flight across a hand-over (graceful stop) is delivered once; $(grep -o 'event=gateway_handover_done.*' "$KT_DIR/g1.log" | head -1)"
