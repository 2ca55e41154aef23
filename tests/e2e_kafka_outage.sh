#!/usr/bin/env bash
# Kafka e2e (4): the broker becomes unavailable for a while (fault injection
# from the broker process: every mock broker down, then up). A single-mode
# process (member + gateway) waits, recovers and loses nothing: every injected
# spike is alerted exactly once.
source "$(dirname "$0")/fixtures/kafka/lib.sh"
kt_timeout 120
kt_broker 6
kt_config s1 "mode: single"
kt_member s1
one() { [ "$(kt_nowned s1)" -eq 6 ]; }
kt_wait 30 "s1 owning six partitions" one
kt_gen 24 160 "$KT_DIR/data.txt" "$KT_DIR/spikes.txt"
sort "$KT_DIR/spikes.txt" >"$KT_DIR/want.txt"
half=$(( $(wc -l <"$KT_DIR/data.txt") / 2 ))
head -n "$half" "$KT_DIR/data.txt" >"$KT_DIR/a.txt"
tail -n +"$((half + 1))" "$KT_DIR/data.txt" >"$KT_DIR/b.txt"
kt_produce "$KT_DIR/a.txt"
first() { [ "$(kt_stat s1 records)" -ge "$half" ] 2>/dev/null; }
kt_wait 30 "the first half processed" first
echo down >"$KT_DIR/control"
kt_log "brokers down"
# the second half is produced while the broker is down: the producer waits
"$VIGIL" produce -b "$KT_BOOT" -t metrics --format graphite "$KT_DIR/b.txt" 2>"$KT_DIR/produce2.log" &
prod=$!
KT_PIDS+=($prod)
sleep 8
kill -0 "$KT_PID_s1" || kt_fail "s1 died while the broker was down"
echo up >"$KT_DIR/control"
kt_log "brokers up"
wait "$prod" || kt_fail "produce of the second half failed"
complete() { kt_firing "$KT_DIR/alerts-s1.jsonl" | sort >"$KT_DIR/got.txt"; [ "$(wc -l <"$KT_DIR/got.txt")" -ge "$(wc -l <"$KT_DIR/want.txt")" ]; }
kt_wait 60 "all spikes at the gateway" complete
sleep 1
kt_firing "$KT_DIR/alerts-s1.jsonl" | sort >"$KT_DIR/got.txt"
[ "$(uniq -d "$KT_DIR/got.txt" | wc -l)" -eq 0 ] || kt_fail "duplicate firing notifications"
diff "$KT_DIR/want.txt" "$KT_DIR/got.txt" >&2 || kt_fail "firing set differs from the injected spikes"
grep -q 'event=brokers_down' "$KT_DIR/broker.log" || kt_fail "the broker did not report the outage"
kt_log "PASS: $(wc -l <"$KT_DIR/want.txt") spikes once each across an 8 s broker outage (lost=$(kt_stat s1 lost) checkpoint_skipped=$(kt_stat s1 checkpoint_skipped))"
