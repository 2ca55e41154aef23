#!/usr/bin/env bash
# Kafka e2e: a send that finishes between a gateway snapshot's export and its
# write, then kill -9 of the gateway member (issue 16, fault row 6; the
# duplicate once seen on the real broker). The snapshot lists the
# notification as pending while its done record precedes the snapshot on the
# state partition; the member that takes the partition over re-queues the
# pending notification from the snapshot and must drop it because of that
# record: exactly one delivery. Before 93c3a18 a takeover skipped every done
# record older than the snapshot it restored, and the page arrived twice.
#
# Deterministic, with the failpoint gateway_snapshot_after_export
# (core/failpoint.h) stalling g1's snapshot for 4 s after each export, and a
# receiver that holds its answer to the first request until told:
#  1. the alert is read and its page sent; the receiver holds the answer, so
#     the notification is pending when the snapshot is exported (hit 1);
#  2. while g1 sleeps in hit 1, the receiver answers 200: the send finishes,
#     its done record is produced ahead of the snapshot;
#  3. the snapshot is written and acknowledged; at the next snapshot's export
#     (hit 2, after the delivery changed the gateway's counters) g1 is
#     killed with -9, so the newest snapshot is the one of hit 1;
#  4. g1r (no failpoint) takes the partitions over.
# The test checks the order on the state partition (the record before the
# snapshot) so that it cannot pass without the window having happened.
source "$(dirname "$0")/fixtures/kafka/gateway.sh"
kg_setup 150 /hook/slow 20s --first "/hook/slow=1:hold:$KT_DIR/release"

# requests to /hook/slow the receiver got
slow_count() { kg_count /hook/slow; }
hits() { kt_grep_count "event=failpoint name=gateway_snapshot_after_export" "$KT_DIR/g1.log"; }

kg_start g1 gateway_snapshot_after_export:sleep=4000
[ "$(hits)" -eq 0 ] || kt_fail "g1 snapshotted before the alert (nothing had happened)"
kg_fire

# 1. the page is at the receiver, unanswered, and g1 exported a snapshot
sent() { [ "$(slow_count)" -ge 1 ]; }
kt_wait 30 "the page sent to the receiver (held)" sent
hit1() { [ "$(hits)" -ge 1 ]; }
kt_wait 30 "g1 exported a snapshot with the page pending (failpoint hit 1)" hit1
# 2. the send finishes during the stall
touch "$KT_DIR/release"
kt_log "g1 stalled after the export; the receiver answers now"
# 3. the snapshot written; kill -9 at the next export
hit2() { [ "$(hits)" -ge 2 ]; }
kt_wait 30 "g1's next snapshot export (failpoint hit 2)" hit2
kill -KILL "$KT_PID_g1"
gone() { ! kt_alive "$KT_PID_g1"; }
kt_wait 10 "g1 killed" gone
grep -q 'event=failpoint_resumed name=gateway_snapshot_after_export hit=1' "$KT_DIR/g1.log" ||
	kt_fail "g1 did not resume from hit 1"
grep -q 'event=gateway_checkpoint_failed\|event=gateway_checkpoint_unacknowledged' "$KT_DIR/g1.log" &&
	kt_fail "g1's snapshot of hit 1 was not acknowledged: the test proves nothing"
[ "$(slow_count)" -eq 1 ] || kt_fail "the page was sent $(slow_count) times before the kill, want once"

# the state topic: the page's done record precedes the newest snapshot of its
# alerts partition (the window), and is not tombstoned
"$VIGIL" consume -b "$KT_BOOT" -t alerts.state >"$KT_DIR/state.jsonl" 2>>"$KT_DIR/consume.log" ||
	kt_fail "reading the gateway state topic"
python3 - "$KT_DIR/state.jsonl" <<'PY' || kt_fail "the state topic does not show the window"
import sys, json, re
recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
done, snaps = {}, {}
for r in recs:
    k = r.get("key") or ""
    m = re.match(r"vigil\.done/alerts/(\d+)/(.+)$", k)
    if m:
        key = (r["partition"], int(m.group(1)), m.group(2))
        if r.get("value") is None:
            done.pop(key, None)  # tombstone
        else:
            done[key] = r["offset"]
        continue
    m = re.match(r"alerts/(\d+)(/|$)", k)
    if m:
        snaps[(r["partition"], int(m.group(1)))] = r["offset"]  # the newest chunk
if len(done) != 1:
    print("want exactly one live done record, got %r" % done, file=sys.stderr); sys.exit(1)
(sp, part, uid), off = next(iter(done.items()))
snap = snaps.get((sp, part))
print("done record of alerts/%d at state %d:%d, newest snapshot at %s" % (part, sp, off, snap), file=sys.stderr)
if snap is None or not off < snap:
    print("the done record does not precede the snapshot", file=sys.stderr); sys.exit(1)
PY

# 4. the takeover
kt_gateway g1r
kt_wait 60 "g1r owns the alerts partitions" kg_assigned g1r
decided() {
	grep -q 'event=notification_already_delivered' "$KT_DIR/g1r.log" 2>/dev/null || [ "$(slow_count)" -ge 2 ]
}
kt_wait 40 "g1r decided the snapshot's pending page (skipped or sent)" decided
sleep 3
grep 'event=gateway_partition_assigned' "$KT_DIR/g1r.log" >&2
n=$(slow_count)
kt_log "the receiver got the page $n time(s)"
[ "$n" -eq 1 ] || kt_fail "the page was delivered $n times, want once (the takeover did not use the done record written before the snapshot)"
grep -q 'event=notification_already_delivered' "$KT_DIR/g1r.log" || kt_fail "g1r did not say it skipped the delivered page"
kt_log "PASS: a send finished between a snapshot's export and its write, the member killed: delivered once"
