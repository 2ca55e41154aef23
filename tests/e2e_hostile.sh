#!/usr/bin/env bash
# The hostile-input table of RELIABILITY.md (issue 16), end to end through
# `vigil replay` on the demo data, each row compared with a clean reference
# run: the hostile part is refused with its position and counted, and every
# notification of the clean run is still sent, unchanged.
#   1. 2 MB lines (JSON and Influx), a 64 MB line without a newline, a line
#      of exactly 1 MiB (the longest record; taken), 100,000-deep JSON
#      nesting, invalid UTF-8 in a series name, a tag key and a tag value:
#      one `event=rejected where=FILE:LINE: column N: ...` each, rejected=
#      counts them, the demo's notifications are unchanged.
#   2. 10 MB of random bytes (fixed seed) replayed before the demo data.
#   3. a cardinality bomb from one owner: 20,000 new payments series against
#      its max_series: payments gets one vigil-series-limit meta-alert, the
#      other owners' notifications are unchanged, and payments' own are too.
#   4. YAML alias bomb and 100,000-deep nesting in the rules, owners and
#      config files: refused at file:line:column within a second each.
#   5. destinations.allow_hosts: an owners file naming a host not on the
#      list is refused at load (by replay and by rules check -c); a listed
#      receiver answering 307 to an unlisted host is never followed (the
#      second receiver sees nothing).
# $VIGIL is the binary under test.
set -uo pipefail
VIGIL=${VIGIL:-bin/vigil}
cd "$(dirname "$0")/.." || exit 1
tmp=$(mktemp -d /tmp/vigil-hostile.XXXXXX)
RT_DIR=$tmp
RT_PIDS=()
cleanup() {
	for p in "${RT_PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
	if [ "${keep:-0}" = 1 ]; then echo "kept $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
fails=0
fail() { echo "FAIL $*"; fails=$((fails + 1)); keep=1; }
rt_fail() { fail "$@"; }
source tests/fixtures/receivers/lib.sh
DATA=data/demo/metrics.log
RULES=data/demo/rules

# owners with file destinations under DIR; extra lines for payments (e.g. max_series)
owners() {
	local dir=$1 extra=${2:-}
	mkdir -p "$dir"
	sed "s|data/demo/out/|$dir/|" data/demo/owners.yaml >"$dir/owners.yaml"
	if [ -n "$extra" ]; then
		python3 - "$dir/owners.yaml" "$extra" <<'PY'
import sys
p, extra = sys.argv[1], sys.argv[2]
s = open(p).read().replace("  - name: payments\n", "  - name: payments\n    " + extra + "\n", 1)
open(p, "w").write(s)
PY
	fi
}
# notifications of DIR as sorted "team status rule series startsAt" lines
notes() {
	for t in payments search storage; do
		[ -f "$1/$t.jsonl" ] || continue
		python3 -c 'import sys, json
for l in open(sys.argv[1]):
    r = json.loads(l); print(sys.argv[2], r["status"], r["rule"], r.get("series", ""), r.get("startsAt", ""))' "$1/$t.jsonl" "$t"
	done | sort
}
summary() { sed -n 's/.*vigil replay: lines=/lines=/p' "$1" | tail -1 | tr ' ' '\n' | sed -n "s/^$2=//p"; }

echo "== reference: the demo data, clean"
owners "$tmp/ref"
/usr/bin/time -f "%M" -o "$tmp/ref.rss" "$VIGIL" replay --rules "$RULES" --owners "$tmp/ref/owners.yaml" "$DATA" >/dev/null 2>"$tmp/ref.err" ||
	fail "reference replay: $(tail -3 "$tmp/ref.err")"
notes "$tmp/ref" >"$tmp/ref.txt"
nref=$(wc -l <"$tmp/ref.txt")
[ "$nref" -ge 6 ] || fail "reference has only $nref notifications"
ref_rej=$(summary "$tmp/ref.err" rejected)
ref_pts=$(summary "$tmp/ref.err" points)
echo "reference: $nref notifications, rejected=$ref_rej points=$ref_pts"

echo "== 1. long lines, deep nesting, invalid UTF-8 in the data"
python3 - "$DATA" "$tmp/mixed.log" "$tmp/bad.txt" <<'PY'
import sys
src, dst, badf = sys.argv[1:4]
MB = 1 << 20
# the longest record taken: exactly 1 MiB of JSON (a long tag value)
head = b'{"series": "hostile.exact", "ts": 1772323200, "value": 1, "pad": "'
tail = b'"}'
exact = head + b"p" * (MB - len(head) - len(tail)) + tail
assert len(exact) == MB
bad = [
    ("json 2 MB", b'{"series": "api.latency_ms", "tags": {"app": "checkout", "x": "' + b"y" * (2 * MB) + b'"}, "ts": 1772323260, "value": 1}'),
    ("influx 2 MB", b"api,app=checkout,region=" + b"r" * (2 * MB) + b" requests=1 1772323260000000000"),
    ("json 100k deep", b"[" * 100000 + b"]" * 100000),
    ("json deep object", b'{"series": "a", "tags": ' + b'{"a": ' * 100000 + b"1" + b"}" * 100000 + b"}"),
    ("name \\xff", b'{"series": "api.latency_\xff", "tags": {"app": "checkout"}, "ts": 1772323260, "value": 1}'),
    ("influx name overlong", b"api\xc0\xaf,app=checkout requests=1 1772323260000000000"),
    ("tag key surrogate", b'{"series": "api.latency_ms", "tags": {"\xed\xa0\x80": "checkout"}, "ts": 1772323260, "value": 1}'),
    ("influx tag value", b"api,app=check\xe2\x82out requests=1 1772323260000000000"),
    ("graphite truncated", b"db.disk_used_pct;host=db1\xf0\x9f 5 1772323260"),
]
lines = open(src, "rb").read().split(b"\n")
if lines[-1] == b"":
    lines.pop()
out, where = [], []
step = len(lines) // (len(bad) + 2)
for i, l in enumerate(lines):
    out.append(l)
    k = i // step
    if i % step == step - 1 and k < len(bad):
        out.append(bad[k][1])
        where.append((len(out), bad[k][0]))
        if k == 0:
            out.append(exact)
with open(dst, "wb") as f:
    f.write(b"\n".join(out) + b"\n")
    # a 64 MB last line without a newline
    f.write(b"z" * (64 * MB))
where.append((len(out) + 1, "64 MB, no newline"))
with open(badf, "w") as f:
    for n, what in where:
        f.write("%d %s\n" % (n, what))
PY
owners "$tmp/r1"
/usr/bin/time -f "%M" -o "$tmp/r1.rss" "$VIGIL" replay --rules "$RULES" --owners "$tmp/r1/owners.yaml" \
	"$tmp/mixed.log" >/dev/null 2>"$tmp/r1.err"
rc=$?
[ $rc = 0 ] || fail "replay of the mixed file: exit $rc: $(tail -3 "$tmp/r1.err")"
notes "$tmp/r1" >"$tmp/r1.txt"
diff "$tmp/ref.txt" "$tmp/r1.txt" >&2 || fail "notifications differ from the clean run"
nbad=$(wc -l <"$tmp/bad.txt")
while read -r n what; do
	grep -qE "event=rejected where=$tmp/mixed.log:$n: column [0-9]+: " "$tmp/r1.err" ||
		fail "$what (line $n): no event=rejected with file:line: column"
done <"$tmp/bad.txt"
rej=$(summary "$tmp/r1.err" rejected)
[ "$rej" = $((nbad + ref_rej)) ] || fail "rejected=$rej, want $nbad + the demo's $ref_rej"
pts=$(summary "$tmp/r1.err" points)
[ "$pts" = $((ref_pts + 1)) ] || fail "points=$pts, want the demo's $ref_pts + the 1 MiB record"
grep -q "where=$tmp/mixed.log:[0-9]*: column 1048577: line of 67108864 bytes, longer than a record may be" "$tmp/r1.err" ||
	fail "the 64 MB line: no length in its error"
grep -q 'maximum parsing depth' "$tmp/r1.err" || fail "the deep JSON: no depth error"
grep -c 'invalid UTF-8' "$tmp/r1.err" | grep -qx 5 || fail "want 5 invalid UTF-8 rejections"
rss=$(cat "$tmp/r1.rss")
ref_rss=$(cat "$tmp/ref.rss")
# the line is never held: within 40 MB of the clean run (getline() held all 64 MB)
[ "$rss" -lt $((ref_rss + 40000)) ] || fail "RSS $rss KB reading a 64 MB line, $ref_rss KB without it"
echo "rejected=$rej ($nbad hostile lines + $ref_rej in the demo data), points=$pts, notifications unchanged, max RSS ${rss} KB (clean run ${ref_rss} KB)"

echo "== 2. 10 MB of random bytes"
python3 -c 'import random, sys
r = random.Random(16); sys.stdout.buffer.write(bytes(r.getrandbits(8) for _ in range(10 << 20)))' >"$tmp/random.bin"
owners "$tmp/r2"
"$VIGIL" replay --rules "$RULES" --owners "$tmp/r2/owners.yaml" "$tmp/random.bin" "$DATA" >/dev/null 2>"$tmp/r2.err"
rc=$?
[ $rc = 0 ] || fail "replay of random bytes then the data: exit $rc: $(tail -3 "$tmp/r2.err")"
notes "$tmp/r2" >"$tmp/r2.txt"
diff "$tmp/ref.txt" "$tmp/r2.txt" >&2 || fail "notifications differ after 10 MB of random bytes"
rej=$(summary "$tmp/r2.err" rejected)
lines=$(summary "$tmp/r2.err" lines)
[ -n "$rej" ] && [ "$rej" -gt 30000 ] || fail "rejected=$rej for 10 MB of random bytes"
[ "$(summary "$tmp/r2.err" points)" = "$ref_pts" ] || fail "points=$(summary "$tmp/r2.err" points), want $ref_pts: random bytes decoded as points"
grep -qE "event=rejected where=$tmp/random.bin:[0-9]+: column [0-9]+: " "$tmp/r2.err" || fail "no file:line: column for random bytes"
echo "random: lines=$lines rejected=$rej, notifications unchanged"

echo "== 3. a cardinality bomb from one owner"
python3 - "$DATA" "$tmp/bomb.log" <<'PY'
import sys, json
lines = open(sys.argv[1]).read().splitlines()
out = []
# after the first 200 lines (every demo series seen), 20,000 new payments
# series (api.latency_ms{app=checkout, region=bombN}) at the same times
for i, l in enumerate(lines):
    out.append(l)
    if i == 200:
        ts = json.loads(lines[0])["ts"]
        for n in range(20000):
            out.append(json.dumps({"series": "api.latency_ms", "tags": {"app": "checkout", "region": "bomb%d" % n}, "ts": ts + 60, "value": 100}))
open(sys.argv[2], "w").write("\n".join(out) + "\n")
PY
owners "$tmp/r3" "max_series: 100"
"$VIGIL" replay --rules "$RULES" --owners "$tmp/r3/owners.yaml" "$tmp/bomb.log" >/dev/null 2>"$tmp/r3.err"
rc=$?
[ $rc = 0 ] || fail "replay of the bomb: exit $rc: $(tail -3 "$tmp/r3.err")"
notes "$tmp/r3" | grep -v ' vigil-series-limit ' >"$tmp/r3.txt"
diff "$tmp/ref.txt" "$tmp/r3.txt" >&2 || fail "notifications other than the meta-alert differ under the bomb"
meta=$(cat "$tmp/r3/payments.jsonl" | grep -c '"vigil-series-limit"')
[ "$meta" -ge 1 ] || fail "payments got no vigil-series-limit meta-alert"
cat "$tmp/r3/search.jsonl" "$tmp/r3/storage.jsonl" | grep -q 'vigil-series-limit' && fail "another owner got the meta-alert"
refused=$(summary "$tmp/r3.err" series_refused)
[ -n "$refused" ] && [ "$refused" -gt 19000 ] || fail "series_refused=$refused"
grep -q 'series limit 100 reached for owner payments' "$tmp/r3/payments.jsonl" || fail "meta-alert summary"
# counted per owner: one point per bomb series, so series ~ points (the
# series count is estimated, 1 % allowed); no other owner refused
grep -q 'refused owner=search\|refused owner=storage' "$tmp/r3.err" && fail "another owner counted as refused"
python3 - "$tmp/r3.err" <<'PY' || fail "per-owner refusal line: $(grep 'refused owner=' "$tmp/r3.err")"
import re, sys
m = re.search(r"refused owner=payments series=(\d+) points=(\d+)", open(sys.argv[1]).read())
assert m, "no line"
n, p = int(m.group(1)), int(m.group(2))
assert p > 19000 and abs(n - p) <= p // 100, (n, p)
print("bomb: refused owner=payments series=%d points=%d" % (n, p))
PY
echo "bomb: series_refused=$refused, payments meta-alerts=$meta, other notifications unchanged"

echo "== 4. YAML alias bombs and deep nesting in rules, owners and config"
python3 - "$tmp" <<'PY'
import sys
d = sys.argv[1]
def laughs(key):  # the billion laughs, in a list under key: 10^9 nodes as a tree
    t = key + ":\n  - &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
    for i in range(1, 9):
        p, c = chr(ord("a") + i - 1), chr(ord("a") + i)
        t += "  - &%s [%s]\n" % (c, ", ".join(["*" + p] * 9))
    return t
open(d + "/laughs-rules.yaml", "w").write(laughs("rules"))
open(d + "/laughs-owners.yaml", "w").write(laughs("owners"))
open(d + "/laughs-config.yaml", "w").write(laughs("rules"))
# one real rule aliased 200,000 times (1.4 MB)
r = "rules:\n  - &r\n    name: r\n    series: api.latency_ms\n    detector: des\n    owner: payments\n"
r += "    labels: {a: '1', b: '2', c: '3', d: '4', e: '5', f: '6', g: '7', h: '8'}\n"
open(d + "/aliased-rules.yaml", "w").write(r + "  - *r\n" * 200000)
deep = "[" * 100000 + "]" * 100000
open(d + "/deep-rules.yaml", "w").write("rules: " + deep + "\n")
open(d + "/deep-owners.yaml", "w").write("owners: " + deep + "\n")
open(d + "/deep-config.yaml", "w").write("rules: " + deep + "\n")
open(d + "/cycle-rules.yaml", "w").write("rules: &r [*r]\n")
open(d + "/cycle-owners.yaml", "w").write("owners: &o [{name: a, destinations: *o}]\n")
PY
yamlcheck() { # NAME WANT COMMAND...
	local name=$1 want=$2
	shift 2
	local t0=$(date +%s%N)
	timeout 20 "$@" >"$tmp/$name.out" 2>&1
	local rc=$? ms=$((($(date +%s%N) - t0) / 1000000))
	[ $rc = 1 ] || [ $rc = 2 ] || fail "$name: exit $rc after $ms ms (1 or 2 wanted)"
	grep -qF "$want" "$tmp/$name.out" || fail "$name: want '$want', got: $(head -c 300 "$tmp/$name.out")"
	[ $ms -lt 5000 ] || fail "$name: $ms ms"
	echo "$name: $(head -c 160 "$tmp/$name.out" | head -1) ($ms ms)"
}
yamlcheck aliased-rules "aliased-rules.yaml:2:3: aliases expand this node" "$VIGIL" rules check "$tmp/aliased-rules.yaml"
yamlcheck laughs-rules "laughs-rules.yaml:8:5: aliases expand this node" "$VIGIL" rules check "$tmp/laughs-rules.yaml"
yamlcheck laughs-owners "laughs-owners.yaml:8:5: aliases expand this node" "$VIGIL" rules check --owners "$tmp/laughs-owners.yaml" "$RULES"
yamlcheck laughs-config "laughs-config.yaml:8:5: aliases expand this node" "$VIGIL" replay -c "$tmp/laughs-config.yaml" "$DATA"
yamlcheck deep-rules "deep-rules.yaml:1:71: nested more than 64 levels deep" "$VIGIL" rules check "$tmp/deep-rules.yaml"
yamlcheck deep-owners "deep-owners.yaml:1:72: nested more than 64 levels deep" "$VIGIL" rules check --owners "$tmp/deep-owners.yaml" "$RULES"
yamlcheck deep-config "deep-config.yaml:1:71: nested more than 64 levels deep" "$VIGIL" replay -c "$tmp/deep-config.yaml" "$DATA"
yamlcheck cycle-rules "cycle-rules.yaml:1:8: an alias here refers to a node that contains it" "$VIGIL" rules check "$tmp/cycle-rules.yaml"
yamlcheck cycle-owners "cycle-owners.yaml:1:13: an alias here refers to a node that contains it" "$VIGIL" rules check --owners "$tmp/cycle-owners.yaml" "$RULES"

echo "== 5. destinations.allow_hosts against real receivers"
pa=$(rt_free_port)
pb=$(rt_free_port)
rt_receiver other "$pb"
rt_receiver listed "$pa" --rule "/hook/payments=307:http://localhost:$pb/stolen"
cat >"$tmp/allow.yaml" <<EOT
destinations:
  allow_hosts: [127.0.0.1, "*.example.com"]
EOT
webhook_owners() { # FILE URL
	cat >"$1" <<EOT
owners:
  - name: payments
    namespaces:
      - {series: "api.*", match: {app: checkout}}
    destinations:
      - {type: webhook, url: "$2", timeout: 2s, max_attempts: 1}
EOT
}
webhook_owners "$tmp/o-bad.yaml" "http://localhost:$pb/hook/payments"
"$VIGIL" replay -c "$tmp/allow.yaml" --rules "$RULES/payments" --owners "$tmp/o-bad.yaml" "$DATA" >"$tmp/r5a.out" 2>&1
rc=$?
[ $rc != 0 ] || fail "an owners file naming localhost was accepted"
grep -qF "$tmp/o-bad.yaml:6:9: payments: $tmp/o-bad.yaml:6:25: webhook destination: url: host 'localhost' is not in destinations.allow_hosts ($tmp/allow.yaml:2:16)" "$tmp/r5a.out" ||
	fail "load error: $(cat "$tmp/r5a.out")"
# rules check applies the same allow-list when given the config
"$VIGIL" rules check -c "$tmp/allow.yaml" --owners "$tmp/o-bad.yaml" "$RULES/payments" >"$tmp/r5k.out" 2>&1 &&
	fail "rules check -c accepted an owners file naming localhost"
grep -qF "$tmp/o-bad.yaml:6:9: payments: $tmp/o-bad.yaml:6:25: webhook destination: url: host 'localhost' is not in destinations.allow_hosts ($tmp/allow.yaml:2:16)" "$tmp/r5k.out" ||
	fail "rules check -c: $(cat "$tmp/r5k.out")"
webhook_owners "$tmp/o-ui.yaml" "http://127.0.0.1@localhost:$pb/hook/payments"
"$VIGIL" replay -c "$tmp/allow.yaml" --rules "$RULES/payments" --owners "$tmp/o-ui.yaml" "$DATA" >"$tmp/r5b.out" 2>&1 &&
	fail "a URL with a listed host as userinfo was accepted"
grep -qF "host 'localhost' is not in" "$tmp/r5b.out" || fail "userinfo: $(cat "$tmp/r5b.out")"
webhook_owners "$tmp/o-ok.yaml" "http://127.0.0.1:$pa/hook/payments"
"$VIGIL" replay -c "$tmp/allow.yaml" --rules "$RULES/payments" --owners "$tmp/o-ok.yaml" "$DATA" >/dev/null 2>"$tmp/r5c.err" ||
	fail "replay to the listed receiver: $(tail -3 "$tmp/r5c.err")"
na=$(wc -l <"$tmp/listed.jsonl")
nb=$(wc -l <"$tmp/other.jsonl")
[ "$na" -ge 1 ] || fail "the listed receiver got no request"
[ "$nb" = 0 ] || fail "the unlisted receiver got $nb requests"
grep -q 'redirects are not followed' "$tmp/r5c.err" || fail "no 'redirects are not followed' in the delivery error"
"$VIGIL" rules check -c "$tmp/allow.yaml" --owners "$tmp/o-ok.yaml" "$RULES/payments" >"$tmp/r5l.out" 2>&1 ||
	fail "rules check -c refused a listed host: $(cat "$tmp/r5l.out")"
echo "allow_hosts: listed receiver $na requests (answered 307), unlisted $nb"

echo "e2e_hostile: $fails failed"
[ $fails = 0 ]
