#!/usr/bin/env bash
# Kafka e2e: `vigil consume` reads back what `vigil produce` wrote: every
# message once with its topic/partition/offset/timestamp/key/value/headers,
# a non-UTF-8 value as base64, --count, --partition/--from OFFSET, --from end
# on an idle topic prints nothing, --follow sees new messages and exits 0 on
# SIGTERM; an unknown topic, an unreachable broker, a missing partition or an
# out-of-range offset exit 1 naming the topic; usage errors exit 2; secrets
# in --set never appear in error messages.
source "$(dirname "$0")/fixtures/kafka/lib.sh"
kt_timeout 120
kt_broker 4
kt_topics ctest cfollow cpacked cunpacked
C() { "$VIGIL" consume -b "$KT_BOOT" "$@"; }

# Input: keyed graphite lines (series keys), one valid UTF-8 non-ASCII line
# and one line with invalid UTF-8 (unkeyed: it does not decode).
python3 - "$KT_DIR/in.txt" <<'PY'
import sys
lines = [b"ct.load;host=h%02d %d 1700000000" % (i, 10 + i) for i in range(6)]
lines.append("ct.t\u00e9mp;host=h99 7 1700000060".encode())
lines.append(b"bad\xff\xfe value \x01")
open(sys.argv[1], "wb").write(b"\n".join(lines) + b"\n")
PY
t0=$(date +%s%3N)
"$VIGIL" produce -b "$KT_BOOT" -t ctest --format graphite "$KT_DIR/in.txt" 2>>"$KT_DIR/produce.log" || kt_fail "produce"
t1=$(date +%s%3N)

C -t ctest >"$KT_DIR/all.jsonl" 2>"$KT_DIR/all.err" || kt_fail "consume ctest exited $? ($(cat "$KT_DIR/all.err"))"
python3 - "$KT_DIR/in.txt" "$KT_DIR/all.jsonl" "$t0" "$t1" <<'PY' || kt_fail "consume output does not match the produced messages"
import sys, json, base64, collections
want = open(sys.argv[1], "rb").read().split(b"\n")[:-1]
t0, t1 = int(sys.argv[3]), int(sys.argv[4])
rows = [json.loads(l) for l in open(sys.argv[2], encoding="utf-8")]
bad = []
if len(rows) != len(want):
    bad.append("got %d messages, produced %d" % (len(rows), len(want)))
got = []
per_part = collections.defaultdict(list)
for r in rows:
    if list(r) != ["topic", "partition", "offset", "timestamp_ms", "key", "value", "headers"]:
        bad.append("fields %s" % list(r))
        continue
    if r["topic"] != "ctest" or r["partition"] not in range(4) or r["headers"] != {}:
        bad.append("topic/partition/headers %r" % r)
    if not (t0 - 1000 <= r["timestamp_ms"] <= t1 + 1000):
        bad.append("timestamp_ms %d outside [%d, %d]" % (r["timestamp_ms"], t0, t1))
    per_part[r["partition"]].append(r["offset"])
    v = r["value"]
    if isinstance(v, dict):
        raw = base64.b64decode(v["base64"], validate=True)
        try:
            raw.decode("utf-8")
            bad.append("valid UTF-8 value sent as base64: %r" % raw)
        except UnicodeDecodeError:
            pass
    else:
        raw = v.encode("utf-8")
    got.append(raw)
    # keys: the series key for lines that decode, none for the bad line
    if raw.startswith(b"bad"):
        if r["key"] is not None:
            bad.append("key of the undecodable line: %r" % r["key"])
    else:
        name, rest = raw.decode().split(";", 1)
        tag = rest.split(" ")[0]
        if r["key"] != "%s{%s}" % (name, tag):
            bad.append("key %r for value %r" % (r["key"], raw))
if sorted(got) != sorted(want):
    bad.append("values differ: got %r want %r" % (sorted(got), sorted(want)))
if not any(isinstance(r.get("value"), dict) for r in rows):
    bad.append("no base64 value")
for p, offs in per_part.items():
    if offs != list(range(len(offs))):
        bad.append("partition %d offsets %r (want 0..n-1 in order)" % (p, offs))
for b in bad:
    print("consume check:", b, file=sys.stderr)
sys.exit(1 if bad else 0)
PY
kt_log "full read: $(wc -l <"$KT_DIR/all.jsonl") messages match the input"

# --count stops early
n=$(C -t ctest --count 3 | wc -l)
[ "$n" -eq 3 ] || kt_fail "--count 3 printed $n lines"

