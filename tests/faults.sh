#!/usr/bin/env bash
# make faults: a scripted fault matrix (issue 16). Not part of `make test`.
#
# Every run is the production shape on loopback: the broker (metrics on 6
# partitions), `vigil run` members in one group, the
# central `vigil gateway`, and a real HTTP receiver
# (tests/fixtures/receivers/http_receiver.py) behind the owner's webhook
# destination. kt_gen writes a stream with known spikes (24 series x 80
# points, 48 spikes, each one firing episode of the DES rule in
# tests/fixtures/kafka/rules.yaml), produced at FAULTS_RATE records/s (240:
# about 8 s of stream) while the row's fault is injected. At the receiver it
# counts, for the firing notifications it accepted (2xx):
#   expected    spikes kt_gen injected (series, start time)
#   delivered   distinct expected episodes notified at least once
#   duplicated  extra notifications of an already notified firing episode
#   lost        expected episodes never notified
#   unexpected  firing episodes notified that kt_gen did not inject
# The broker (VIGIL_KAFKA, tests/fixtures/kafka/lib.sh): `embedded` (default:
# `vigil broker`, librdkafka's mock cluster, a fresh one per run) or `real`
# (Apache Kafka through tests/kafka/real-broker.sh: the matrix starts one
# KRaft broker for all its runs and stops it at the end; each run has its own
# topics, FAULTS_TAG.metrics etc., and its own groups, deleted after the run;
# a run started alone with --one starts a broker of its own).
# Rows (FAULTS_ROWS, numbers or names, default all):
#   1 broker     embedded: every mock broker down for FAULTS_DOWN_S (5) s
#                mid-stream (its control "down"/"up"); real: the broker
#                process killed with SIGKILL (FAULTS_BROKER_SIGNAL=TERM for a
#                controlled shutdown) mid-stream and started again
#                FAULTS_DOWN_S s later on the same ports and log dir
#   2 rebalance  a second member started and stopped (TERM) every
#                FAULTS_REBALANCE_S (3) s for the whole stream, produced at
#                FAULTS_REBALANCE_RATE (80) records/s here (24 s)
#   3 hang       the destination accepts connections and never answers for
#                FAULTS_HANG_S (20) s, then answers 200
#   4 http500    the destination answers 500 for FAULTS_500_S (60) s, then 200
#   5 kill-member   kill -9 of one of two members at a random moment of the
#                stream, restarted 1 s later
#   6 kill-gateway  kill -9 of one of two gateway members at a random moment
#                of the stream, restarted 1 s later
#   7 disk-full  single mode (`vigil replay --state`): the state directory
#                made with space, then its tmpfs filled to the last byte,
#                then a replay that sends, then again with space (below;
#                root only, else skipped)
#   7b disk-full-start  the same with the tmpfs full from the first start
#                (no log, no reserve possible)
# FAULTS_RUNS runs per row (default 20 for rows 5-6, 5 for the others),
# one run at a time. The table goes to stdout and build/faults/results.md,
# every run to build/faults/runs.tsv; a run's temp dir is kept when it fails
# (timeout), loses or duplicates something (FAULTS_KEEP=1 keeps all of them).
# The matrix part is one function, read whole before it runs (the file may
# be edited while a long matrix runs).
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
export VIGIL=${VIGIL:-$here/bin/vigil}

