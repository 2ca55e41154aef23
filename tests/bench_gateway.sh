#!/usr/bin/env bash
# make bench, gateway part: notifications through the central gateway to a
# webhook destination and a real HTTP receiver on loopback
# (tests/fixtures/receivers/http_receiver.py). Figures only, never asserted.
#  - throughput: BENCH_GW_OPEN (10,000) firing alerts as fast as possible,
#    leaving that many open episodes; notifications/s until all delivered;
#  - latency: BENCH_GW_COUNT (5,000) more at BENCH_GW_RATE (1,000)/s; the
#    receiver's arrival time minus the decision time each summary carries:
#    p50 / p99 / max.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
vigil=${VIGIL:-$here/bin/vigil}
tmp=$(mktemp -d /tmp/vigil-benchgw.XXXXXX)
RT_DIR=$tmp
RT_PIDS=()
rt_fail() { echo "bench_gateway: $*" >&2; exit 1; }
trap 'for p in "${RT_PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done; rm -rf "$tmp"' EXIT
source "$here/tests/fixtures/receivers/lib.sh"
port=$(rt_free_port)
rt_receiver r "$port"
cat >"$tmp/owners.yaml" <<EOT
owners:
  - name: bench
    destinations:
      - {type: webhook, url: "http://127.0.0.1:$port/hook/bench", timeout: 5s}
EOT
open_n=${BENCH_GW_OPEN:-10000} rate=${BENCH_GW_RATE:-1000} count=${BENCH_GW_COUNT:-5000}
"$vigil" bench gateway --owners "$tmp/owners.yaml" --open "$open_n" --rate "$rate" --count "$count" | tee "$tmp/bench.out"
python3 - "$tmp/r.jsonl" "$open_n" <<'PY'
import sys, json
lat = []
n = 0
for l in open(sys.argv[1]):
    r = json.loads(l)
    n += 1
    a = json.loads(r["body"])["alerts"][0]
    s = a["annotations"].get("summary", "")
    if not s.startswith("decided="):
        continue
    host = int(a["labels"]["series"].split("host=h")[1].rstrip("}"))
    if host < int(sys.argv[2]):
        continue  # the throughput phase
    lat.append((r["time"] - float(s.split("=")[1])) * 1e3)
lat.sort()
if lat:
    p = lambda q: lat[min(len(lat) - 1, int(q * (len(lat) - 1) + 0.5))]
    print("latency decision->request: n=%d p50_ms=%.1f p99_ms=%.1f max_ms=%.1f (requests seen %d)" %
          (len(lat), p(0.5), p(0.99), lat[-1], n))
PY
