#!/usr/bin/env bash
# Kafka e2e (1): three members share six partitions; every partition (and so
# every series) is owned and processed by exactly one member, and every
# injected spike reaches the gateway exactly once.
source "$(dirname "$0")/fixtures/kafka/lib.sh"
kt_timeout 120
kt_broker 6
for n in m1 m2 m3 gw; do kt_config $n; done
kt_gateway gw
kt_member m1; kt_member m2; kt_member m3
kt_wait 60 "three members owning six partitions" kt_split 6 m1 m2 m3
all=$( (kt_owned m1; kt_owned m2; kt_owned m3) | tr ' ' '\n' | grep . | sort)
[ "$(echo "$all" | wc -l)" -eq 6 ] || kt_fail "owned partitions: $all"
[ "$(echo "$all" | sort -u | wc -l)" -eq 6 ] || kt_fail "a partition has two owners: $all"
kt_log "owners: m1=[$(kt_owned m1)] m2=[$(kt_owned m2)] m3=[$(kt_owned m3)]"

kt_gen 30 120 "$KT_DIR/data.txt" "$KT_DIR/spikes.txt"
kt_produce "$KT_DIR/data.txt"
sort "$KT_DIR/spikes.txt" >"$KT_DIR/want.txt"
complete() { kt_firing "$KT_DIR/alerts-gw.jsonl" | sort >"$KT_DIR/got.txt"; [ "$(wc -l <"$KT_DIR/got.txt")" -ge "$(wc -l <"$KT_DIR/want.txt")" ]; }
kt_wait 60 "all spikes at the gateway" complete
sleep 1
kt_firing "$KT_DIR/alerts-gw.jsonl" | sort >"$KT_DIR/got.txt"
diff "$KT_DIR/want.txt" "$KT_DIR/got.txt" >&2 || kt_fail "gateway firing set differs from the injected spikes"

# Each partition's alerts were published by exactly one member, and that
# member owned it; no alert id was published twice.
for n in m1 m2 m3; do
	grep -o 'alert_published alert_id=[0-9]*' "$KT_DIR/$n.log" | sed 's/.*=//' | sort -u | sed "s/^/$n /"
done >"$KT_DIR/pub.txt"
[ "$(cut -d' ' -f2 "$KT_DIR/pub.txt" | sort | uniq -d | wc -l)" -eq 0 ] || kt_fail "a partition published by two members: $(cat "$KT_DIR/pub.txt")"
while read -r n p; do
	kt_owned "$n" | tr ' ' '\n' | grep -qx "metrics/$p" || kt_fail "$n published for metrics/$p it does not own"
done <"$KT_DIR/pub.txt"
dups=$(cat "$KT_DIR"/m?.log | grep -o 'alert_published alert_id=[^ ]* fingerprint=[^ ]*' | sort | uniq -d | wc -l)
[ "$dups" -eq 0 ] || kt_fail "$dups alert ids published twice"
sent=$(wc -l <"$KT_DIR/data.txt")
all_records() {
	local n r recs=0
	for n in m1 m2 m3; do r=$(kt_stat $n records); recs=$((recs + ${r:-0})); done
	[ "$recs" -eq "$sent" ]
}
kt_wait 10 "the members' record counters to add up to $sent" all_records
kt_log "PASS: $(wc -l <"$KT_DIR/want.txt") spikes alerted once each; ownership disjoint"
