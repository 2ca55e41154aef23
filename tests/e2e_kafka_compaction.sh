#!/usr/bin/env bash
# Kafka e2e (real broker only): the state topic under log compaction. Two
# identical pipelines run side by side on one broker: A's state topic is
# compacted (segment.ms 500, min.cleanable.dirty.ratio 0.01), B's is not.
# Each single-mode member processes the first part of the same stream (one
# partition, 4000 series) with a checkpoint every second (snapshots of two
# 512 KiB chunks, each chunk its own key) and stops; the broker's cleaner compacts A's state topic (checked:
# fewer records than B's); then new members restore from both and process
# the rest. A restores the same state (same next offsets and state bytes,
# no partial snapshot) and alerts exactly as B does.
source "$(dirname "$0")/fixtures/kafka/lib.sh"
kt_real_only "the embedded broker (librdkafka's mock) does not compact"
kt_timeout 420
NS=${KT_COMPACT_SERIES:-4000}
KT_TOPICS="ma:1,ma.state:1:cleanup.policy=compact;segment.ms=500;min.cleanable.dirty.ratio=0.01;delete.retention.ms=100,mb:1,mb.state:1:cleanup.policy=delete,alerts_a:1,alerts_a.state:1,alerts_a.control:1,alerts_b:1,alerts_b.state:1,alerts_b.control:1,metrics.dlq"
kt_broker 1
cfg() { # NAME X: single-mode member of pipeline X (topics mX, mX.state; group gX)
	kt_config "$1" "mode: single"
	sed -i "s/^input: {topics: \[metrics\]/input: {topics: [m$2]/; s/^state_topic: metrics.state/state_topic: m$2.state/; s/group.id: kt/group.id: g$2/; s/^alerts_topic: alerts/alerts_topic: alerts_$2/" "$KT_DIR/$1.yaml"
	sed -i "s#alerts-$1.jsonl#alerts-$2.jsonl#" "$KT_DIR/owners-$1.yaml"
}
cfg a1 a; cfg b1 b
kt_member a1; kt_member b1
two() { [ "$(kt_nowned a1)" -eq 1 ] && [ "$(kt_nowned b1)" -eq 1 ]; }
kt_wait 120 "a1 and b1 owning their partition" two
# spikes at points 30-36 (first part) and 70-76 (second part)
kt_gen "$NS" 80 "$KT_DIR/data.txt" "$KT_DIR/spikes.txt"
total=$(wc -l <"$KT_DIR/data.txt")
half=$((NS * 50))
head -n "$half" "$KT_DIR/data.txt" >"$KT_DIR/a.txt"
tail -n +"$((half + 1))" "$KT_DIR/data.txt" >"$KT_DIR/b.txt"
# the first part in 8 slices, a few checkpoints apart
split -n l/8 "$KT_DIR/a.txt" "$KT_DIR/slice."
for f in "$KT_DIR"/slice.*; do
	for x in a b; do "$VIGIL" produce -b "$KT_BOOT" -t m$x --format graphite "$f" 2>>"$KT_DIR/produce.log" || kt_fail "produce $f to m$x"; done
	sleep 1.5
done
done1() { [ "$(kt_stat a1 records)" -ge "$half" ] && [ "$(kt_stat b1 records)" -ge "$half" ]; } 2>/dev/null
kt_wait 120 "both members processing the first part" done1
sleep 2
kt_stop "$KT_PID_a1" "$KT_PID_b1"
grep -q 'event=final' "$KT_DIR/a1.log" && grep -q 'event=final' "$KT_DIR/b1.log" || kt_fail "a member did not stop cleanly"
sb=$(kt_stat a1 state_bytes)
[ "${sb:-0}" -gt 600000 ] || kt_fail "state_bytes=$sb: snapshots too small to span several chunks (raise KT_COMPACT_SERIES)"
cnt() { bash "$KT_RB" admin count "$KT_BOOT" "$1" 2>>"$KT_DIR/broker.log"; }
nb=$(cnt mb.state)
na0=$(cnt ma.state)
# roll the active segment (the cleaner never touches it): one more record
# after segment.ms, then wait for the cleaner
sleep 1
echo "poke 1 1700000000" | "$VIGIL" produce -b "$KT_BOOT" -t ma.state --format graphite - 2>>"$KT_DIR/produce.log" >/dev/null ||
	kt_fail "producing the segment-rolling record"
compacted() { na=$(cnt ma.state) && [ "$na" -lt "$na0" ]; }
kt_wait 120 "the cleaner compacting ma.state (records before: $na0)" compacted
sleep 3
na=$(cnt ma.state)
kt_log "state records: compacted ma.state $na0 -> $na, uncompacted mb.state $nb"
[ "$na" -lt "$nb" ] || kt_fail "compacted state topic not smaller: $na vs $nb"

cfg a2 a; cfg b2 b
kt_member a2; kt_member b2
restored() { grep -q 'event=restored partition=ma/0' "$KT_DIR/a2.log" && grep -q 'event=restored partition=mb/0' "$KT_DIR/b2.log"; }
kt_wait 120 "a2 and b2 restoring" restored
ra=$(grep -o 'event=restored partition=m[ab]/[0-9] checkpoint=[a-z]* next=-\?[0-9]* state_bytes=[0-9]*' "$KT_DIR/a2.log" | sed 's/m[ab]\//m\//' | sort)
rb=$(grep -o 'event=restored partition=m[ab]/[0-9] checkpoint=[a-z]* next=-\?[0-9]* state_bytes=[0-9]*' "$KT_DIR/b2.log" | sed 's/m[ab]\//m\//' | sort)
kt_log "restored (compacted):   $(echo $ra)"
kt_log "restored (uncompacted): $(echo $rb)"
echo "$ra" | grep -q 'checkpoint=none' && kt_fail "a partition restored no checkpoint after compaction"
[ "$ra" = "$rb" ] || kt_fail "the restore after compaction differs from the one without"
grep -q 'event=ckpt_corrupt' "$KT_DIR/a2.log" && kt_fail "a corrupt snapshot after compaction"
for x in a b; do "$VIGIL" produce -b "$KT_BOOT" -t m$x --format graphite "$KT_DIR/b.txt" 2>>"$KT_DIR/produce.log" || kt_fail "produce part 2 to m$x"; done
rest=$((total - half))
done2() { [ "$(kt_stat a2 records)" -ge "$rest" ] && [ "$(kt_stat b2 records)" -ge "$rest" ]; } 2>/dev/null
kt_wait 120 "both members processing the second part" done2
sleep 2
kt_firing "$KT_DIR/alerts-a.jsonl" | sort >"$KT_DIR/got-a.txt"
kt_firing "$KT_DIR/alerts-b.jsonl" | sort >"$KT_DIR/got-b.txt"
sort "$KT_DIR/spikes.txt" >"$KT_DIR/want.txt"
diff "$KT_DIR/got-b.txt" "$KT_DIR/got-a.txt" >&2 || kt_fail "alerts with a compacted state topic differ from those without"
diff "$KT_DIR/want.txt" "$KT_DIR/got-a.txt" >&2 || kt_fail "alerts differ from the injected spikes"
kt_log "PASS: compacted state topic ($na0 -> $na records, snapshots of $sb bytes) restores the same state and the same $(wc -l <"$KT_DIR/want.txt") alerts as an uncompacted one"
