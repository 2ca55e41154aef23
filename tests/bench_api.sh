#!/usr/bin/env bash
# make bench, part 5: the gateway API under load. A replay leaves 10,000
# alerts open (100 owners x 100 series, each series jumps at its end and
# keeps firing), then serves them (`replay --serve`); wrk (Debian's wrk)
# measures requests/s for the whole alert list, one owner's list and one
# alert, from 2 threads and 16 connections on loopback. Rate limit off.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
vigil=${VIGIL:-$here/bin/vigil}
work=${BENCH_DIR:-$here/build/bench}/api
secs=${BENCH_API_SECONDS:-10}
mkdir -p "$work"
if ! command -v wrk >/dev/null; then
	if [ "$(id -u)" = 0 ]; then
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk >/dev/null 2>&1 ||
			(apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk >/dev/null)
	else
		echo "SKIP: wrk is not installed (sudo apt-get install -y wrk)"
		exit 0
	fi
fi
python3 - "$work" <<'PY'
import json, os, sys
d = sys.argv[1]
owners, per = 100, 100
with open(os.path.join(d, "rules.yaml"), "w") as f:
    f.write("rules:\n")
    for o in range(owners):
        f.write('  - {name: r%d, series: "svc%d.*", detector: des, params: {training: 10}, '
                'keep_firing_for: 30d, action: notify, owner: team%d}\n' % (o, o, o))
    f.write("owners:\n")
    for o in range(owners):
        f.write('  - {name: team%d, destinations: [{type: file, path: "%s/team%d.jsonl"}]}\n' % (o, d, o))
t0 = 1772323200
with open(os.path.join(d, "points.txt"), "w") as f:
    for i in range(40):
        for o in range(owners):
            for s in range(per):
                v = 100.0 + (i + s) % 3 if i < 35 else 900.0
                f.write("svc%d.s%d %.1f %d\n" % (o, s, v, t0 + 60 * i))
PY
printf 'rules: [%s/rules.yaml]\nhttp: {rate_limit: {rate: 0}}\n' "$work" >"$work/cfg.yaml"
rm -f "$work/port" "$work"/team*.jsonl
"$vigil" replay -c "$work/cfg.yaml" --serve 127.0.0.1:0 --port-file "$work/port" "$work/points.txt" \
	>/dev/null 2>"$work/serve.err" &
pid=$!
trap 'kill $pid 2>/dev/null; wait 2>/dev/null' EXIT
base=
for _ in $(seq 600); do
	if [ -s "$work/port" ]; then
		base=http://127.0.0.1:$(cat "$work/port")
		[ "$(curl -s -o /dev/null -w '%{http_code}' "$base/readyz")" = 200 ] && break
	fi
	sleep 0.1
done
n=$(curl -s "$base/api/v1/alerts" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
ep=$(curl -s "$base/api/v1/alerts?owner=team7" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["episode"])')
echo "open alerts: $n; list body $(curl -s "$base/api/v1/alerts" | wc -c) bytes"
for what in "all:/api/v1/alerts" "one owner (100):/api/v1/alerts?owner=team7" "one alert:/api/v1/alerts/$ep"; do
	printf '%-18s ' "${what%%:*}"
	wrk -t2 -c16 -d"${secs}s" "$base${what#*:}" | awk '/Requests\/sec/ {rps=$2} /Latency/ {lat=$2} /Non-2xx/ {bad=$NF}
		END {printf "%s requests/s, mean latency %s%s\n", rps, lat, bad ? ", NON-2xx " bad : ""}'
done
