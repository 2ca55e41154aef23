#!/usr/bin/env bash
# make bench, Kafka part: vigil end to end through the embedded broker
# (`vigil broker`, librdkafka's mock cluster, on loopback), or with
# VIGIL_KAFKA=real through a real Apache Kafka broker (tests/kafka/,
# one KRaft broker on loopback, 512 MiB heap). Never asserted in tests;
# figures go to BENCHMARKS.md by hand.
#
#  1. throughput: POINTS points (Graphite, `vigil bench gen`, SERIES series,
#     one DES rule per series) are produced into the input topic first, then
#     1, 2 or 3 members start together and drain it. Rate = points /
#     (last processed batch - first processed batch) over all members, from
#     their `event=final` lines (points, first_record_at, last_record_at).
#     Two layouts: one point per Kafka message, and up to 100 points of one
#     partition per message (`vigil produce --lines 100`).
#     Then one member, one point per message, input keyed by series against
#     the same points produced with no key (`input: {keyed_by: none}`: the
#     member routes every point through metrics.by-series before its engine;
#     BENCH_KAFKA_REPART=0 skips this part).
#  2. latency: a member and the central gateway (two processes, the
#     production shape) while `vigil produce` sends spiky series at a steady
#     rate with the default producer settings; the gateway reports the
#     produce-to-delivery latency of every alert (input record's Kafka
#     CreateTime -> alert handed to its destination): p50/p99/max.
#
# The development broker keeps at most 5 MiB per partition (oldest batches
# dropped): 2,000,000 one-point messages over 48 partitions stay below it; a
# run that loses data never reaches its point count and fails after 300 s.
# env: BENCH_KAFKA_POINTS (2000000), BENCH_KAFKA_SERIES (10000),
#      BENCH_KAFKA_PARTITIONS (48), BENCH_KAFKA_RATE (20000 points/s),
#      BENCH_KAFKA_SECONDS (20), BENCH_KAFKA_MEMBERS ("1 2 3"),
#      BENCH_CKPT (member checkpoint_interval, 5s; with exactly_once the
#      transaction interval), BENCH_MEMBER_ARGS (e.g. -v),
#      BENCH_KAFKA_PROCESSING (at_least_once, the default, or exactly_once:
#      the members' `processing:`; exactly_once needs VIGIL_KAFKA=real, and
#      gives every member and the gateway a group.instance.id),
#      BENCH_KAFKA_ONLY ("throughput latency", or one of them),
#      BENCH_KAFKA_REPART (1; 0 skips keyed_by none), BENCH_KAFKA_LATENCY (1; 0 skips the latency part),
#      BENCH_KAFKA_HANDOVER (1; 0 skips the join/rebalance/restore part).
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/tests/fixtures/kafka/lib.sh"
points=${BENCH_KAFKA_POINTS:-2000000}
series=${BENCH_KAFKA_SERIES:-10000}
nparts=${BENCH_KAFKA_PARTITIONS:-48}
rate=${BENCH_KAFKA_RATE:-20000}
secs=${BENCH_KAFKA_SECONDS:-20}
members=${BENCH_KAFKA_MEMBERS-1 2 3} # "" skips the drain table
processing=${BENCH_KAFKA_PROCESSING:-at_least_once}
instance= # exactly_once needs a stable id per member (transactional.id)
[ "$processing" = at_least_once ] || instance=1
case "$processing" in
at_least_once) ;;
exactly_once) [ "$KT_MODE" = real ] || kt_fail "BENCH_KAFKA_PROCESSING=exactly_once needs VIGIL_KAFKA=real (the embedded broker has no transactions)" ;;
*) kt_fail "BENCH_KAFKA_PROCESSING=$processing: want at_least_once or exactly_once" ;;
esac

"$VIGIL" bench gen --points "$points" --series "$series" >"$KT_DIR/in.txt" || kt_fail "bench gen"
cat >"$KT_DIR/rules.yaml" <<EOT
rules:
  - name: bench-des
    series: "svc.*"
    detector: des
    action: log
    owner: bench
  - name: kt-spike
    series: "kt.load"
    detector: des
    params: {training: 10, alpha: 0.1, beta: 0.02, max_percent: 0.5, noise: 20}
    direction: up
    for: 1
    keep_firing_for: 0
    action: page
    owner: bench
owners:
  - name: bench
    destinations:
      - type: file
        path: $KT_DIR/alerts.jsonl
EOT

