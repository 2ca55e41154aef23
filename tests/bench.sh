#!/usr/bin/env bash
# make bench: throughput and memory figures (never asserted in tests).
#  1. detector-only: ns/point, points/s, bytes/series for every detector
#  2. vigil replay end to end on 5,000,000 points over 100,000 series
#     (Graphite plaintext, one DES rule per series), single core.
#  3. the gateway: notifications/s and decision-to-request latency to a
#     webhook receiver (tests/bench_gateway.sh).
#  4. Kafka members (tests/bench_kafka.sh), on the embedded broker and on a
#     real Apache Kafka broker (tests/kafka/real-broker.sh).
#  5. the gateway API with 10,000 open alerts (tests/bench_api.sh, wrk).
#  6. the alert chart: one chart drawn as SVG and as PNG (vigil bench chart).
#  7. rule matching: 10,000 rules over 1,000,000 series (vigil bench rules).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
vigil=${VIGIL:-$here/bin/vigil}
work=${BENCH_DIR:-$here/build/bench}
points=${BENCH_POINTS:-5000000}
series=${BENCH_SERIES:-100000}
mkdir -p "$work"
echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "== detectors (pre-parsed points, 1000 series round-robin, one core)"
taskset -c 0 "$vigil" bench detectors --points 5000000 --series 1000
echo "== holtwinters over two weeks of 1-minute points per series (warm-up amortised)"
taskset -c 0 "$vigil" bench detectors --points 20000000 --series 1000 --detector holtwinters
echo "== vigil replay: $points points over $series series (graphite lines, rule: des on every series)"
f="$work/bench-$points-$series.txt"
[ -s "$f" ] || "$vigil" bench gen --points "$points" --series "$series" >"$f"
ls -l "$f" | awk '{printf "input: %.0f MB\n", $5/1e6}'
/usr/bin/time -f "wall=%es maxrss=%MKB" taskset -c 0 "$vigil" replay --rules "$here/tests/bench/rules.yaml" "$f" 2>&1 >/dev/null | tr ' ' '\n' | grep -E '^(points|series|alerts|bytes_per_series|seconds|points_per_s|wall|maxrss)=' | tr '\n' ' '
echo
echo "== the chart window's memory: the same replay without a window (--chart-points 0) and with 300 points"
for cp in 0 300; do
	taskset -c 0 "$vigil" replay --chart-points "$cp" --rules "$here/tests/bench/rules.yaml" "$f" 2>&1 >/dev/null | tr ' ' '\n' | grep -E '^(bytes_per_series|points_per_s)=' | tr '\n' ' '
	echo "chart_points=$cp"
done
echo "== one alert chart (120 and 300 points), SVG and PNG"
taskset -c 0 "$vigil" bench chart --points 120 --count 300
taskset -c 0 "$vigil" bench chart --points 300 --count 200
echo "== rule matching: 10,000 rules, 1,000,000 series (CPU time; vigil bench rules)"
taskset -c 0 "$vigil" bench rules --rules 10000 --series 1000000
echo "== gateway: webhook to a loopback HTTP receiver (tests/bench_gateway.sh)"
VIGIL="$vigil" bash "$here/tests/bench_gateway.sh"
echo "== decoders: points/s per input format, decode only (vigil bench decoders)"
taskset -c 0 "$vigil" bench decoders --records 200000
echo "== remote write end to end into the topic (tests/bench_ingest.sh)"
VIGIL="$vigil" bash "$here/tests/bench_ingest.sh"
echo "== Kafka (tests/bench_kafka.sh)"
VIGIL="$vigil" bash "$here/tests/bench_kafka.sh"
echo "== Kafka on a real Apache Kafka broker (tests/bench_kafka.sh, VIGIL_KAFKA=real; members 1 and 2)"
if out=$(bash "$here/tests/kafka/real-broker.sh" provision 2>/dev/null); then
	VIGIL_KAFKA=real BENCH_KAFKA_MEMBERS=${BENCH_KAFKA_MEMBERS:-1 2} VIGIL="$vigil" bash "$here/tests/bench_kafka.sh"
else
	echo "$out"
fi
echo "== gateway API: 10,000 open alerts (tests/bench_api.sh)"
VIGIL="$vigil" bash "$here/tests/bench_api.sh"
