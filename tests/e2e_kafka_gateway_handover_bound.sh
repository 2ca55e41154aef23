#!/usr/bin/env bash
# Kafka e2e: the bound of a revoke's wait for the sends in flight (issue 16,
# RELIABILITY.md, row 6). A destination that does not answer must not hold
# the hand-over: the revoke waits at most 15 s for the send in flight of the
# partition it hands over, then writes its snapshot with the notification
# pending; the next owner sends it again with the same Idempotency-Key (the
# receiver can drop it). The receiver holds its answer to the first request
# until g1r has sent the page too (the webhook's timeout is 60 s, longer
# than the drain plus the bound); g1 is stopped with TERM. The script checks
# the bound in g1's log (12-20 s between the wait's start and its timeout),
# the 2 requests with one key, and that g1r got the partitions no later than
# 30 s after the drain gave up.
source "$(dirname "$0")/fixtures/kafka/gateway.sh"
kg_setup 180 /hook/slow 60s --first "/hook/slow=1:hold:$KT_DIR/release"

kg_start g1
kg_fire
kg_stop_in_flight g1
t_drain=$(date +%s)
kt_gateway g1r # joins while g1's revoke waits
timed_out() { grep -q 'event=gateway_handover_timeout in_flight=1' "$KT_DIR/g1.log"; }
kt_wait 40 "g1's revoke gave up waiting for the send" timed_out
kt_alive "$KT_PID_g1" || kt_fail "g1 exited before its send finished"
kt_wait 60 "g1r owns the alerts partitions" kg_assigned g1r
t_assigned=$(date +%s)
again() { [ "$(kg_count)" -ge 2 ]; }
kt_wait 40 "g1r sent the page again" again
touch "$KT_DIR/release" # g1's request is answered now
gone() { ! kt_alive "$KT_PID_g1"; }
kt_wait 70 "g1 exited" gone
sleep 2
kg_delivered 2 "the page sent twice (g1's request past the bound, then g1r's)" "the bound of the hand-over wait"
ms=$(grep -o 'event=gateway_handover_timeout in_flight=1 ms=[0-9]*' "$KT_DIR/g1.log" | head -1)
ms=${ms##*ms=}
kt_log "revoke wait ms=$ms"
[ -n "$ms" ] && [ "$ms" -ge 12000 ] && [ "$ms" -le 20000 ] ||
	kt_fail "the bound of the hand-over wait: want the wait to end at its bound (15 s)"
waited=$((t_assigned - t_drain))
kt_log "g1r assigned ${waited}s after g1's drain gave up"
[ "$waited" -le 30 ] || kt_fail "the hand-over took ${waited}s (> 30 s) with a destination that does not answer"
kt_log "PASS: a revoke waits at most its bound for a send that does not finish; the next owner sends it again with one Idempotency-Key"