# bench_config NAME GROUP [KEYED_BY]: a member/gateway config on the current broker.
bench_config() {
	cat >"$KT_DIR/$1.yaml" <<EOT
kafka:
  bootstrap.servers: "$KT_BOOT"
  group.id: $2${instance:+
  group.instance.id: $1}
input: {topics: [metrics], format: graphite, keyed_by: ${3:-series}}
state_topic: metrics.state
alerts_topic: alerts
rules: [$KT_DIR/rules.yaml]
checkpoint_interval: ${BENCH_CKPT:-5s}
stats_interval: 0.5s${instance:+
processing: $processing}
EOT
}

# final_sum NAMES...: total points and the window over the members' final lines.
final_sum() {
	python3 - "$@" <<'PY'
import re, sys
pts, first, last = 0, None, None
for path in sys.argv[1:]:
    lines = [l for l in open(path, errors="replace") if "event=final " in l]  # not event=final_rules
    if not lines:
        sys.exit("no final line in %s" % path)
    d = dict(re.findall(r"(\w+)=(\S+)", lines[-1]))
    pts += int(d["points"])
    f, l = float(d["first_record_at"]), float(d["last_record_at"])
    if f > 0:
        first = f if first is None else min(first, f)
        last = l if last is None else max(last, l)
if not first or last <= first:
    sys.exit("no processing window")
print("points=%d seconds=%.3f points_per_s=%.0f" % (pts, last - first, pts / (last - first)))
PY
}

# points_of NAME: the newest points= of a member's stats.
points_of() { kt_stat "$1" points; }
all_done() {
	local total=0 n
	for m in "$@"; do n=$(points_of "$m"); total=$((total + ${n:-0})); done
	[ "$total" -ge "$points" ]
}

throughput() { # throughput NMEMBERS LINES_PER_MESSAGE [KEYED_BY]
	local nm=$1 lines=$2 keyed=${3:-series} names=() logs=() key=series
	if [ "$keyed" = none ]; then
		KT_TOPICS="metrics,metrics.state,metrics.by-series,alerts:3,alerts.state:3,alerts.control:3,metrics.dlq" kt_broker "$nparts"
		key=none # and no sticky partitioning: every message on a random partition
	else
		kt_broker "$nparts"
	fi
	"$VIGIL" produce -b "$KT_BOOT" -t metrics --format graphite --lines "$lines" --key "$key" \
		--set linger.ms=100 --set batch.num.messages=100000 \
		$( [ "$keyed" = none ] && echo --set sticky.partitioning.linger.ms=0 ) "$KT_DIR/in.txt" 2>"$KT_DIR/produce.log" ||
		kt_fail "produce"
	for i in $(seq "$nm"); do
		bench_config "m$i" "bench-$nm-$lines-$keyed" "$keyed"
		names+=("m$i")
		logs+=("$KT_DIR/m$i.log")
	done
	for m in "${names[@]}"; do kt_member "$m"; done
	kt_wait 300 "all points processed" all_done "${names[@]}"
	local pids=()
	for m in "${names[@]}"; do eval "pids+=(\$KT_PID_$m)"; done
	kt_stop "${pids[@]}"
	sleep 0.3
	local shares="" ooo=0
	for m in "${names[@]}"; do shares="$shares $(points_of "$m")"; ooo=$((ooo + $(kt_stat "$m" out_of_order))); done
	echo "members=$nm points_per_message=$lines keyed_by=$keyed partitions=$nparts $(final_sum "${logs[@]}") per_member=[${shares# }] out_of_order=$ooo"
	kt_broker_stop
	rm -f "$KT_DIR"/m*.log
}

