#!/usr/bin/env bash
# Kafka e2e (5): poison messages (undecodable records) are counted, logged
# with topic/partition/offset, copied to the dead-letter topic, and their
# partition keeps flowing: every spike after them is still alerted once.
source "$(dirname "$0")/fixtures/kafka/lib.sh"
kt_timeout 90
kt_broker 6
kt_config s1 "mode: single"
kt_member s1
one() { [ "$(kt_nowned s1)" -eq 6 ]; }
kt_wait 30 "s1 owning six partitions" one
kt_gen 12 120 "$KT_DIR/data.txt" "$KT_DIR/spikes.txt"
sort "$KT_DIR/spikes.txt" >"$KT_DIR/want.txt"
# every 50th line is followed by a poison record for the same series (same
# key, so same partition): a bad value, a bad timestamp, garbage
python3 - "$KT_DIR/data.txt" "$KT_DIR/mixed.txt" <<'PY'
import sys
bad = ["kt.load;host=h%02d notanumber 1700000000", "kt.load;host=h%02d 5 12:00", "kt.load;host=h%02d"]
n = 0
with open(sys.argv[1]) as f, open(sys.argv[2], "w") as g:
    for i, line in enumerate(f):
        g.write(line)
        if i % 50 == 49:
            host = int(line.split(";host=h")[1][:2])
            g.write(bad[n % 3] % host + "\n")
            n += 1
print(n, file=open(sys.argv[2] + ".n", "w"))
PY
npoison=$(cat "$KT_DIR/mixed.txt.n")
kt_produce "$KT_DIR/mixed.txt"
complete() { kt_firing "$KT_DIR/alerts-s1.jsonl" | sort >"$KT_DIR/got.txt"; [ "$(wc -l <"$KT_DIR/got.txt")" -ge "$(wc -l <"$KT_DIR/want.txt")" ]; }
kt_wait 60 "all spikes at the gateway" complete
counted() { [ "$(kt_stat s1 poison)" = "$npoison" ] && [ "$(kt_stat s1 dead_lettered)" = "$npoison" ]; }
kt_wait 10 "poison=$npoison dead_lettered=$npoison in the stats" counted
kt_firing "$KT_DIR/alerts-s1.jsonl" | sort >"$KT_DIR/got.txt"
[ "$(uniq -d "$KT_DIR/got.txt" | wc -l)" -eq 0 ] || kt_fail "duplicate firing notifications"
diff "$KT_DIR/want.txt" "$KT_DIR/got.txt" >&2 || kt_fail "firing set differs from the injected spikes"
grep -qE 'event=poison topic=metrics partition=[0-5] offset=[0-9]+ err=' "$KT_DIR/s1.log" || kt_fail "no poison log line with topic/partition/offset"
records=$(kt_stat s1 records)
[ "$records" -eq "$(wc -l <"$KT_DIR/mixed.txt")" ] || kt_fail "records=$records, sent $(wc -l <"$KT_DIR/mixed.txt")"
kt_log "PASS: $npoison poison records counted, logged and dead-lettered; $(wc -l <"$KT_DIR/want.txt") spikes once each"
