#!/usr/bin/env bash
# Kafka e2e: partition layout checks of a member.
# (1) A state topic whose partition count differs from the input topic's
#     (4 against 6) is refused at start: exit status 1 and an error naming
#     both topics and both counts.
# (2) input.keyed_by: series (the default): a series whose points arrive on
#     more than one input partition (a producer that does not key by series)
#     is counted once in split_series and logged with its partitions; series
#     keyed properly are not counted.
source "$(dirname "$0")/fixtures/kafka/lib.sh"
kt_timeout 120
KT_TOPICS="metrics,metrics.state:4,alerts:3,alerts.state:3,alerts.control:3,metrics.dlq,m2,m2.state" kt_broker 6

kt_config bad
"$VIGIL" run -c "$KT_DIR/bad.yaml" >"$KT_DIR/bad.out" 2>"$KT_DIR/bad.log" &
KT_PIDS+=($!)
bad=$!
for _ in $(seq 300); do kt_alive "$bad" || break; sleep 0.1; done
kt_alive "$bad" && kt_fail "a member with a 4-partition state topic for a 6-partition input is still running after 30 s"
wait "$bad"
rc=$?
[ "$rc" -eq 1 ] || kt_fail "exit status $rc for mismatched partition counts, want 1"
grep -q 'state topic metrics.state has 4 partitions, input topic metrics has 6' "$KT_DIR/bad.log" ||
	kt_fail "no clear error naming both topics and counts: $(tail -n 3 "$KT_DIR/bad.log")"
grep -q 'event=assigned' "$KT_DIR/bad.log" && kt_fail "the refused member joined the group"
kt_log "mismatched state topic refused: $(grep -o 'state topic [^"]*' "$KT_DIR/bad.log" | head -n 1)"

kt_config s1 "mode: single"
sed -i 's/^input: {topics: \[metrics\]/input: {topics: [m2]/; s/^state_topic: metrics.state/state_topic: m2.state/' "$KT_DIR/s1.yaml"
kt_member s1
six() { [ "$(kt_nowned s1)" -eq 6 ]; }
kt_wait 40 "s1 owning six partitions" six
# keyed by series: 12 series x 30 points
kt_gen 12 30 "$KT_DIR/keyed.txt" "$KT_DIR/keyed-spikes.txt"
"$VIGIL" produce -b "$KT_BOOT" -t m2 --format graphite "$KT_DIR/keyed.txt" 2>>"$KT_DIR/produce.log" || kt_fail "produce keyed"
n1=$(wc -l <"$KT_DIR/keyed.txt")
keyed() { [ "$(kt_stat s1 records)" -ge "$n1" ] 2>/dev/null; }
kt_wait 30 "s1 processing the keyed records" keyed
[ "$(kt_stat s1 split_series)" = 0 ] || kt_fail "split_series=$(kt_stat s1 split_series) for series keyed by series"
# not keyed: 5 other series x 40 points, random partitions
python3 - "$KT_DIR/unkeyed.txt" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    for k in range(40):
        for s in range(5):
            f.write("kt.split;host=u%d %d %d\n" % (s, 100 + k % 3, 1700000000 + 60 * k))
PY
# no key and no sticky partitioning: each message on a random partition
"$VIGIL" produce -b "$KT_BOOT" -t m2 --format graphite --key none --set sticky.partitioning.linger.ms=0 "$KT_DIR/unkeyed.txt" 2>>"$KT_DIR/produce.log" || kt_fail "produce unkeyed"
n2=$((n1 + $(wc -l <"$KT_DIR/unkeyed.txt")))
all() { [ "$(kt_stat s1 records)" -ge "$n2" ] 2>/dev/null; }
kt_wait 30 "s1 processing the unkeyed records" all
sleep 2.5 # one more stats line
[ "$(kt_stat s1 split_series)" = 5 ] || kt_fail "split_series=$(kt_stat s1 split_series), want 5 (the unkeyed series)"
grep -E 'event=split_series series="kt.split\{host=u[0-4]\}" partitions=m2/[0-5],m2/[0-5] offset=[0-9]+' "$KT_DIR/s1.log" >/dev/null ||
	kt_fail "no split_series log line with the series and its partitions"
grep 'event=split_series' "$KT_DIR/s1.log" | grep -q 'kt.load' && kt_fail "a keyed series was reported as split"
kt_log "PASS: mismatched state topic refused; split_series=5 for the 5 unkeyed series, 0 for the keyed ones"