# ---------------------------------------------------------------- disk full
# Single mode (`vigil replay --state DIR`, one process: engine and gateway),
# the demo data, every team's webhook at the receiver; DIR is on a tmpfs
# filled to the last byte by a filler file. The expected notifications are
# the firing episodes of a reference run with file destinations.
#   disk-full        a tmpfs of FAULTS_DISK_KB (16384) KiB; DIR is made by a
#                    first replay with space (the demo's first line: no
#                    alert), which leaves the gateway's log and its reserve
#                    (--state-reserve, default 4 MiB) allocated; then the
#                    disk is filled, and the demo replay must send while
#                    it is full.
#   disk-full-start  a tmpfs of FAULTS_DISK_START_KB (256) KiB, full before
#                    DIR is first used: no log and no reserve can be made, so
#                    every write to the log fails from the start.
# Then the filler is removed and the replay run again on the same state
# directory: what the full-disk run could not record may be sent again
# (counted as duplicated).
if [ "${1:-}" = --one ] && { [ "$2" = disk-full ] || [ "$2" = disk-full-start ]; }; then
	row=$2 run=$3
	tmp=$(mktemp -d /tmp/vigil-faults-disk.XXXXXX)
	mnt=$tmp/state-fs
	mkdir "$mnt"
	RT_DIR=$tmp
	RT_PIDS=()
	vp=
	rt_fail() { echo "FAIL: $*" >&2; exit 1; }
	keep=0
	disk_cleanup() {
		for p in $vp "${RT_PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
		wait 2>/dev/null
		mountpoint -q "$mnt" && umount "$mnt"
		if [ "$keep" = 1 ] || [ "${FAULTS_KEEP:-0}" = 1 ]; then echo "kept $tmp" >&2; else rm -rf "$tmp"; fi
	}
	trap disk_cleanup EXIT
	. "$here/tests/fixtures/receivers/lib.sh"
	[ "$row" = disk-full ] && kb=${FAULTS_DISK_KB:-16384} || kb=${FAULTS_DISK_START_KB:-256}
	mount -t tmpfs -o size="${kb}k" tmpfs "$mnt" || { echo "FAIL: mount -t tmpfs (needs root)" >&2; exit 1; }
	cd "$here" || exit 1
	if [ "$row" = disk-full ]; then
		head -n 1 data/demo/metrics.log >"$tmp/first.log"
		mkdir "$tmp/out0"
		sed "s|data/demo/out/|$tmp/out0/|" data/demo/owners.yaml >"$tmp/owners0.yaml"
		"$VIGIL" replay --rules data/demo/rules --owners "$tmp/owners0.yaml" \
			--state "$mnt/state" "$tmp/first.log" >/dev/null 2>"$tmp/r0.err" ||
			{ keep=1; echo "FAIL: the replay that makes the state directory" >&2; exit 1; }
		grep -q 'alerts=0 ' "$tmp/r0.err" || { keep=1; echo "FAIL: the first replay raised alerts" >&2; exit 1; }
	else
		mkdir "$mnt/state"
	fi
	dd if=/dev/zero of="$mnt/filler" bs=4k 2>/dev/null
	dd if=/dev/zero of="$mnt/filler" bs=1 oflag=append conv=notrunc 2>/dev/null # the last bytes
	df_left=$(df -k --output=avail "$mnt" | tail -n 1 | tr -d ' ')
	mkdir "$tmp/ref"
	sed "s|data/demo/out/|$tmp/ref/|" data/demo/owners.yaml >"$tmp/ref-owners.yaml"
	"$VIGIL" replay --quiet --rules data/demo/rules --owners "$tmp/ref-owners.yaml" data/demo/metrics.log \
		>/dev/null 2>"$tmp/ref.err" || { keep=1; echo "FAIL: reference replay" >&2; exit 1; }
	port=$(rt_free_port)
	{
		echo "owners:"
		for t in payments search storage; do
			echo "  - name: $t"
			echo "    destinations:"
			echo "      - {type: webhook, url: \"http://127.0.0.1:$port/hook/$t\", timeout: 2s, retry_initial: 200ms, retry_max: 1s}"
		done
	} >"$tmp/owners.yaml"
	rt_receiver recv "$port"
	"$VIGIL" replay --rules data/demo/rules --owners "$tmp/owners.yaml" --state "$mnt/state" \
		--drain-timeout 60 data/demo/metrics.log >"$tmp/r1.out" 2>"$tmp/r1.err"
	rc1=$?
	werr=$(grep -c 'event=log_write_failed' "$tmp/r1.err")
	reserve1=$(grep -o ' log_reserve=[0-9]*' "$tmp/r1.err" | cut -d= -f2)
	skipped1=$(grep -c 'event=log_compaction_skipped' "$tmp/r1.err")
	off1=$(grep -c 'event=log_durability_off' "$tmp/r1.err")
	n1=$(grep -c . "$tmp/recv.jsonl")
	rm -f "$mnt/filler"
	"$VIGIL" replay --rules data/demo/rules --owners "$tmp/owners.yaml" --state "$mnt/state" \
		--drain-timeout 60 data/demo/metrics.log >"$tmp/r2.out" 2>"$tmp/r2.err"
	rc2=$?
	n2=$(($(grep -c . "$tmp/recv.jsonl") - n1))
	res=$(python3 - "$tmp/ref" "$tmp/recv.jsonl" <<'PY'
import sys, json, collections, os
want = set()
for t in ("payments", "search", "storage"):
    for l in open(os.path.join(sys.argv[1], t + ".jsonl")):
        r = json.loads(l)
        if r["status"] == "firing":
            want.add((t, r["episode"]))
got = collections.Counter()
for l in open(sys.argv[2]):
    r = json.loads(l)
    if not r["answer"].startswith("2"):
        continue
    team = r["path"].rsplit("/", 1)[1]
    for a in json.loads(r["body"])["alerts"]:
        if a["status"] == "firing" and a.get("change", "new") in ("new", "firing"):
            got[(team, a["annotations"].get("episode", "?"))] += 1
d = len(want & set(got))
print(len(want), d, sum(n - 1 for n in got.values()), len(want) - d, len(set(got) - want))
PY
)
	set -- $res
	[ "$4" -eq 0 ] || keep=1
	[ "$row" = disk-full-start ] || [ "$3" -eq 0 ] || keep=1 # 7b duplicates by design
	printf 'RESULT\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$row" "$run" $res \
		"full disk (${df_left} KiB free): exit $rc1, $werr log_write_failed, $skipped1 log_compaction_skipped, $off1 log_durability_off lines, log_reserve=${reserve1:-?} at the end, $n1 requests; space freed, same state: exit $rc2, $n2 requests"
	exit 0
