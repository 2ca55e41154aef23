#!/usr/bin/env bash
# collectd as configured by default, end to end: Debian's collectd
# (collectd-core) with write_kafka and only `Format JSON` publishes to an
# embedded broker (`vigil broker`); the messages read back from the topic
# carry rates (StoreRates' default) labelled "derive". vigil's default
# (collectd.store_rates: true) takes every message; told store_rates false
# it rejects the fractional rates naming the setting. Then a `vigil run`
# member with format auto reads the same topic and dead-letters nothing but
# a stray message that fits no format (with the reason in vigil.error).
source "$(dirname "$0")/fixtures/kafka/lib.sh"
kt_timeout 120
command -v collectd >/dev/null || kt_fail "collectd is not installed (make deps installs collectd-core)"
[ -e /usr/lib/collectd/write_kafka.so ] || kt_fail "collectd's write_kafka plugin is missing"
KT_TOPICS="collectd:1,collectd.state:1,metrics,metrics.state,alerts:3,alerts.state:3,alerts.control:3,metrics.dlq" kt_broker 1

cat >"$KT_DIR/collectd.conf" <<EOT
Interval 1
BaseDir "$KT_DIR"
PIDFile "$KT_DIR/collectd.pid"
PluginDir "/usr/lib/collectd"
TypesDB "/usr/share/collectd/types.db"
LoadPlugin cpu
LoadPlugin interface
LoadPlugin load
LoadPlugin memory
LoadPlugin write_kafka
<Plugin write_kafka>
  Property "metadata.broker.list" "$KT_BOOT"
  <Topic "collectd">
    Format JSON
  </Topic>
</Plugin>
EOT
collectd -f -C "$KT_DIR/collectd.conf" >"$KT_DIR/collectd.out" 2> >(kt_stamp >"$KT_DIR/collectd.log") &
KT_PIDS+=($!)

# wait for a derive value that is a fractional rate (a few seconds of data)
fetched() {
	"$VIGIL" consume -b "$KT_BOOT" -t collectd >"$KT_DIR/topic.jsonl" 2>/dev/null || return 1
	python3 - "$KT_DIR/topic.jsonl" "$KT_DIR/collectd.jsonl" <<'PY'
import sys, json
frac = 0
with open(sys.argv[2], "w") as out:
    for line in open(sys.argv[1]):
        v = json.loads(line)["value"]
        out.write(v + "\n")
        for vl in json.loads(v):
            for x, t in zip(vl["values"], vl["dstypes"]):
                if t == "derive" and isinstance(x, float) and x != int(x):
                    frac += 1
sys.exit(0 if frac >= 3 else 1)
PY
}
kt_wait 60 "collectd write_kafka messages with fractional derive rates" fetched
kt_log "write_kafka: $(wc -l <"$KT_DIR/collectd.jsonl") messages"

# default: store_rates true -- nothing rejected
"$VIGIL" replay --format collectd "$KT_DIR/collectd.jsonl" >/dev/null 2>"$KT_DIR/replay-rates.log" ||
	kt_fail "replay (store_rates true) failed"
grep -q ' rejected=0 ' "$KT_DIR/replay-rates.log" || kt_fail "store_rates true rejected messages: $(grep -m3 rejected "$KT_DIR/replay-rates.log")"
# told raw: the fractional rates are refused, naming the setting
"$VIGIL" replay --format collectd --collectd-store-rates false "$KT_DIR/collectd.jsonl" >/dev/null \
	2>"$KT_DIR/replay-raw.log"
grep -q 'rejected=[1-9]' "$KT_DIR/replay-raw.log" || kt_fail "store_rates false took fractional rates"
grep -q 'collectd.store_rates is false' "$KT_DIR/replay-raw.log" || kt_fail "the rejection does not name the setting"

# a member on the topic (format auto, default store_rates): no dead letters
kt_config m1 "mode: single"
sed -i "s|input: {topics: \[metrics\], format: graphite}|input: {topics: [collectd], format: auto}|; s|state_topic: metrics.state|state_topic: collectd.state|" "$KT_DIR/m1.yaml"
kt_member m1
n=$(wc -l <"$KT_DIR/collectd.jsonl")
read_all() {
	python3 - "$KT_DIR/m1.log" "$n" <<'PY'
import sys, re
last = None
for line in open(sys.argv[1], errors="replace"):
    m = re.search(r"event=stats .*? records=(\d+) .*? poison=(\d+) dead_lettered=(\d+)", line)
    if m:
        last = tuple(map(int, m.groups()))
sys.exit(0 if last and last[0] >= int(sys.argv[2]) else 1)
PY
}
kt_wait 60 "the member to read the $n collectd messages" read_all
last=$(grep 'event=stats ' "$KT_DIR/m1.log" | tail -1)
echo "$last" | grep -q ' poison=0 dead_lettered=0 ' || kt_fail "member dead-lettered collectd messages: $last"
grep -q 'event=rejected' "$KT_DIR/m1.log" && kt_fail "member rejected records: $(grep -m2 'event=rejected' "$KT_DIR/m1.log")"

# a message that fits no format is dead-lettered with the reason
echo "this fits no format" >"$KT_DIR/stray.txt"
"$VIGIL" produce -b "$KT_BOOT" -t collectd --key none "$KT_DIR/stray.txt" 2>>"$KT_DIR/produce.log" || kt_fail "produce stray"
dlq() {
	"$VIGIL" consume -b "$KT_BOOT" -t metrics.dlq >"$KT_DIR/dlq.jsonl" 2>/dev/null &&
		grep -q 'fits none of json, collectd, nabcsv, graphite, influx, telegraf, otlp, prometheus' "$KT_DIR/dlq.jsonl"
}
kt_wait 30 "the stray message in the dead-letter topic with its reason" dlq
[ "$(wc -l <"$KT_DIR/dlq.jsonl")" = 1 ] || kt_fail "dead-letter topic: $(cat "$KT_DIR/dlq.jsonl")"
kt_log "PASS"
