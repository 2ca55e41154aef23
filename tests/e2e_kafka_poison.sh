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
# every 50th line is followed by a poison record for the same series: a bad
# value, a bad timestamp, garbage (`vigil produce` cannot decode them, so they
# go out unkeyed, to any partition); the bad lines also go to mixed.txt.bad
python3 - "$KT_DIR/data.txt" "$KT_DIR/mixed.txt" <<'PY'
import sys
bad = ["kt.load;host=h%02d notanumber 1700000000", "kt.load;host=h%02d 5 12:00", "kt.load;host=h%02d"]
n = 0
with open(sys.argv[1]) as f, open(sys.argv[2], "w") as g, open(sys.argv[2] + ".bad", "w") as b:
    for i, line in enumerate(f):
        g.write(line)
        if i % 50 == 49:
            host = int(line.split(";host=h")[1][:2])
            g.write(bad[n % 3] % host + "\n")
            b.write(bad[n % 3] % host + "\n")
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

# The dead-letter topic read back with `vigil consume`: exactly the injected
# poison records (count and payloads, no good record), each with a non-empty
# vigil.error, vigil.src = metrics/P and vigil.offset = the input offset, and
# the record at that input offset is the same line with the same key.
dlq_read() { "$VIGIL" consume -b "$KT_BOOT" -t metrics.dlq >"$KT_DIR/dlq.jsonl" 2>"$KT_DIR/dlq.err" || kt_fail "consume metrics.dlq: $(cat "$KT_DIR/dlq.err")"; }
dlq_full() { dlq_read; [ "$(wc -l <"$KT_DIR/dlq.jsonl")" -ge "$npoison" ]; }
kt_wait 20 "$npoison records on metrics.dlq" dlq_full
sleep 1
dlq_read # again: anything dead-lettered twice or late shows up now
python3 - "$KT_DIR/dlq.jsonl" "$KT_DIR/mixed.txt.bad" "$KT_DIR/data.txt" "$KT_DIR/dlq.src" <<'PY' || kt_fail "dead-letter topic contents"
import sys, json, re, collections
rows = [json.loads(l) for l in open(sys.argv[1])]
want = open(sys.argv[2]).read().splitlines()
good = set(open(sys.argv[3]).read().splitlines())
bad = []
if len(rows) != len(want):
    bad.append("%d records on metrics.dlq, injected %d poison records" % (len(rows), len(want)))
vals = [r["value"] for r in rows]
if sorted(map(str, vals)) != sorted(want):
    extra = collections.Counter(map(str, vals)) - collections.Counter(want)
    miss = collections.Counter(want) - collections.Counter(map(str, vals))
    bad.append("payloads differ: extra %r missing %r" % (dict(extra), dict(miss)))
for v in vals:
    if v in good:
        bad.append("good record dead-lettered: %r" % v)
seen = set()
with open(sys.argv[4], "w") as out:
    for r in rows:
        h = r["headers"]
        err, src, off = h.get("vigil.error"), h.get("vigil.src"), h.get("vigil.offset")
        if not isinstance(err, str) or not err.strip():
            bad.append("vigil.error missing or empty: %r" % h)
        m = re.fullmatch(r"metrics/([0-5])", src) if isinstance(src, str) else None
        if not m or not isinstance(off, str) or not re.fullmatch(r"[0-9]+", off):
            bad.append("vigil.src/vigil.offset malformed: %r" % h)
            continue
        if (src, off) in seen:
            bad.append("%s offset %s dead-lettered twice" % (src, off))
        seen.add((src, off))
        out.write("%s %s\n" % (m.group(1), off))
for b in bad[:20]:
    print("dlq check:", b, file=sys.stderr)
sys.exit(1 if bad else 0)
PY
: >"$KT_DIR/dlq.input.jsonl"
while read -r p off; do
	"$VIGIL" consume -b "$KT_BOOT" -t metrics --partition "$p" --from "$off" --count 1 >>"$KT_DIR/dlq.input.jsonl" 2>>"$KT_DIR/dlq.err" \
		|| kt_fail "consume metrics --partition $p --from $off: $(tail -n 3 "$KT_DIR/dlq.err")"
done <"$KT_DIR/dlq.src"
python3 - "$KT_DIR/dlq.jsonl" "$KT_DIR/dlq.input.jsonl" <<'PY' || kt_fail "dead-lettered records differ from the input records at vigil.src/vigil.offset"
import sys, json
dlq = [json.loads(l) for l in open(sys.argv[1])]
inp = [json.loads(l) for l in open(sys.argv[2])]
bad = []
if len(inp) != len(dlq):
    bad.append("%d input records read back for %d dead-lettered ones" % (len(inp), len(dlq)))
for d, i in zip(dlq, inp):
    src = "%s/%d" % (i["topic"], i["partition"])
    if (src, str(i["offset"])) != (d["headers"]["vigil.src"], d["headers"]["vigil.offset"]):
        bad.append("asked for %s@%s, got %s@%d" % (d["headers"]["vigil.src"], d["headers"]["vigil.offset"], src, i["offset"]))
    if i["value"] != d["value"]:
        bad.append("%s@%d holds %r, the dead-letter copy %r" % (src, i["offset"], i["value"], d["value"]))
    # the original key travels along, a missing key stays missing (null)
    if i["key"] != d["key"]:
        bad.append("%s@%d key %r, the dead-letter copy %r" % (src, i["offset"], i["key"], d["key"]))
for b in bad[:20]:
    print("dlq input check:", b, file=sys.stderr)
sys.exit(1 if bad else 0)
PY
kt_log "PASS: $npoison poison records counted, logged and dead-lettered (read back from metrics.dlq: payloads, vigil.error/src/offset, keys); $(wc -l <"$KT_DIR/want.txt") spikes once each"