fi

# ---------------------------------------------------------------- one run
if [ "${1:-}" = --one ]; then
	row=$2 run=$3
	. "$here/tests/fixtures/kafka/lib.sh"
	RT_DIR=$KT_DIR
	RT_PIDS=()
	rt_fail() { kt_fail "$@"; }
	. "$here/tests/fixtures/receivers/lib.sh"
	# receivers first (a hung request would keep nothing else alive), then
	# what lib.sh started
	trap 'for p in "${RT_PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done; kt_cleanup' EXIT
	[ "${FAULTS_KEEP:-0}" = 1 ] && KT_KEEP=1
	kt_timeout $((150 + ${FAULTS_500_S:-60} + ${FAULTS_HANG_S:-20}))
	rate=${FAULTS_RATE:-240}
	# rebalancing needs a longer stream to rebalance several times in it
	[ "$row" = rebalance ] && rate=${FAULTS_REBALANCE_RATE:-80}
	# tp: the run's topic prefix and group (real broker only: the matrix's
	# broker is shared by its runs); rdir: that broker's directory
	tp= rdir=
	if [ "$KT_MODE" = real ]; then
		tag=${FAULTS_TAG:-faults-$row-$run-$$}
		tp=$tag.
		if [ -n "${FAULTS_REAL_DIR:-}" ]; then
			rdir=$FAULTS_REAL_DIR
		else
			prc=0
			out=$(bash "$KT_RB" provision 2>>"$KT_DIR/broker.log") || prc=$?
			[ "$prc" != 3 ] || { echo "SKIP (VIGIL_KAFKA=real): $out"; exit 0; }
			[ "$prc" = 0 ] || kt_fail "provisioning the real broker failed (rc=$prc)"
			rdir=$KT_DIR/kafka
			KT_REAL_DIR=$rdir
			bash "$KT_RB" start "$rdir" 1 2>>"$KT_DIR/broker.log" || kt_fail "real broker did not start"
		fi
		KT_BOOT=$(cat "$rdir/boot")
		bash "$KT_RB" admin create "$KT_BOOT" 1 6 "${tp}metrics:6" "${tp}metrics.state:6:cleanup.policy=compact" \
			"${tp}alerts:3" "${tp}alerts.state:3:cleanup.policy=compact" "${tp}alerts.control:3" "${tp}metrics.dlq:6" \
			2>>"$KT_DIR/broker.log" || kt_fail "creating the topics ${tp}* on the real broker at $KT_BOOT failed"
		kt_log "real Kafka at $KT_BOOT, topics ${tp}*, groups $tag and $tag-gateway"
	else
		kt_broker 6
	fi
	# the receiver binds a port the kernel picks (port 0) and reports it: a
	# port chosen beforehand can be taken by any client's ephemeral port
	# before the receiver binds it (it happened once on a loaded machine)
	case "$row" in
	hang) rt_receiver recv0 0 --rule /hook/kt-team=hang ;;
	http500) rt_receiver recv0 0 --rule /hook/kt-team=500 ;;
	*) rt_receiver recv0 0 ;;
	esac
	recv=recv0
	port=$(cat "$KT_DIR/recv0.port")
	owners="$KT_DIR/owners-hook.yaml"
	cat >"$owners" <<EOT
