#!/usr/bin/env bash
# The new file inputs through `vigil replay`: --format prometheus on a real
# exposition (Prometheus 2.42's own /metrics, saved twice as two scrapes with
# timestamps), --format telegraf and --format otlp on producer-shaped lines,
# and --format auto on all of them mixed: the summary counts every point and
# rejects nothing; a line that fits no format is rejected naming the
# formats tried, with file:line.
set -u
V=${VIGIL:?VIGIL must point at the binary}
here=$(cd "$(dirname "$0")" && pwd)
dir=$(mktemp -d /tmp/vigil-e2e-files.XXXXXX)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
summary() { grep -o "$2=[0-9]*" "$1" | head -1 | cut -d= -f2; }

# two scrapes of the real exposition, 15 s apart, with explicit timestamps
python3 - "$here/data/inputs/prometheus_2.42_self_metrics.txt" "$dir/prom.txt" <<'PY'
import sys
lines = open(sys.argv[1]).read().splitlines()
with open(sys.argv[2], "w") as out:
    for ts in (1780000000000, 1780000015000):  # 2026-05-28, in the past (max_future)
        for l in lines:
            out.write(l + ("" if l.startswith("#") or not l.strip() else " %d" % ts) + "\n")
# the expected count, from the exposition's own TYPE lines: gauges, untyped
# and summary quantiles in both scrapes, counters and _count/_sum only in
# the second (a rate needs two), buckets and NaN never
types = {}
want = 0
for l in lines:
    if l.startswith("# TYPE "):
        _, _, n, t = l.split()
        types[n] = t
        continue
    if l.startswith("#") or not l.strip():
        continue
    name = l.split("{")[0].split(" ")[0]
    if l.split(" ")[-1] in ("NaN", "+Inf", "-Inf"):
        continue
    kind = "plain"
    if name in types:
        kind = "rate" if types[name] == "counter" else "plain"
    else:
        for sfx in ("_total", "_count", "_sum", "_bucket", "_created"):
            if name.endswith(sfx) and name[: -len(sfx)] in types:
                t = types[name[: -len(sfx)]]
                if sfx == "_created" or (sfx == "_bucket" and t in ("histogram", "summary")):
                    kind = "skip"
                elif t == "counter":
                    kind = "rate" if sfx == "_total" else "plain"
                elif t in ("histogram", "summary"):
                    kind = "rate"
                break
    want += {"plain": 2, "rate": 1, "skip": 0}[kind]
open(sys.argv[2] + ".want", "w").write(str(want))
PY
$V replay --format prometheus "$dir/prom.txt" >/dev/null 2>"$dir/prom.log" || fail "replay prometheus: $(tail -3 "$dir/prom.log")"
[ "$(summary "$dir/prom.log" rejected)" = 0 ] || fail "prometheus lines rejected: $(grep -m3 rejected "$dir/prom.log")"
pts=$(summary "$dir/prom.log" points)
[ "$pts" = "$(cat "$dir/prom.txt.want")" ] || fail "prometheus: $pts points, want $(cat "$dir/prom.txt.want")"
echo "ok   prometheus: $pts points from two real scrapes, none rejected"

cat >"$dir/tg.jsonl" <<'EOT'
{"fields":{"usage_idle":97.5,"usage_user":2},"name":"cpu","tags":{"cpu":"cpu0","host":"h"},"timestamp":1700000000}
{"metrics":[{"fields":{"free":5,"state":"ok"},"name":"mem","tags":{"host":"h"},"timestamp":1700000010}]}
EOT
$V replay --format telegraf "$dir/tg.jsonl" >/dev/null 2>"$dir/tg.log" || fail "replay telegraf"
[ "$(summary "$dir/tg.log" points)" = 3 ] && [ "$(summary "$dir/tg.log" rejected)" = 0 ] ||
	fail "telegraf: $(tail -1 "$dir/tg.log")"
echo "ok   telegraf: 3 points"

cat >"$dir/otlp.jsonl" <<'EOT'
{"resourceMetrics":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"api"}}]},"scopeMetrics":[{"scope":{"name":"s"},"metrics":[{"name":"q","gauge":{"dataPoints":[{"timeUnixNano":"1700000000000000000","asDouble":1.5}]}},{"name":"lat","histogram":{"aggregationTemporality":1,"dataPoints":[{"timeUnixNano":"1700000000000000000","count":"4","sum":6,"bucketCounts":["1","3"],"explicitBounds":[2]}]}}]}]}]}
EOT
$V replay --format otlp "$dir/otlp.jsonl" >/dev/null 2>"$dir/otlp.log" || fail "replay otlp"
[ "$(summary "$dir/otlp.log" points)" = 6 ] && [ "$(summary "$dir/otlp.log" rejected)" = 0 ] ||
	fail "otlp: $(tail -1 "$dir/otlp.log")"
echo "ok   otlp: 6 points (gauge, histogram count/sum/p50/p90/p99)"

# auto: all of them in one file, plus a line that fits nothing
{ cat "$dir/tg.jsonl" "$dir/otlp.jsonl"; echo '# TYPE hits counter'; echo 'hits_total{a="1"} 5 1700000000000';
  echo 'hits_total{a="1"} 25 1700000010000'; echo 'this fits nothing'; } >"$dir/mixed.txt"
$V replay "$dir/mixed.txt" >/dev/null 2>"$dir/mixed.log" || fail "replay auto"
[ "$(summary "$dir/mixed.log" points)" = 10 ] || fail "auto: $(tail -1 "$dir/mixed.log")"
[ "$(summary "$dir/mixed.log" rejected)" = 1 ] || fail "auto: want 1 rejected: $(tail -1 "$dir/mixed.log")"
grep -q "mixed.txt:7: column 1: unrecognised record format (fits none of json, collectd, nabcsv, graphite, influx, telegraf, otlp, prometheus)" "$dir/mixed.log" ||
	fail "auto rejection: $(grep -m1 rejected "$dir/mixed.log")"
echo "ok   auto: 10 points from telegraf, otlp and prometheus lines; the stray line rejected naming the formats"
echo "e2e_ingest_files: 0 failed"
