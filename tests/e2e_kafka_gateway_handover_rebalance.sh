#!/usr/bin/env bash
# Kafka e2e: a send in flight when a rebalance moves its alerts partition to
# a member that joins (issue 16, fault row 6; RELIABILITY.md). Three owners,
# each with its own webhook (its own queue), each with one page on its own
# alerts partition (the series is the message key: disk.used.h0, .h4 and .h1
# hash to partitions 0, 1 and 2 of 3); the receiver holds its answer to the
# first request of each path. With the three sends in flight g2 joins; the
# cooperative rebalance revokes at least one partition from g1, whose revoke
# waits for the send in flight of that partition. The receiver answers 3 s
# after g1 logs that wait (or, on the code before it, after g1 released the
# partition): every page arrives once; g2 takes the moved partitions over
# from g1's snapshots without sending anything. On the code before the wait,
# the revoke snapshot listed the page as pending and g2 sent it again.
# Real broker only: librdkafka's mock cluster ends g1's generation when g2
# joins, so g1's revoke is a lost assignment (event=gateway_assignment_lost:
# no hand-over snapshot, nothing to wait for) and the case does not occur.
source "$(dirname "$0")/fixtures/kafka/gateway.sh"
if [ "$KT_MODE" = embedded ]; then
	echo "SKIP (VIGIL_KAFKA=embedded): $(basename "$0"): the mock cluster revokes as a lost assignment; run with VIGIL_KAFKA=real"
	exit 0
fi
kt_receivers
kt_timeout 150
kt_broker 3

kg_receiver --first "/hook/0=1:hold:$KT_DIR/release" --first "/hook/1=1:hold:$KT_DIR/release" \
	--first "/hook/2=1:hold:$KT_DIR/release"
for g in g1 g2; do
	kt_config $g
	{
		echo "owners:"
		echo "  - name: kt-team" # the fixture rules' owner
		echo "    destinations: [{type: file, path: $KT_DIR/alerts-$g.jsonl}]"
		for i in 0 1 2; do
			echo "  - name: kt-$i"
			echo "    destinations:"
			kg_webhook "/hook/$i" 30s
		done
	} >"$KT_DIR/owners-$g.yaml"
done

kg_start g1
for i in 0 1 2; do
	h=$(echo "0 4 1" | cut -d' ' -f$((i + 1)))
	echo "{\"status\":\"firing\",\"rule\":\"disk-full\",\"owner\":\"kt-$i\",\"series\":\"disk.used.h$h\",\"startsAt\":\"2026-03-02T08:15:00Z\",\"ts\":\"2026-03-02T08:15:00Z\",\"value\":1}"
done >"$KT_DIR/pages.jsonl"
"$VIGIL" produce -b "$KT_BOOT" -t alerts --key series --format json "$KT_DIR/pages.jsonl" 2>>"$KT_DIR/produce.log" ||
	kt_fail "produce the pages"
"$VIGIL" consume -b "$KT_BOOT" -t alerts --count 3 --timeout 10 >"$KT_DIR/alerts.jsonl" 2>>"$KT_DIR/produce.log"
python3 - "$KT_DIR/alerts.jsonl" <<'PY' || kt_fail "the pages are not one per partition"
import sys, json
parts = sorted(json.loads(l)["partition"] for l in open(sys.argv[1]) if l.strip())
sys.exit(0 if parts == [0, 1, 2] else 1)
PY
sent() { [ "$(kg_count)" -ge 3 ]; }
kt_wait 30 "the three pages sent to the receiver (held)" sent
kt_gateway g2
revoking() { grep -qE 'event=(gateway_handover_wait|partition_released)' "$KT_DIR/g1.log"; }
kt_wait 60 "g1 revoking a partition for g2" revoking
sleep 3                 # g1's revoke waits (before the fix: g2 has the partition by now)
touch "$KT_DIR/release" # the three requests are answered now
kg_took_over g2 40
python3 - "$KT_DIR/recv.jsonl" <<'PY' || kt_fail "the hand-over window (rebalance)"
import sys, json, collections
recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
per = collections.Counter(r["path"] for r in recs)
print("requests per path: %s" % dict(sorted(per.items())), file=sys.stderr)
if sorted(per.items()) != [("/hook/0", 1), ("/hook/1", 1), ("/hook/2", 1)]:
    print("want each page accepted once", file=sys.stderr); sys.exit(1)
PY
grep -qE 'event=gateway_handover_done in_flight=[1-3]' "$KT_DIR/g1.log" ||
	kt_fail "g1's revoke did not log that it waited for the sends in flight"
grep -q 'event=gateway_partition_assigned .*snapshot=yes' "$KT_DIR/g2.log" ||
	kt_fail "g2 did not take over from g1's snapshot"
kt_log "PASS: sends in flight across a rebalance are delivered once; g1: $(grep -o 'event=gateway_handover_done.*' "$KT_DIR/g1.log" | head -1); g2 owns: $(grep -o 'event=gateway_partition_assigned partition=[0-9]*' "$KT_DIR/g2.log" | tr '\n' ' ')"