# handover: member m1 drains the preloaded topic and checkpoints; then m2
# joins. Measured: the time from m2's start until every partition is owned
# and m2 has restored each of its own from the state topic (join, rebalance
# and restore), and per restored partition its restore time.
handover() {
	kt_broker "$nparts"
	"$VIGIL" produce -b "$KT_BOOT" -t metrics --format graphite --lines 1 --key series \
		--set linger.ms=100 --set batch.num.messages=100000 "$KT_DIR/in.txt" 2>"$KT_DIR/produce.log" ||
		kt_fail "produce"
	bench_config m1 bench-handover
	bench_config m2 bench-handover
	kt_member m1
	kt_wait 300 "m1 drained the topic" all_done m1
	local c0 c1
	c0=$(kt_stat m1 checkpoints)
	ckpt_after() { c1=$(kt_stat m1 checkpoints); [ "${c1:-0}" -gt "${c0:-0}" ]; }
	kt_wait 60 "a checkpoint after the drain" ckpt_after
	local t0 t1 r0
	r0=$(kt_stat m1 restores)
	t0=$(date +%s.%N)
	kt_member m2
	settled() {
		local o1 o2 r2
		o1=$(kt_nowned m1)
		o2=$(kt_nowned m2)
		r2=$(kt_stat m2 restores)
		[ "$o2" -gt 0 ] && [ $((o1 + o2)) -eq "$nparts" ] && [ "${r2:-0}" -ge "$o2" ]
	}
	kt_wait 300 "m2 owning and restored its partitions" settled
	t1=$(date +%s.%N)
	python3 - "$t0" "$t1" "$(kt_nowned m2)" "$(kt_stat m2 restores)" "$(kt_stat m2 restore_ms_total)" \
		"$(kt_stat m2 restore_ms_max)" "$(kt_stat m1 state_bytes)" "$r0" "$(kt_stat m1 restores)" <<'PY'
import sys
t0, t1, owned, rest, tot, mx, sb, r0, r1 = sys.argv[1:]
rest = int(rest or 0)
print("handover partitions=%s join_to_restored_s=%.2f m2_restores=%d restore_ms_mean=%.1f restore_ms_max=%s "
      "m1_state_bytes=%s m1_restores_again=%d" % (owned, float(t1) - float(t0), rest,
      float(tot or 0) / max(rest, 1), mx, sb, int(r1 or 0) - int(r0 or 0)))
PY
	kt_stop "$KT_PID_m1" "$KT_PID_m2"
	kt_broker_stop
	rm -f "$KT_DIR"/m*.log
}

only=${BENCH_KAFKA_ONLY:-throughput latency}
case " $only " in *" throughput "*) ;; *) members= ;; esac
echo "== kafka ($KT_MODE broker, processing: $processing, checkpoint_interval ${BENCH_CKPT:-5s}): $points points over $series series, $nparts partitions, members drain a preloaded topic"
for lines in 1 100; do
	for nm in $members; do throughput "$nm" "$lines"; done
done
if [ "${BENCH_KAFKA_HANDOVER:-1}" != 0 ] && [ -n "$members" ]; then
	echo "== kafka: a second member joins one that holds every partition's state ($points points over $series series)"
	handover
fi
case " $only " in *" latency "*) ;; *) exit 0 ;; esac

if [ "${BENCH_KAFKA_REPART:-1}" != 0 ]; then
	echo "== kafka: one member, one point per message: input keyed by series, then not keyed (keyed_by: none, routed through metrics.by-series)"
	throughput 1 1 series
	throughput 1 1 none
fi

[ "${BENCH_KAFKA_LATENCY:-1}" != 0 ] || exit 0
echo "== kafka: produce-to-alert latency, member + gateway, $rate points/s for ${secs}s (producer linger.ms=5)"
kt_broker "$nparts"
bench_config m1 bench-lat
bench_config gw bench-lat
kt_member m1 ${BENCH_MEMBER_ARGS:-}
kt_gateway gw
restored_all() { [ "$(kt_stat m1 restores)" -ge "$nparts" ] 2>/dev/null; }
kt_wait 60 "every partition assigned and restored" restored_all
nser=1000
npts=$(( rate * secs / nser ))
kt_gen "$nser" "$npts" "$KT_DIR/spiky.txt" "$KT_DIR/spikes.txt"
nspikes=$(wc -l <"$KT_DIR/spikes.txt")
"$VIGIL" produce -b "$KT_BOOT" -t metrics --format graphite --rate "$rate" "$KT_DIR/spiky.txt" \
	2>>"$KT_DIR/produce.log" || kt_fail "produce"
delivered() {
	local pub got
	pub=$(kt_stat m1 alerts_published)
	got=$(kt_stat gw gw_received)
	[ "$(kt_stat m1 lag)" = 0 ] && [ "${pub:-0}" -ge "$nspikes" ] && [ "${got:-0}" -ge "$pub" ]
}
kt_wait 60 "every alert delivered" delivered
kt_stop "$KT_PID_m1" "$KT_PID_gw"
sleep 0.3
grep 'event=final' "$KT_DIR/gw.log" | tr ' ' '\n' | grep -E '^alert_latency_' | tr '\n' ' '
echo "spikes=$nspikes points=$(( npts * nser ))"
