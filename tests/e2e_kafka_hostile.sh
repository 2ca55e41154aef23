#!/usr/bin/env bash
# Kafka e2e: hostile records on the input topic (issue 16's table), mixed
# into a stream of good points with known spikes: a 2 MB record (refused
# unread past 1 MiB: "record longer than 1048576 bytes") and 10 MB of random
# bytes (fixed seed) as records of one line each. Every hostile record is
# counted as poison and logged with topic/partition/offset, none becomes a
# point, and every spike of the good points is still alerted once. Every
# poison record is copied to the dead-letter topic; the 2 MB one, more than
# the topic takes, with its head and a vigil.truncated header.
source "$(dirname "$0")/fixtures/kafka/lib.sh"
kt_timeout 180
# Apache Kafka refuses a message over 1 MB unless the topic allows it (the
# embedded broker takes it as it is)
[ "$KT_MODE" = real ] &&
	KT_TOPICS="metrics:6:max.message.bytes=4000000,metrics.state,alerts:3,alerts.state:3,alerts.control:3,metrics.dlq"
kt_broker 6
kt_config s1 "mode: single"
kt_member s1
one() { [ "$(kt_nowned s1)" -eq 6 ]; }
kt_wait 30 "s1 owning six partitions" one
kt_gen 12 120 "$KT_DIR/data.txt" "$KT_DIR/spikes.txt"
sort "$KT_DIR/spikes.txt" >"$KT_DIR/want.txt"
python3 - "$KT_DIR/data.txt" "$KT_DIR/mixed.txt" <<'PY'
import random, sys
good = open(sys.argv[1], "rb").read().split(b"\n")[:-1]
r = random.Random(16)
junk = bytes(r.getrandbits(8) for _ in range(10 << 20)).split(b"\n")
big = b"kt.load;host=h01;pad=" + b"p" * (2 << 20) + b" 5 1700000000"
def poison(rec):  # what the graphite decoder refuses (decoders.c: blank and '#' lines are skipped)
    if rec.endswith(b"\r"):
        rec = rec[:-1]
    rec = rec.lstrip(b" \t\r")
    return rec != b"" and not rec.startswith(b"#")
bad = [big] + [j for j in junk if j.strip(b" \t\r") != b"" or j != b""]
bad = [b for b in bad if b != b""]
n = sum(1 for b in bad if poison(b))
out = []
step = max(1, len(bad) // len(good) + 1)
k = 0
for i, l in enumerate(good):
    out.append(l)
    out.extend(bad[k:k + step])
    k += step
out.extend(bad[k:])
open(sys.argv[2], "wb").write(b"\n".join(out) + b"\n")
open(sys.argv[2] + ".n", "w").write("%d\n" % n)
PY
npoison=$(cat "$KT_DIR/mixed.txt.n")
kt_log "producing $(wc -l <"$KT_DIR/mixed.txt") records, $npoison of them poison"
kt_produce "$KT_DIR/mixed.txt" --set message.max.bytes=4000000
complete() { kt_firing "$KT_DIR/alerts-s1.jsonl" | sort >"$KT_DIR/got.txt"; [ "$(wc -l <"$KT_DIR/got.txt")" -ge "$(wc -l <"$KT_DIR/want.txt")" ]; }
kt_wait 90 "all spikes at the gateway" complete
# every record is a point, poison, or skipped (blank or '#'): the hostile
# ones are all poison but for a few random lines that are blank or comments
ngood=$(wc -l <"$KT_DIR/data.txt")
counted() {
	local rec poi
	rec=$(kt_stat s1 records)
	poi=$(kt_stat s1 poison)
	[ -n "$rec" ] && [ -n "$poi" ] && [ "$rec" -eq "$(wc -l <"$KT_DIR/mixed.txt")" ] &&
		[ "$poi" -ge "$npoison" ] && [ $((rec - ngood - poi)) -ge 0 ] && [ $((rec - ngood - poi)) -lt 50 ]
}
kt_wait 30 "every record read, poison >= $npoison" counted
kt_log "records=$(kt_stat s1 records) poison=$(kt_stat s1 poison) dead_lettered=$(kt_stat s1 dead_lettered) points=$(kt_stat s1 points)"
[ "$(kt_stat s1 dead_lettered)" = "$(kt_stat s1 poison)" ] ||
	kt_fail "dead_lettered=$(kt_stat s1 dead_lettered) poison=$(kt_stat s1 poison): a poison record without its dead-letter copy"
grep -qE 'event=dead_letter_truncated topic=metrics partition=[0-5] offset=[0-9]+ bytes=2097[0-9]+ kept=' "$KT_DIR/s1.log" ||
	kt_fail "no dead_letter_truncated line for the 2 MB record"
[ "$(kt_stat s1 points)" = "$ngood" ] || kt_fail "points=$(kt_stat s1 points), want $ngood: hostile bytes decoded as points"
kt_firing "$KT_DIR/alerts-s1.jsonl" | sort >"$KT_DIR/got.txt"
[ "$(uniq -d "$KT_DIR/got.txt" | wc -l)" -eq 0 ] || kt_fail "duplicate firing notifications"
diff "$KT_DIR/want.txt" "$KT_DIR/got.txt" >&2 || kt_fail "firing set differs from the injected spikes"
grep -qE 'event=rejected where=metrics/[0-5]:[0-9]+: column 1048577: record longer than 1048576 bytes' "$KT_DIR/s1.log" ||
	kt_fail "no poison line with topic/partition/offset for the 2 MB record"
grep -qE '(event=rejected where=metrics/[0-5]:[0-9]+|event=poison topic=metrics partition=[0-5] offset=[0-9]+ err=.*): column [0-9]+: invalid UTF-8' "$KT_DIR/s1.log" ||
	kt_fail "no poison line for the random bytes"
kt_log "PASS: $(kt_stat s1 poison) hostile records (a 2 MB one and 10 MB of random bytes) counted and logged with topic/partition/offset; $(wc -l <"$KT_DIR/want.txt") spikes once each"
