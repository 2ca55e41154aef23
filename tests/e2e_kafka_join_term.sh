#!/usr/bin/env bash
# Kafka e2e: SIGTERM while the group join is half done (issue 16). The
# broker fails every SyncGroup (REBALANCE_IN_PROGRESS), so the member's
# JoinGroup is answered (the cooperative-sticky assignor is chosen) but it
# is never given an assignment. Destroying such a consumer aborts inside
# librdkafka before 2.3.0 (confluentinc/librdkafka#4312); vigil must exit 0,
# skipping the destroy (event=consumer_destroy_skipped) on such a library.
source "$(dirname "$0")/fixtures/kafka/lib.sh"
kt_embedded_only "it injects errors on SyncGroup requests (the mock's per-API fault injection)"
kt_timeout 90
kt_broker 4
# SyncGroup is API key 14; 27 = REBALANCE_IN_PROGRESS
echo "error 14 100000 27" >"$KT_DIR/control"
KT_MEMBER_DEBUG=cgrp kt_config j1
kt_member j1
joined() { grep -q 'SyncGroup' "$KT_DIR/j1.log"; }
kt_wait 40 "j1 answered by JoinGroup and sending SyncGroup" joined
sleep 1
grep -q 'event=assigned' "$KT_DIR/j1.log" && kt_fail "j1 was assigned although every SyncGroup fails"
kill -TERM "$KT_PID_j1"
for _ in $(seq 150); do kt_alive "$KT_PID_j1" || break; sleep 0.1; done
kt_alive "$KT_PID_j1" && kt_fail "j1 still running 15 s after SIGTERM"
rc=0
wait "$KT_PID_j1" || rc=$?
grep -q 'Assertion `' "$KT_DIR/j1.log" && kt_fail "j1 aborted in librdkafka: $(grep -m1 'Assertion `' "$KT_DIR/j1.log")"
[ "$rc" -eq 0 ] || kt_fail "j1 exit status $rc after SIGTERM during the group join"
grep -q 'event=final' "$KT_DIR/j1.log" || kt_fail "j1 did not log its final counters"
if grep -q 'event=consumer_destroy_skipped' "$KT_DIR/j1.log"; then
	how="destroy skipped: $(grep -m1 'event=consumer_destroy_skipped' "$KT_DIR/j1.log" | grep -o 'client=[^ ]* version=[^ ]*')"
else
	how="destroyed normally (a fixed librdkafka)"
fi
kt_log "PASS: SIGTERM during a half-done group join exits 0; $how"