owners:
  - name: kt-team
    destinations:
      - {type: webhook, url: "http://127.0.0.1:$port/hook/kt-team", timeout: 2s, retry_initial: 200ms, retry_max: 2s, max_attempts: 1000, max_age: 30m}
EOT
	cfg() {
		kt_config "$1"
		sed -i "s|^owners: .*|owners: $owners|" "$KT_DIR/$1.yaml"
		[ -n "$tp" ] || return 0
		sed -i -e "s|^  group.id: kt\$|  group.id: $tag|" -e "s|^input: {topics: \[metrics\]|input: {topics: [${tp}metrics]|" \
			-e "s|^state_topic: metrics.state\$|state_topic: ${tp}metrics.state|" -e "s|^alerts_topic: alerts\$|alerts_topic: ${tp}alerts|" \
			-e "s|^dead_letter_topic: metrics.dlq\$|dead_letter_topic: ${tp}metrics.dlq|" "$KT_DIR/$1.yaml"
		[ "$(grep -cF -e "group.id: $tag" -e "[${tp}metrics]" -e " ${tp}metrics.state" -e " ${tp}alerts" -e " ${tp}metrics.dlq" \
			"$KT_DIR/$1.yaml")" = 5 ] || kt_fail "$1.yaml: the run's topics and group not set (kt_config changed?)"
	}
	for n in m1 m2 m2r g1 g2 g2r; do cfg $n; done
	kt_gateway g1
	gws="g1"
	if [ "$row" = kill-gateway ]; then kt_gateway g2; gws="g1 g2"; fi
	kt_member m1
	members="m1"
	if [ "$row" = kill-member ]; then kt_member m2; members="m1 m2"; fi
	kt_wait 60 "members owning six partitions" kt_split 6 $members
	# a gateway member's alerts partitions: assigned minus released
	gw_nowned() {
		grep -oE 'event=(gateway_partition_assigned|partition_released) partition=[0-9]+' "$KT_DIR/$1.log" 2>/dev/null |
			awk '/assigned/ {o[$2] = 1} /released/ {delete o[$2]} END {print length(o)}'
	}
	gw_ready() { local g n=0; for g in $gws; do n=$((n + $(gw_nowned "$g"))); done; [ "$n" -eq 3 ]; }
	kt_wait 60 "gateway members owning the three alerts partitions" gw_ready
	kt_gen 24 80 "$KT_DIR/data.txt" "$KT_DIR/spikes.txt"
	nrec=$(wc -l <"$KT_DIR/data.txt")
	stream_s=$((nrec / rate))
	"$VIGIL" produce -b "$KT_BOOT" -t "${tp}metrics" --format graphite --rate "$rate" "$KT_DIR/data.txt" \
		2>"$KT_DIR/produce.log" &
	prod=$!
	KT_PIDS+=($prod)
	t_start=$(date +%s.%N)
	at() { python3 -c 'import sys; print("%.1f" % (float(sys.argv[1]) - float(sys.argv[2])))' "$(date +%s.%N)" "$t_start"; }
	note=
	# a random moment inside the stream, 1 .. stream_s-1 s, to a tenth
	rnd() { echo "$((1 + RANDOM % (stream_s - 1))).$((RANDOM % 10))"; }
	case "$row" in
	broker)
		sleep $((stream_s / 2 - 1))
		if [ -z "$rdir" ]; then
			echo down >"$KT_DIR/control"
			note="down at $(at)s"
			sleep "${FAULTS_DOWN_S:-5}"
			echo up >"$KT_DIR/control"
			note="$note, up at $(at)s"
		else
			# the broker process, as a crash: SIGKILL, no controlled shutdown
			if [ "${FAULTS_BROKER_SIGNAL:-KILL}" = TERM ]; then
				bash "$KT_RB" stop "$rdir" || kt_fail "stopping the broker"
				note="TERM of the broker at $(at)s"
			else
				bash "$KT_RB" kill "$rdir" || kt_fail "killing the broker"
				note="kill -9 of the broker at $(at)s"
			fi
			sleep "${FAULTS_DOWN_S:-5}"
			for i in $(seq 1 "$(cat "$rdir/nodes")"); do bash "$KT_RB" restart "$rdir" "$i"; done
			note="$note, started at $(at)s"
			listening() { python3 -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)' "${KT_BOOT##*:}" 2>/dev/null; }
			kt_wait 120 "the restarted broker's port" listening
			note="$note, listening at $(at)s"
		fi
		;;
	rebalance)
		k=0
		while kt_alive "$prod"; do
			k=$((k + 1))
			cfg "r$k"
			kt_member "r$k"
			sleep "${FAULTS_REBALANCE_S:-3}"
			eval "p=\$KT_PID_r$k"
			kt_stop "$p"
			sleep "${FAULTS_REBALANCE_S:-3}"
		done
		note="$k joins and leaves, m1 rebalances=$(kt_stat m1 rebalances)"
		;;
	hang | http500)
		[ "$row" = hang ] && hold=${FAULTS_HANG_S:-20} || hold=${FAULTS_500_S:-60}
		sleep "$hold"
		kill -9 "$RT_PID_recv0"
		wait "$RT_PID_recv0" 2>/dev/null
		rt_receiver recv1 "$port"
		recv="recv0 recv1"
		note="$(grep -c . "$KT_DIR/recv0.jsonl" 2>/dev/null) requests not answered 2xx in ${hold}s"
		;;
	kill-member | kill-gateway)
		[ "$row" = kill-member ] && { victim=m2 again=m2r; } || { victim=g2 again=g2r; }
		d=$(rnd)
		sleep "$d"
		eval "vp=\$KT_PID_$victim"
		kill -KILL "$vp"
		note="kill -9 $victim at $(at)s"
		sleep 1
		if [ "$row" = kill-member ]; then kt_member "$again"; else kt_gateway "$again"; fi
		;;
	esac
	wait "$prod" || kt_fail "produce failed"
	count() {
		python3 - "$KT_DIR/spikes.txt" "$@" <<'PY'
import sys, json, collections, datetime
want = set()
for l in open(sys.argv[1]):
    s, ts = l.split()
    t = datetime.datetime.fromtimestamp(int(ts), datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    want.add((s, t))
got = collections.Counter()
for path in sys.argv[2:]:
    try:
        lines = open(path).read().splitlines()
    except FileNotFoundError:
        continue
    for l in lines:
        r = json.loads(l)
        if not r["answer"].startswith("2"):
            continue
        for a in json.loads(r["body"])["alerts"]:
            if a["status"] != "firing" or a.get("change", "new") not in ("new", "firing"):
                continue
            got[(a["labels"].get("series", "?"), a["startsAt"])] += 1
delivered = len(want & set(got))
dup = sum(n - 1 for n in got.values())
print(len(want), delivered, dup, len(want) - delivered, len(set(got) - want))
PY
	}
	# wait for every expected episode (the receiver's answers are now 200),
	# then a few seconds for late duplicates
	done_all() { set -- $(count $(for r in $recv; do echo "$KT_DIR/$r.jsonl"; done)); [ "$4" -eq 0 ]; }
	end=$(($(date +%s) + ${FAULTS_DRAIN_S:-60}))
	until done_all || [ "$(date +%s)" -ge "$end" ]; do sleep 0.5; done
	sleep "${FAULTS_SETTLE_S:-4}"
	res=$(count $(for r in $recv; do echo "$KT_DIR/$r.jsonl"; done))
	set -- $res
	[ "$4" -eq 0 ] && [ "$3" -eq 0 ] || { KT_FAILED=1; kt_log "lost $4, duplicated $3: temp dir kept"; }
	kt_log "run $run: $res ($note)"
	printf 'RESULT\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$row" "$run" $res "$note"
	exit 0
fi

# ---------------------------------------------------------------- matrix
matrix() {
	out=$here/build/faults
	mkdir -p "$out"
	all="broker rebalance hang http500 kill-member kill-gateway disk-full disk-full-start"
	rows=
	for r in ${FAULTS_ROWS:-$all}; do
		case "$r" in
		1) r=broker ;; 2) r=rebalance ;; 3) r=hang ;; 4) r=http500 ;; 5) r=kill-member ;; 6) r=kill-gateway ;; 7) r=disk-full ;; 7b) r=disk-full-start ;;
		esac
		case " $all " in *" $r "*) rows="$rows $r" ;; *) echo "faults: unknown row '$r' (1-7, 7b or: $all)" >&2; exit 2 ;; esac
	done
	[ -x "$VIGIL" ] || { echo "faults: $VIGIL missing (make bin/vigil)" >&2; exit 2; }
	child=
	broker="embedded (vigil broker, a fresh one per run)"
	rb=$here/tests/kafka/real-broker.sh
	export FAULTS_REAL_DIR=
	# the rows that run on a broker: all but the single-mode disk-full ones
	kafka_row() { case "$1" in disk-full*) return 1 ;; esac; }
	real_wanted=
	for row in $rows; do kafka_row "$row" && real_wanted=1; done
	if [ "${VIGIL_KAFKA:-embedded}" = real ] && [ -n "$real_wanted" ]; then
		real_start || exit 2
	fi
	trap 'real_stop' EXIT
	trap '[ -z "$child" ] || kill -TERM "$child" 2>/dev/null; wait 2>/dev/null; summarize; exit 130' INT TERM
	tsv=$out/runs.tsv
	: >"$tsv"
	: >"$out/load.txt"
	rm -f "$out"/failed-*.err
	t0=$(date -u +%FT%TZ)
	load0=$(cut -d' ' -f1-3 /proc/loadavg)
	for row in $rows; do
		case "$row" in kill-*) n=${FAULTS_RUNS:-20} ;; *) n=${FAULTS_RUNS:-5} ;; esac
		if [ "${row#disk-full}" != "$row" ] && [ "$(id -u)" != 0 ]; then
			echo "SKIP $row: mounting a small tmpfs needs root" >&2
			continue
		fi
		if kafka_row "$row" && [ "${VIGIL_KAFKA:-embedded}" = real ] && [ -z "$FAULTS_REAL_DIR" ]; then
			echo "SKIP $row: no real broker" >&2
			continue
		fi
		for i in $(seq 1 "$n"); do
			echo "[$(date -u +%T)] $row run $i/$n" >&2
			tag=faults-$row-$i-$(date +%s)
			FAULTS_TAG=$tag bash "$0" --one "$row" "$i" >"$out/run.out" 2>"$out/run.err" &
			child=$!
			wait "$child"
			rc=$?
			child=
			[ -z "$FAULTS_REAL_DIR" ] || ! kafka_row "$row" || real_after_run "$tag" >>"$out/run.err" 2>&1
			cut -d' ' -f1 /proc/loadavg >>"$out/load.txt"
			if line=$(grep '^RESULT' "$out/run.out"); then
				echo "$line" | cut -f2- >>"$tsv"
				echo "    $(echo "$line" | cut -f4-)" >&2
				grep -h '^kept ' "$out/run.err" | sed 's/^/    /' >&2
			else
				printf '%s\t%s\tFAILED\t\t\t\t\t(rc=%s: %s)\n' "$row" "$i" "$rc" "$(grep -E 'FAIL|TIMEOUT|kept' "$out/run.err" | tr '\n' ' ' | cut -c1-200)" >>"$tsv"
				cp "$out/run.err" "$out/failed-$row-$i.err"
				echo "    run failed (rc=$rc): $(grep -E 'FAIL|TIMEOUT|kept' "$out/run.err" | tr '\n' ' ')" >&2
			fi
		done
	done
	rm -f "$out/run.out" "$out/run.err"
	summarize
}
# The real broker of the matrix (VIGIL_KAFKA=real): one KRaft node in a temp
# dir, started once, shared by the runs (each with its own topics and
# groups), stopped and removed on exit. Its directory goes to the runs in
# FAULTS_REAL_DIR.
real_start() {
	local cache rc=0
	cache=$(bash "$rb" provision 2>"$out/broker-provision.log") || rc=$?
	if [ "$rc" = 3 ]; then
		echo "SKIP (VIGIL_KAFKA=real): the Kafka rows: $cache" >&2
		return 0
	fi
	[ "$rc" = 0 ] || { echo "faults: provisioning the real broker failed (rc=$rc, $out/broker-provision.log)" >&2; return 1; }
	FAULTS_REAL_DIR=$(mktemp -d /tmp/vigil-faults-kafka.XXXXXX)
	bash "$rb" start "$FAULTS_REAL_DIR" 1 || { echo "faults: the real broker did not start ($FAULTS_REAL_DIR)" >&2; real_stop; return 1; }
	broker="Apache Kafka $(basename "$cache") (tests/kafka/real-broker.sh: one KRaft node for the whole matrix, each run its own topics and groups)"
	echo "faults: real Kafka $(basename "$cache") at $(cat "$FAULTS_REAL_DIR/boot") ($FAULTS_REAL_DIR)" >&2
}
real_stop() {
	[ -n "${FAULTS_REAL_DIR:-}" ] || return 0
	bash "$rb" stop "$FAULTS_REAL_DIR"
	if [ "${FAULTS_KEEP:-0}" = 1 ]; then echo "kept $FAULTS_REAL_DIR (the real broker's logs)" >&2; else rm -rf "$FAULTS_REAL_DIR"; fi
	FAULTS_REAL_DIR=
}
# real_after_run TAG: the broker is up again (a run that failed between its
# kill and its restart would leave it down for the next runs), then the run's
# topics are deleted (its groups go with their offsets).
real_after_run() {
	local p i
	p=$(cat "$FAULTS_REAL_DIR/node1/pid" 2>/dev/null)
	if [ -z "$p" ] || ! kill -0 "$p" 2>/dev/null; then
		echo "faults: the real broker is down after run $1: starting it again"
		for i in $(seq 1 "$(cat "$FAULTS_REAL_DIR/nodes")"); do bash "$rb" restart "$FAULTS_REAL_DIR" "$i"; done
		bash "$rb" admin wait "$(cat "$FAULTS_REAL_DIR/boot")" 120 >/dev/null || echo "faults: the real broker did not answer again"
	fi
	bash "$rb" admin delete "$(cat "$FAULTS_REAL_DIR/boot")" "$1.metrics" "$1.metrics.state" "$1.alerts" \
		"$1.alerts.state" "$1.alerts.control" "$1.metrics.dlq" || echo "faults: deleting the topics $1.* failed"
}
# the table of the runs in runs.tsv (also when the matrix is interrupted)
summarize() {
	local load1
	load1=$(cut -d' ' -f1-3 /proc/loadavg)
	python3 - "$tsv" "$t0" "$(date -u +%FT%TZ)" "$load0" "$load1" "${FAULTS_ROWS:-all}" "${FAULTS_RUNS:-default}" "$out/load.txt" \
		"${FAULTS_HANG_S:-20}" "${FAULTS_500_S:-60}" "$broker" "${FAULTS_BROKER_SIGNAL:-KILL}" <<-'PY' | tee "$out/results.md"
	import sys, collections
	tsv, t0, t1, l0, l1, rows_arg, runs_arg, loadf, hang_s, http500_s, broker, bsig = sys.argv[1:]
	real = broker.startswith("Apache")
	loads = [float(x) for x in open(loadf).read().split()]
	desc = {
	    "broker": ("1. broker process killed (%s) mid-stream, started again ~5 s later" % ("kill -9" if bsig == "KILL" else "TERM")) if real
	              else "1. broker down ~5 s mid-stream, then up",
	    "rebalance": "2. a second member joins and leaves every 3 s",
	    "hang": "3. destination hangs %s s, then 200" % hang_s,
	    "http500": "4. destination answers 500 for %s s, then 200" % http500_s,
	    "kill-member": "5. kill -9 of a member at a random moment, restart",
	    "kill-gateway": "6. kill -9 of a gateway member at a random moment, restart",
	    "disk-full": "7. single mode: state made with space, then the disk full for a whole replay (the log's reserve), then space freed and run again",
	    "disk-full-start": "7b. single mode: the disk full from the first start (no log, no reserve), then space freed and run again",
	}
	by = collections.OrderedDict()
	for l in open(tsv):
	    f = l.rstrip("\n").split("\t")
	    by.setdefault(f[0], []).append(f)
	print("# Fault matrix (tests/faults.sh)\n")
	print("Broker: %s.\n" % broker)
	print("From %s to %s; load average (1/5/15 min) %s at the start, %s at the end; 1-minute load after each run %s; FAULTS_ROWS=%s FAULTS_RUNS=%s.\n"
	      % (t0, t1, l0, l1, "%.2f-%.2f" % (min(loads), max(loads)) if loads else "-", rows_arg, runs_arg))
	print("| row | runs | expected | delivered | duplicated | lost | unexpected | worst run (dup / lost) | failed runs |")
	print("|---|---:|---:|---:|---:|---:|---:|---|---:|")
	for row, rs in by.items():
	    ok = [r for r in rs if r[2] != "FAILED"]
	    e = sum(int(r[2]) for r in ok); d = sum(int(r[3]) for r in ok)
	    du = sum(int(r[4]) for r in ok); lo = sum(int(r[5]) for r in ok); un = sum(int(r[6]) for r in ok)
	    if ok:
	        w = max(ok, key=lambda r: (int(r[5]), int(r[4])))
	        worst = "run %s: %s / %s" % (w[1], w[4], w[5])
	    else:
	        worst = "-"
	    print("| %s | %d | %d | %d | %d | %d | %d | %s | %d |" % (desc.get(row, row), len(rs), e, d, du, lo, un, worst, len(rs) - len(ok)))
	print("\nPer run (row, run, expected, delivered, duplicated, lost, unexpected, fault): build/faults/runs.tsv")
	PY
}
matrix "$@"; exit $?