# --partition P --from 1 --count 1: the second message of the fullest partition
read -r P NP < <(python3 -c '
import sys, json, collections
c = collections.Counter(json.loads(l)["partition"] for l in open(sys.argv[1]))
p, n = c.most_common(1)[0]
print(p, n)' "$KT_DIR/all.jsonl")
[ "$NP" -ge 2 ] || kt_fail "no partition with two messages (8 messages on 4 partitions?)"
C -t ctest --partition "$P" --from 1 --count 1 >"$KT_DIR/one.jsonl" || kt_fail "consume --partition $P --from 1 failed"
python3 - "$KT_DIR/all.jsonl" "$KT_DIR/one.jsonl" "$P" <<'PY' || kt_fail "--partition/--from picked the wrong message"
import sys, json
allr = [json.loads(l) for l in open(sys.argv[1])]
one = [json.loads(l) for l in open(sys.argv[2])]
want = [r for r in allr if r["partition"] == int(sys.argv[3]) and r["offset"] == 1]
sys.exit(0 if len(one) == 1 and one == want else 1)
PY
# without --count, --partition P reads exactly that partition to its end
n=$(C -t ctest --partition "$P" | wc -l)
[ "$n" -eq "$NP" ] || kt_fail "--partition $P printed $n lines, it holds $NP"

# --from end with nothing new: empty output, exit 0
C -t ctest --from end >"$KT_DIR/end.jsonl" || kt_fail "--from end exited non-zero"
[ ! -s "$KT_DIR/end.jsonl" ] || kt_fail "--from end printed $(wc -l <"$KT_DIR/end.jsonl") lines"

# --follow: sees a message produced after it started, exits 0 on SIGTERM
printf 'cf.x;host=a 1 1700000000\n' >"$KT_DIR/f1.txt"
printf 'cf.x;host=a 2 1700000060\n' >"$KT_DIR/f2.txt"
"$VIGIL" produce -b "$KT_BOOT" -t cfollow --format graphite "$KT_DIR/f1.txt" 2>>"$KT_DIR/produce.log" || kt_fail "produce f1"
"$VIGIL" consume -b "$KT_BOOT" -t cfollow --follow >"$KT_DIR/follow.jsonl" 2>"$KT_DIR/follow.log" &
fpid=$!
KT_PIDS+=("$fpid")
lines_ge() { [ "$(wc -l <"$KT_DIR/follow.jsonl")" -ge "$1" ]; }
kt_wait 20 "--follow printing the first message" lines_ge 1
"$VIGIL" produce -b "$KT_BOOT" -t cfollow --format graphite "$KT_DIR/f2.txt" 2>>"$KT_DIR/produce.log" || kt_fail "produce f2"
kt_wait 20 "--follow printing the message produced later" lines_ge 2
kill -TERM "$fpid"
wait "$fpid"
frc=$?
[ "$frc" -eq 0 ] || kt_fail "--follow exited $frc on SIGTERM"
grep -q '"value":"cf.x;host=a 2 1700000060"' "$KT_DIR/follow.jsonl" || kt_fail "--follow output lacks the later message"
[ "$(wc -l <"$KT_DIR/follow.jsonl")" -eq 2 ] || kt_fail "--follow printed $(wc -l <"$KT_DIR/follow.jsonl") lines, want 2"
# --follow --count 1 ends by itself
n=$(C -t cfollow --follow --count 1 --timeout 20 | wc -l)
[ "$n" -eq 1 ] || kt_fail "--follow --count 1 printed $n lines"

# runtime errors: exit 1, the message names the topic
expect_err() { # expect_err RC PATTERN ARGS...
	local want=$1 pat=$2 rc; shift 2
	"$@" >"$KT_DIR/err.out" 2>"$KT_DIR/err.txt"
	rc=$?
	[ "$rc" -eq "$want" ] || kt_fail "'$*' exited $rc, want $want ($(cat "$KT_DIR/err.txt"))"
	grep -q -- "$pat" "$KT_DIR/err.txt" || kt_fail "'$*': stderr lacks '$pat': $(cat "$KT_DIR/err.txt")"
	[ ! -s "$KT_DIR/err.out" ] || kt_fail "'$*' printed to stdout"
}
expect_err 1 "topic no.such.topic" C -t no.such.topic
expect_err 1 "topic no.such.topic" C -t no.such.topic # not created by the first attempt
expect_err 1 "ctest.*partition 9" C -t ctest --partition 9
expect_err 1 "ctest/0: offset 999 is outside" C -t ctest --partition 0 --from 999
expect_err 1 "topic ctest: no metadata from 127.0.0.1:1" "$VIGIL" consume -b 127.0.0.1:1 -t ctest --timeout 2
expect_err 2 "usage" C --from end
expect_err 2 "--from wants" C -t ctest --from yesterday
expect_err 2 "--count wants" C -t ctest --count 0
expect_err 2 "bootstrap" "$VIGIL" consume -t ctest
"$VIGIL" consume --help | grep -q '^usage: vigil consume' || kt_fail "consume --help"
"$VIGIL" help | grep -q '^  consume ' || kt_fail "vigil help does not list consume"

# secrets: a bad value next to a password, a password without '='
expect_err 2 "fetch.wait.max.ms" C -t ctest --set sasl.password=Hunter2pw --set fetch.wait.max.ms=Hunter2pw
expect_err 2 "PROP=VALUE" C -t ctest --set ssl.key.password:Hunter2pw
expect_err 2 "sasl.oauthbearer.client.secret" C -t ctest --set sasl.oauthbearer.client.secret=Hunter2pw --set sasl.oauthbearer.client.secret.bogus=1
C -t ctest --set sasl.password=Hunter2pw --set fetch.wait.max.ms=Hunter2pw 2>&1 >/dev/null | grep -q Hunter2pw && kt_fail "password echoed"
C -t ctest --set ssl.key.password:Hunter2pw 2>&1 >/dev/null | grep -q Hunter2pw && kt_fail "password echoed (no '=')"
C -t ctest --set sasl.oauthbearer.client.secret=Hunter2pw --set sasl.oauthbearer.client.secret.bogus=1 2>&1 >/dev/null | grep -q Hunter2pw && kt_fail "secret echoed"
# produce --lines: 40 series x 5 points packed 3 lines a message; every line
# arrives once, in order per series, no message holds more than 3 lines or
# lines of two partitions, and each series sits on the partition the same
# line gets unpacked and keyed (topic cunpacked).
python3 - "$KT_DIR/many.txt" <<'PY2'
import sys
with open(sys.argv[1], "w") as f:
    for k in range(5):
        for s in range(40):
            f.write("pk.load;host=h%02d %d %d\n" % (s, k, 1700000000 + 60 * k))
PY2
"$VIGIL" produce -b "$KT_BOOT" -t cpacked --format graphite --lines 3 "$KT_DIR/many.txt" 2>>"$KT_DIR/produce.log" || kt_fail "produce --lines"
"$VIGIL" produce -b "$KT_BOOT" -t cunpacked --format graphite "$KT_DIR/many.txt" 2>>"$KT_DIR/produce.log" || kt_fail "produce unpacked"
C -t cpacked >"$KT_DIR/packed.jsonl" 2>>"$KT_DIR/all.err" || kt_fail "consume cpacked"
C -t cunpacked >"$KT_DIR/unpacked.jsonl" 2>>"$KT_DIR/all.err" || kt_fail "consume cunpacked"
python3 - "$KT_DIR/many.txt" "$KT_DIR/packed.jsonl" "$KT_DIR/unpacked.jsonl" <<'PY2' || kt_fail "produce --lines packing"
import sys, json, collections
want = open(sys.argv[1]).read().splitlines()
packed = [json.loads(l) for l in open(sys.argv[2])]
home = {json.loads(l)["value"].split()[0]: json.loads(l)["partition"] for l in open(sys.argv[3])}
bad, got = [], collections.defaultdict(list)
for r in sorted(packed, key=lambda r: (r["partition"], r["offset"])):
    lines = r["value"].split("\n")
    if len(lines) > 3 or r["key"] is not None:
        bad.append("message %d lines, key %r" % (len(lines), r["key"]))
    for line in lines:
        ser = line.split()[0]
        if home.get(ser) != r["partition"]:
            bad.append("%s on partition %d, unpacked on %s" % (ser, r["partition"], home.get(ser)))
        got[ser].append(line)
exp = collections.defaultdict(list)
for line in want:
    exp[line.split()[0]].append(line)
if got != exp:
    bad.append("lines per series differ (%d vs %d series)" % (len(got), len(exp)))
if len(packed) >= len(want):
    bad.append("%d messages for %d lines: nothing packed" % (len(packed), len(want)))
for b in bad[:10]:
    print("packing:", b, file=sys.stderr)
sys.exit(1 if bad else 0)
PY2
kt_log "PASS: consume read-back, --count, --partition/--from, --from end, --follow, errors, masking, produce --lines"
