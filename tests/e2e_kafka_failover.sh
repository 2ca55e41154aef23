#!/usr/bin/env bash
# Kafka e2e (2): kill -9 one of three members mid-stream. Its partitions move
# to the survivors, which restore the checkpointed state from the state topic
# and suppress alerts the dead member already published: every injected spike
# reaches the gateway exactly once (one firing per episode, none duplicated).
source "$(dirname "$0")/fixtures/kafka/lib.sh"
kt_timeout 150
kt_broker 6
for n in m1 m2 m3 gw; do kt_config $n; done
kt_gateway gw
kt_member m1; kt_member m2; kt_member m3
kt_wait 60 "three members owning six partitions" kt_split 6 m1 m2 m3
kt_gen 24 160 "$KT_DIR/data.txt" "$KT_DIR/spikes.txt"
sort "$KT_DIR/spikes.txt" >"$KT_DIR/want.txt"
sent=$(wc -l <"$KT_DIR/data.txt")
# ~12 s of stream at 320 records/s
"$VIGIL" produce -b "$KT_BOOT" -t metrics --format graphite --rate 320 "$KT_DIR/data.txt" 2>"$KT_DIR/produce.log" &
prod=$!
KT_PIDS+=($prod)
victim_busy() { [ "$(grep -c alert_published "$KT_DIR/m2.log")" -ge 5 ] && [ "$(kt_stat m2 checkpoints)" -ge 1 ]; }
kt_wait 30 "m2 publishing alerts and checkpointing" victim_busy
victim_parts=$(kt_owned m2)
kill -KILL "$KT_PID_m2"
kt_log "killed m2 (owned: $victim_parts) after $(grep -c alert_published "$KT_DIR/m2.log") alerts"
moved() { [ $(( $(kt_nowned m1) + $(kt_nowned m3) )) -eq 6 ]; }
kt_wait 60 "survivors owning all six partitions" moved
kt_log "survivors: m1=[$(kt_owned m1)] m3=[$(kt_owned m3)]"
wait "$prod" || kt_fail "produce failed"
complete() { kt_firing "$KT_DIR/alerts-gw.jsonl" | sort >"$KT_DIR/got.txt"; [ "$(wc -l <"$KT_DIR/got.txt")" -ge "$(wc -l <"$KT_DIR/want.txt")" ]; }
kt_wait 60 "all spikes at the gateway" complete
sleep 2 # late duplicates, if any, would show up now
kt_firing "$KT_DIR/alerts-gw.jsonl" | sort >"$KT_DIR/got.txt"
uniq -d "$KT_DIR/got.txt" | head >&2
[ "$(uniq -d "$KT_DIR/got.txt" | wc -l)" -eq 0 ] || kt_fail "duplicate firing notifications at the gateway"
diff "$KT_DIR/want.txt" "$KT_DIR/got.txt" >&2 || kt_fail "gateway firing set differs from the injected spikes"
# the moved partitions were restored from a checkpoint
for p in $victim_parts; do
	grep -h "event=restored partition=$p checkpoint=yes" "$KT_DIR/m1.log" "$KT_DIR/m3.log" >/dev/null ||
		kt_fail "$p was not restored from a checkpoint"
done
# No alert is on the alerts topic twice. `alert_published` in a member's log
# means "handed to the producer", not "acknowledged": the victim's last alerts
# may die in its producer queue with it, and the new owner then rightly
# publishes them again. So count what the topic holds, as read by the
# gateway: every distinct (alert_id, fingerprint) published by anyone
# arrives exactly once (no duplicate dropped, gw_received >= distinct count).
distinct=$(cat "$KT_DIR"/m?.log | grep -o 'alert_published alert_id=[^ ]* fingerprint=[^ ]*' | sort -u | wc -l)
gw_all() { [ "$(kt_stat gw gw_received)" -ge "$distinct" ] 2>/dev/null; }
kt_wait 10 "gateway stats: gw_received >= $distinct" gw_all
sleep 2 # one more stats line
[ "$(kt_stat gw gw_duplicates)" = 0 ] || kt_fail "$(kt_stat gw gw_duplicates) alerts were on the alerts topic twice"
# At least: a kill -9 can land between the victim's produce call and its
# `alert_published` line, so the topic may hold one alert more than the logs
# name (seen once under ASan: 192 read, 191 logged); duplicates are checked
# above, so "more" can only be such an unlogged one.
[ "$(kt_stat gw gw_received)" -ge "$distinct" ] || kt_fail "the gateway read $(kt_stat gw gw_received) alerts, $distinct distinct ones were published"
sup=$(( $(kt_stat m1 alerts_suppressed) + $(kt_stat m3 alerts_suppressed) ))
kt_log "PASS: $(wc -l <"$KT_DIR/want.txt") spikes once each after kill -9; regenerated alerts suppressed: $sup; gateway duplicates dropped: $(kt_stat gw gw_duplicates)"
