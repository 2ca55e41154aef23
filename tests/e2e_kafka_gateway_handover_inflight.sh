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
source "$(dirname "$0")/fixtures/kafka/gateway.sh"
kg_setup 150 /hook/slow 30s --first "/hook/slow=1:hold:$KT_DIR/release"

kg_start g1
kg_fire
kg_stop_in_flight g1
kt_alive "$KT_PID_g1" || kt_fail "g1 exited before its send finished"
sleep 3                 # the revoke is under way (before the fix: its snapshot written)
touch "$KT_DIR/release" # g1's request is answered now
gone() { ! kt_alive "$KT_PID_g1"; }
kt_wait 40 "g1 exited" gone
kt_gateway g1r
kg_took_over g1r 30
kg_delivered 1 "the page accepted once (g1's request, answered during its revoke)" "the hand-over window"
grep -q 'event=gateway_handover_done in_flight=1' "$KT_DIR/g1.log" ||
	kt_fail "g1's revoke did not log that it waited for the send in flight"
grep -q 'event=gateway_partition_assigned .*snapshot=yes' "$KT_DIR/g1r.log" ||
	kt_fail "g1r did not take over from g1's snapshot"
kt_log "PASS: a send in flight across a hand-over (graceful stop) is delivered once; $(grep -o 'event=gateway_handover_done.*' "$KT_DIR/g1.log" | head -1)"
