#!/usr/bin/env bash
# make demo, part 2: the same demo data through the real engine. An embedded
# development broker (librdkafka's mock cluster, `vigil broker`), the demo
# metrics produced into a 6-partition topic keyed by series, two `vigil run`
# members in one consumer group, and the central `vigil gateway` delivering
# each team's alerts. Prints the pages each team receives.
# VIGIL_KAFKA=real runs it on a real Apache Kafka broker instead
# (tests/kafka/real-broker.sh: Java 17 and Maven, the jars from Maven Central).
set -euo pipefail
cd "$(dirname "$0")/../.."
vigil=${VIGIL:-bin/vigil}
work=$(mktemp -d /tmp/vigil-demo.XXXXXX)
out=data/demo/out-kafka
pids=()
cleanup() {
  local i
  for (( i=${#pids[@]}-1; i>=0; i-- )); do
    kill -TERM "${pids[$i]}" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "${pids[$i]}" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "${pids[$i]}" 2>/dev/null || true
  done
  wait 2>/dev/null || true
  [ "${VIGIL_KAFKA:-embedded}" != real ] || bash tests/kafka/real-broker.sh stop "$work/kafka" || true
  rm -rf "$work"
}
trap cleanup EXIT
wait_for() { # wait_for SECONDS WHAT CMD...
  local end=$(( $(date +%s) + $1 )) what=$2; shift 2
  until "$@"; do
    if [ "$(date +%s)" -ge "$end" ]; then
      echo "demo: timed out waiting for $what" >&2
      for f in "$work"/*.log; do echo "--- $f"; tail -n 5 "$f"; done >&2
      exit 1
    fi
    sleep 0.3
  done
}
stat_sum() { # stat_sum KEY LOGS...: sum of the newest KEY=N of each log
  local key=$1 s=0 v f; shift
  for f in "$@"; do
    v=$(grep -E 'event=(stats|final) ' "$f" 2>/dev/null | tail -n 1 | tr ' ' '\n' | sed -n "s/^$key=//p")
    s=$(( s + ${v:-0} ))
  done
  echo "$s"
}

rm -rf "$out"; mkdir -p "$out"
topics="metrics:6 metrics.state:6 alerts:3 alerts.state:3 alerts.control:3 metrics.dlq:1"
if [ "${VIGIL_KAFKA:-embedded}" = real ]; then
  echo "\$ tests/kafka/real-broker.sh start   # Apache Kafka from Maven Central, topics $topics"
  rb_fail() { echo "demo: $1 (broker log below)" >&2; tail -n 30 "$work/broker.log" >&2; exit 1; }
  bash tests/kafka/real-broker.sh start "$work/kafka" 1 2>"$work/broker.log" || rb_fail "the real broker did not start"
  # shellcheck disable=SC2086
  bash tests/kafka/real-broker.sh admin create "$(cat "$work/kafka/boot")" 1 1 $topics 2>>"$work/broker.log" ||
    rb_fail "creating the topics failed"
  cp "$work/kafka/boot" "$work/boot"
else
  echo "\$ vigil broker --topics ${topics// /,}"
  "$vigil" broker --topics "${topics// /,}" \
    --bootstrap-file "$work/boot" >"$work/broker.out" 2>"$work/broker.log" &
  pids+=($!)
fi
wait_for 20 "the broker" test -s "$work/boot"
boot=$(cat "$work/boot")
sed "s#data/demo/out/#$out/#" data/demo/owners.yaml >"$work/owners.yaml"
cat >"$work/vigil.yaml" <<EOT
kafka:
  bootstrap.servers: "$boot"
  group.id: vigil-demo
  session.timeout.ms: 6000
  heartbeat.interval.ms: 1000
  fetch.wait.max.ms: 10
input: {topics: [metrics], format: auto}
state_topic: metrics.state
alerts_topic: alerts
dead_letter_topic: metrics.dlq
rules: [data/demo/rules]
owners: $work/owners.yaml
checkpoint_interval: 2s
stats_interval: 1s
EOT
echo "\$ vigil gateway -c vigil.yaml & vigil run -c vigil.yaml (x2)"
"$vigil" gateway -c "$work/vigil.yaml" >"$work/gateway.out" 2>"$work/gateway.log" &
pids+=($!)
for m in 1 2; do
  "$vigil" run -c "$work/vigil.yaml" >"$work/member$m.out" 2>"$work/member$m.log" &
  pids+=($!)
done
wait_for 60 "both members to own partitions" \
  bash -c "grep -q 'event=assigned' '$work/member1.log' && grep -q 'event=assigned' '$work/member2.log'"
lines=$(wc -l <data/demo/metrics.log)
echo "\$ vigil produce -t metrics data/demo/metrics.log   # $lines records, keyed by series"
"$vigil" produce --bootstrap-file "$work/boot" -t metrics data/demo/metrics.log 2>"$work/produce.log"
records_done() { [ "$(stat_sum records "$work"/member*.log)" -ge "$lines" ]; }
wait_for 120 "the members to process all $lines records" records_done
published=$(stat_sum alerts_published "$work"/member*.log)
gateway_done() { [ "$(stat_sum gw_received "$work/gateway.log")" -ge "$published" ]; }
wait_for 30 "the gateway to receive $published alert events" gateway_done
echo "members: $(stat_sum records "$work"/member*.log) records, $(stat_sum poison "$work"/member*.log) poison (dead-lettered), $published alert events; gateway: $(stat_sum gw_submitted "$work/gateway.log") submitted, $(stat_sum gw_duplicates "$work/gateway.log") duplicates dropped"
echo
python3 data/demo/pages.py "$out"/*.jsonl
