#!/usr/bin/env bash
# Kafka e2e: kill -9 of a gateway member with deliveries pending, a second
# gateway member of the same group takes over. The receiver (a real HTTP
# server behind the webhook destination) answers 500 while g1 runs; g1 is
# killed once it has read every alert and snapshotted its partitions; g2
# joins, restores the snapshots (the pending notifications and the open
# episodes), the receiver recovers, and every notification arrives: lost
# must be 0 (duplicates are counted). Then the same firings are produced
# again: g2 knows the episodes are open and sends nothing; their resolves
# close them, once each.
source "$(dirname "$0")/fixtures/kafka/lib.sh"
kt_receivers
kt_timeout 120
kt_broker 3
port=$(rt_free_port)
for g in g1 g2; do
	kt_config $g
	cat >"$KT_DIR/owners-$g.yaml" <<EOT
owners:
  - name: kt-team
    destinations:
      - {type: webhook, url: "http://127.0.0.1:$port/hook/kt-team", timeout: 2s, retry_initial: 200ms, retry_max: 1s, max_attempts: 1000, max_age: 10m}
EOT
done
rt_receiver sick "$port" --rule /hook/kt-team=500
kt_gateway g1
n=30
python3 - "$n" >"$KT_DIR/events.jsonl" <<'PY'
import sys, json
for i in range(int(sys.argv[1])):
    print(json.dumps({"status": "firing", "rule": "disk-full", "owner": "kt-team",
                      "series": "disk.used{host=db%02d}" % i, "startsAt": "2026-03-02T08:15:00Z"}))
PY
"$VIGIL" produce -b "$KT_BOOT" -t alerts --key none "$KT_DIR/events.jsonl" 2>>"$KT_DIR/produce.log" || kt_fail "produce"
read_all() { [ "$(kt_stat g1 gw_submitted)" = "$n" ] 2>/dev/null; }
kt_wait 30 "g1 read all $n alerts" read_all
tried() { [ "$(grep -c '"answer": "500"' "$KT_DIR/sick.jsonl" 2>/dev/null || echo 0)" -ge 3 ]; }
kt_wait 20 "g1 trying against the failing receiver" tried
sleep 2 # a checkpoint interval: g1 snapshots its partitions
kill -9 "$KT_PID_g1"
kt_log "killed g1 with $n notifications pending"
kill "$RT_PID_sick"
rt_receiver well "$port"
kt_gateway g2
all() { rt_count well "$n" probe >/dev/null 2>&1; }
kt_wait 60 "g2 delivered all $n" all
sleep 2
rt_count well "$n" "kill -9 of a gateway member, g2 takes over" || kt_fail "notifications lost"
restored=$(grep -o 'event=partition_restored partition=[0-9]* open_episodes=[0-9]* pending=[0-9]*' "$KT_DIR/g2.log" |
	awk -F'pending=' '{s += $2} END {print s + 0}')
[ "$restored" -eq "$n" ] || kt_fail "g2 restored $restored pending notifications from g1's snapshots, want $n"
"$VIGIL" produce -b "$KT_BOOT" -t alerts --key none "$KT_DIR/events.jsonl" 2>>"$KT_DIR/produce.log" || kt_fail "produce again"
again() { [ "$(kt_stat g2 gw_submitted)" -ge "$n" ] 2>/dev/null; }
kt_wait 30 "g2 read the repeated firings" again
sleep 2
rt_count well "$n" "repeated firings after the take-over" || kt_fail "repeated firings were sent again"
sed 's/"status": "firing"/"status": "resolved"/' "$KT_DIR/events.jsonl" >"$KT_DIR/resolves.jsonl"
"$VIGIL" produce -b "$KT_BOOT" -t alerts --key none "$KT_DIR/resolves.jsonl" 2>>"$KT_DIR/produce.log" || kt_fail "produce resolves"
all2() { rt_count well "$((2 * n))" probe >/dev/null 2>&1; }
kt_wait 30 "the $n resolves delivered" all2
sleep 1
rt_count well "$((2 * n))" "firings and resolves" || kt_fail "resolves"
kt_log "PASS"
