#!/usr/bin/env bash
# make bench: throughput and memory figures (never asserted in tests).
#  1. detector-only: ns/point, points/s, bytes/series for every detector
#  2. vigil replay end to end on 5,000,000 points over 100,000 series
#     (Graphite plaintext, one DES rule per series), single core.
#  3. the gateway: notifications/s and decision-to-request latency to a
#     webhook receiver (tests/bench_gateway.sh).
#  4. Kafka members (tests/bench_kafka.sh), on the embedded broker and on a
#     real Apache Kafka broker (tests/kafka/real-broker.sh).
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
echo "== gateway: webhook to a loopback HTTP receiver (tests/bench_gateway.sh)"
VIGIL="$vigil" bash "$here/tests/bench_gateway.sh"
echo "== Kafka (tests/bench_kafka.sh)"
VIGIL="$vigil" bash "$here/tests/bench_kafka.sh"
echo "== Kafka on a real Apache Kafka broker (tests/bench_kafka.sh, VIGIL_KAFKA=real; members 1 and 2)"
if out=$(bash "$here/tests/kafka/real-broker.sh" provision 2>/dev/null); then
	VIGIL_KAFKA=real BENCH_KAFKA_MEMBERS=${BENCH_KAFKA_MEMBERS:-1 2} VIGIL="$vigil" bash "$here/tests/bench_kafka.sh"
else
	echo "$out"
fi
