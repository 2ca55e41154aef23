#!/usr/bin/env bash
# Kafka e2e: the resolve guarantee through a gateway restart. A firing is
# delivered, the gateway stops cleanly (SIGTERM), a new gateway process of
# the same group reads the resolve: it closes the page (same episode) even
# though the new process never saw the firing; nothing is delivered twice.
source "$(dirname "$0")/fixtures/kafka/lib.sh"
kt_timeout 90
kt_broker 3
kt_config g1
kt_gateway g1
fire='{"status":"firing","rule":"disk-full","owner":"kt-team","series":"disk.used{host=db1}","startsAt":"2026-03-02T08:15:00Z"}'
res='{"status":"resolved","rule":"disk-full","owner":"kt-team","series":"disk.used{host=db1}","startsAt":"2026-03-02T08:15:00Z","endsAt":"2026-03-02T09:00:00Z"}'
echo "$fire" | "$VIGIL" produce -b "$KT_BOOT" -t alerts --key none - 2>>"$KT_DIR/produce.log" || kt_fail "produce firing"
n_at() { [ "$(wc -l <"$KT_DIR/alerts-g1.jsonl" 2>/dev/null || echo 0)" -ge "$1" ]; }
kt_wait 30 "the firing delivered" n_at 1
kill -TERM "$KT_PID_g1"
gone() { ! kt_alive "$KT_PID_g1"; }
kt_wait 20 "the gateway stopped" gone
grep -q 'event=final' "$KT_DIR/g1.log" || kt_fail "no final stats line after SIGTERM"
mv "$KT_DIR/g1.log" "$KT_DIR/g1-first.log"
kt_gateway g1
echo "$res" | "$VIGIL" produce -b "$KT_BOOT" -t alerts --key none - 2>>"$KT_DIR/produce.log" || kt_fail "produce resolve"
kt_wait 40 "the resolve delivered by the new gateway" n_at 2
sleep 2 # anything delivered twice shows up now
python3 - "$KT_DIR/alerts-g1.jsonl" <<'PY' || kt_fail "notifications"
import sys, json
rows = [json.loads(l) for l in open(sys.argv[1])]
st = [r["status"] for r in rows]
if st != ["firing", "resolved"]:
    print("statuses %r, want firing then resolved once each" % st, file=sys.stderr); sys.exit(1)
if rows[0]["episode"] != rows[1]["episode"]:
    print("the resolve is of another episode", file=sys.stderr); sys.exit(1)
PY
kt_log "PASS: the resolve read by a restarted gateway closed the page, nothing twice"
