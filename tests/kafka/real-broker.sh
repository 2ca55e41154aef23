#!/usr/bin/env bash
# A real Apache Kafka broker (KRaft, combined broker+controller) for the e2e
# tests, provisioned from Maven Central through tests/kafka/pom.xml.
#
#   real-broker.sh provision        resolve the jars into build/kafka/<version>/
#                                   (reused when present) and compile the admin
#                                   helper; prints the cache dir. Installs
#                                   default-jdk-headless and maven as root when
#                                   missing. Exit 3 with the reason on stdout
#                                   ("SKIP: ...") when Java/Maven cannot be had.
#   real-broker.sh start DIR [N]    format and start N (default 1) brokers on
#                                   loopback free ports under DIR; returns once
#                                   the cluster answers. Writes DIR/boot (the
#                                   bootstrap list), DIR/node<I>/pid, DIR/node<I>/broker.log.
#   real-broker.sh stop DIR [I...]  stop brokers (all, or node ids I) by pid:
#                                   TERM, then KILL after 20 s.
#   real-broker.sh kill DIR [I...]  kill -9 brokers (all, or node ids I) by pid,
#                                   no controlled shutdown (a crash); returns
#                                   once they are gone (the log dir is left as
#                                   the crash left it, for `restart`).
#   real-broker.sh restart DIR I    start node I again on its log dir and ports.
#   real-broker.sh admin ARGS...    run tests/kafka/VigilKafkaAdmin (wait,
#                                   create, leader, count, delete: see its source).
#
# Environment: VIGIL_KAFKA_VERSION (another kafka_2.13 version than the
# pom's, for checking one), VIGIL_KAFKA_HEAP (default 512m), VIGIL_KAFKA_JVM_OPTS (extra
# JVM options), VIGIL_KAFKA_CACHE (default <repo>/build/kafka),
# VIGIL_KAFKA_LOG_LEVEL (slf4j-simple level of the broker log, default warn),
# VIGIL_KAFKA_SASL_USER / VIGIL_KAFKA_SASL_PASSWORD_FILE: also open a
# SASL_PLAINTEXT listener with the PLAIN mechanism for that one user (the
# password is read from the file, never put on a command line); its
# bootstrap goes to DIR/boot_sasl.
# Processes: the brokers are JVMs detached from this script; the caller owns
# them through DIR/node<I>/pid and must call `stop DIR` (tests do it in their
# EXIT trap).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
POM=$HERE/pom.xml
VERSION=${VIGIL_KAFKA_VERSION:-$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$POM")}
CACHE=${VIGIL_KAFKA_CACHE:-$ROOT/build/kafka}/$VERSION
LIB=$CACHE/lib

die() { echo "real-broker: $*" >&2; exit 1; }

# ensure_tools: java 17+ and mvn, installed from Debian when root.
ensure_tools() {
	local missing=()
	command -v java >/dev/null 2>&1 || missing+=(default-jdk-headless)
	command -v javac >/dev/null 2>&1 || missing+=(default-jdk-headless)
	command -v mvn >/dev/null 2>&1 || missing+=(maven)
	[ ${#missing[@]} -eq 0 ] && return 0
	if [ "$(id -u)" != 0 ]; then
		echo "SKIP: real Kafka broker: missing ${missing[*]} (not root; run: sudo apt-get install -y default-jdk-headless maven)"
		exit 3
	fi
	echo "real-broker: installing ${missing[*]}" >&2
	if ! { DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null 2>&1 ||
		{ apt-get update -q >/dev/null 2>&1 &&
			DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null 2>&1; }; }; then
		echo "SKIP: real Kafka broker: apt-get install ${missing[*]} failed"
		exit 3
	fi
}

provision() {
	ensure_tools
	if [ ! -f "$LIB/.complete" ]; then
		rm -rf "$LIB"
		mkdir -p "$LIB"
		echo "real-broker: resolving org.apache.kafka:kafka_2.13:$VERSION from Maven Central into $LIB" >&2
		if ! mvn -q -B -f "$POM" -Dkafka.version="$VERSION" dependency:copy-dependencies -DincludeScope=runtime \
			-DoutputDirectory="$LIB" >"$CACHE/mvn.log" 2>&1; then
			tail -n 20 "$CACHE/mvn.log" >&2
			echo "SKIP: real Kafka broker: mvn dependency:copy-dependencies failed (log: $CACHE/mvn.log)"
			exit 3
		fi
		touch "$LIB/.complete"
	fi
	local cls=$CACHE/classes
	if [ ! -f "$cls/VigilKafkaAdmin.class" ] || [ "$HERE/VigilKafkaAdmin.java" -nt "$cls/VigilKafkaAdmin.class" ]; then
		mkdir -p "$cls"
		javac -nowarn -d "$cls" -cp "$LIB/*" "$HERE/VigilKafkaAdmin.java" >&2 || die "javac VigilKafkaAdmin failed"
	fi
	echo "$CACHE"
}

# free_ports N: N distinct free TCP ports on 127.0.0.1.
free_ports() {
	python3 - "$1" <<'PY'
import socket, sys
ss = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    ss.append(s)
print(" ".join(str(s.getsockname()[1]) for s in ss))
PY
}

admin() {
	java -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
		-Dorg.slf4j.simpleLogger.defaultLogLevel=error \
		-cp "$CACHE/classes:$LIB/*" VigilKafkaAdmin "$@"
}

# write_props DIR I N PORTS...: server.properties of node I of N.
write_props() {
	local dir=$1 i=$2 n=$3 ports=($4) voters="" j
	for j in $(seq 1 "$n"); do
		voters+="${voters:+,}$j@127.0.0.1:${ports[$((2 * j - 1))]}"
	done
	local bport=${ports[$((2 * i - 2))]} cport=${ports[$((2 * i - 1))]}
	local rf=$((n < 3 ? n : 3)) isr=$((n < 3 ? 1 : 2))
	local listeners="PLAINTEXT://127.0.0.1:$bport,CONTROLLER://127.0.0.1:$cport"
	local adv="PLAINTEXT://127.0.0.1:$bport"
	local map="PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"
	local sasl=""
	if [ -n "${VIGIL_KAFKA_SASL_USER:-}" ]; then
		local sport=${ports[$((2 * n + i - 1))]} pw
		pw=$(cat "$VIGIL_KAFKA_SASL_PASSWORD_FILE")
		listeners+=",SASL_PLAINTEXT://127.0.0.1:$sport"
		adv+=",SASL_PLAINTEXT://127.0.0.1:$sport"
		map+=",SASL_PLAINTEXT:SASL_PLAINTEXT"
		sasl="sasl.enabled.mechanisms=PLAIN
listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_$VIGIL_KAFKA_SASL_USER=\"$pw\";"
	fi
	mkdir -p "$dir/node$i"
	umask 077
	cat >"$dir/node$i/server.properties" <<EOF
process.roles=broker,controller
node.id=$i
controller.quorum.voters=$voters
listeners=$listeners
advertised.listeners=$adv
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=$map
log.dirs=$dir/node$i/data
num.partitions=4
default.replication.factor=$rf
min.insync.replicas=$isr
offsets.topic.replication.factor=$rf
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=$rf
transaction.state.log.min.isr=$isr
transaction.state.log.num.partitions=4
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
log.cleaner.backoff.ms=1000
log.retention.check.interval.ms=5000
$sasl
EOF
}

start_node() {
	local dir=$1 i=$2
	(
		cd "$dir/node$i"
		# shellcheck disable=SC2086
		exec java -Xmx"${VIGIL_KAFKA_HEAP:-512m}" -Xms128m -XX:+UseSerialGC \
			-Dorg.slf4j.simpleLogger.defaultLogLevel="${VIGIL_KAFKA_LOG_LEVEL:-warn}" \
			-Dorg.slf4j.simpleLogger.showDateTime=true \
			${VIGIL_KAFKA_JVM_OPTS:-} -cp "$LIB/*" kafka.Kafka server.properties \
			</dev/null >>"$dir/node$i/broker.log" 2>&1
	) &
	echo $! >"$dir/node$i/pid"
}

start() {
	local dir=$1 n=${2:-1} cid ports i boot="" sboot=""
	[ -f "$LIB/.complete" ] && [ -f "$CACHE/classes/VigilKafkaAdmin.class" ] || provision >/dev/null
	mkdir -p "$dir"
	ports=$(free_ports $((3 * n)))
	echo "$ports" >"$dir/ports"
	echo "$n" >"$dir/nodes"
	# a random cluster id (22 base64url characters); never one that starts with
	# '-', which the tool's argument parser would take for an option
	cid=$(python3 -c 'import base64,uuid
while True:
    c = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
    if not c.startswith("-"):
        break
print(c)')
	local pa=($ports)
	for i in $(seq 1 "$n"); do
		write_props "$dir" "$i" "$n" "$ports"
		java -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Dorg.slf4j.simpleLogger.defaultLogLevel=error \
			-cp "$LIB/*" kafka.tools.StorageTool format --cluster-id="$cid" -c "$dir/node$i/server.properties" \
			>"$dir/node$i/format.log" 2>&1 || { cat "$dir/node$i/format.log" >&2; die "formatting node $i failed"; }
		boot+="${boot:+,}127.0.0.1:${pa[$((2 * i - 2))]}"
		sboot+="${sboot:+,}127.0.0.1:${pa[$((2 * n + i - 1))]}"
	done
	for i in $(seq 1 "$n"); do start_node "$dir" "$i"; done
	echo "$boot" >"$dir/boot"
	[ -z "${VIGIL_KAFKA_SASL_USER:-}" ] || echo "$sboot" >"$dir/boot_sasl"
	if ! admin wait "$boot" 90 >/dev/null; then
		for i in $(seq 1 "$n"); do tail -n 30 "$dir/node$i/broker.log" >&2; done
		stop "$dir"
		die "Kafka $VERSION at $boot did not answer within 90 s"
	fi
}

restart() {
	local dir=$1 i=$2
	start_node "$dir" "$i"
}

# node_pids DIR [I...]: the pids of the given nodes (all by default), their
# pid files removed.
node_pids() {
	local dir=$1 i
	shift
	local nodes=("$@")
	[ ${#nodes[@]} -gt 0 ] || nodes=($(seq 1 "$(cat "$dir/nodes" 2>/dev/null || echo 0)"))
	for i in "${nodes[@]}"; do
		[ -f "$dir/node$i/pid" ] && cat "$dir/node$i/pid"
		rm -f "$dir/node$i/pid"
	done
}

# gone_within TENTHS PID...: 0 once every PID has exited, 1 after TENTHS x 0.1 s.
gone_within() {
	local tenths=$1 p alive
	shift
	for _ in $(seq "$tenths"); do
		alive=0
		for p in "$@"; do kill -0 "$p" 2>/dev/null && alive=1; done
		[ $alive = 0 ] && return 0
		sleep 0.1
	done
	return 1
}

# stop DIR [I...]: SIGTERM, SIGKILL after 20 s.
stop() {
	local pids=($(node_pids "$@"))
	[ ${#pids[@]} -gt 0 ] || return 0
	kill -TERM "${pids[@]}" 2>/dev/null || true
	gone_within 200 "${pids[@]}" || kill -KILL "${pids[@]}" 2>/dev/null || true
}

# crash DIR [I...]: SIGKILL by pid, then wait (at most 10 s) until gone.
crash() {
	local pids=($(node_pids "$@"))
	[ ${#pids[@]} -gt 0 ] || return 0
	kill -KILL "${pids[@]}" 2>/dev/null || true
	gone_within 100 "${pids[@]}" || die "brokers ${pids[*]} still alive 10 s after SIGKILL"
}

cmd=${1:-}
shift || true
case "$cmd" in
provision) provision ;;
start) [ $# -ge 1 ] || die "usage: start DIR [N]"; start "$@" ;;
stop) [ $# -ge 1 ] || die "usage: stop DIR [I...]"; stop "$@" ;;
kill) [ $# -ge 1 ] || die "usage: kill DIR [I...]"; crash "$@" ;;
restart) [ $# -eq 2 ] || die "usage: restart DIR I"; restart "$@" ;;
admin) [ -f "$CACHE/classes/VigilKafkaAdmin.class" ] || provision >/dev/null; admin "$@" ;;
*) die "usage: real-broker.sh provision | start DIR [N] | stop DIR [I...] | kill DIR [I...] | restart DIR I | admin ARGS" ;;
esac
