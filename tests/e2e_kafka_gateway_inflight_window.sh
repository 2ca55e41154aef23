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
source "$(dirname "$0")/fixtures/kafka/gateway.sh"
kg_setup 150 /hook/page 5s

kg_start g1 gateway_send_accepted:kill
kg_fire
gone() { ! kt_alive "$KT_PID_g1"; }
kt_wait 30 "g1 killed by its failpoint after the receiver accepted the page" gone
grep -q 'event=failpoint name=gateway_send_accepted action=kill hit=1' "$KT_DIR/g1.log" ||
	kt_fail "g1 died, but not at the failpoint"

kt_gateway g1r
kt_wait 60 "g1r owns the alerts partitions" kg_assigned g1r
again() { [ "$(kg_count)" -ge 2 ]; }
kt_wait 40 "g1r sent the page again" again
sleep 3
kg_delivered 2 "the page accepted twice (g1's, then g1r's)" "the in-flight window"
grep -q 'event=notification_already_delivered' "$KT_DIR/g1r.log" &&
	kt_fail "g1r found a done record: the kill was not before the record"
kt_log "PASS: killed between the receiver's 200 and the done record: sent again once, with the same Idempotency-Key"
