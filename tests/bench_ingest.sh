#!/usr/bin/env bash
# make bench: remote write end to end. `vigil bench rw` posts remote write
# 1.0 requests (500 series each, Prometheus's max_samples_per_send) over 2
# connections to `vigil ingest`, which produces every sample to an embedded
# broker (`vigil broker`, 4 partitions) and answers 204 after the broker's
# acknowledgement; then every sample is counted back from the topic.
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
vigil=${VIGIL:-$here/bin/vigil}
dir=$(mktemp -d /tmp/vigil-bench-ingest.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
requests=${RW_REQUESTS:-400}
series=500
"$vigil" broker --partitions 4 --topics metrics --bootstrap-file "$dir/boot" >/dev/null 2>"$dir/broker.log" &
pids+=($!)
for _ in $(seq 100); do [ -s "$dir/boot" ] && break; sleep 0.1; done
"$vigil" ingest --bootstrap-file "$dir/boot" -t metrics --listen 127.0.0.1:0 --port-file "$dir/port" 2>"$dir/ingest.log" &
pids+=($!)
for _ in $(seq 100); do [ -s "$dir/port" ] && break; sleep 0.1; done
"$vigil" bench rw --url "http://127.0.0.1:$(cat "$dir/port")/api/v1/write" --requests "$requests" --series "$series" --conns 2
# the mock broker keeps a few MiB per partition: count by high watermark
# (the last offset read + 1 in each partition)
n=$("$vigil" consume --bootstrap-file "$dir/boot" -t metrics 2>/dev/null | python3 -c '
import sys, json
hi = {}
for l in sys.stdin:
    r = json.loads(l); hi[r["partition"]] = max(hi.get(r["partition"], -1), r["offset"])
print(sum(v + 1 for v in hi.values()))')
echo "messages in the topic: $n (want $((requests * series)))"
[ "$n" -eq $((requests * series)) ]
