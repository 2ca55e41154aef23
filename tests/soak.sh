#!/usr/bin/env bash
# make soak: vigil under a sustained load for SOAK_MINUTES (default 30).
#
# The production shape on loopback: the embedded broker (`vigil broker`), two
# `vigil run` members in one group, the central `vigil gateway`, and a real
# HTTP receiver behind a webhook destination. `vigil produce --rate` sends
# SOAK_RATE points/s (default 5000) of SOAK_SERIES series (default 2000),
# generated on the fly with the wall clock as data time; every series spikes
# now and then, so alerts flow all the time.
#
# Every SOAK_EVERY seconds (default 10) it samples, per process, RSS (and
# its anonymous part, RssAnon: the process's own heap, arenas and stacks,
# without the pages of the shared libraries it has touched), CPU
# (share of one core since the previous sample) and open file descriptors,
# and from the processes' /metrics the consumer lag, points, the gateway's
# alert latency (p99 of the newest alerts) and notifications. The samples go
# to build/soak/samples.csv and a picture of them to build/soak/soak.png
# (python3-matplotlib, installed when missing); the summary at the end says
# whether RSS was flat after warm-up, descriptors did not grow and lag stayed
# bounded. Never part of `make test`; figures go to RELIABILITY.md by hand.
#
# Knobs for looking into memory: SOAK_SPIKE_EVERY (seconds, default 2400) is
# the mean time between two spikes of one series (smaller: more alerts a
# minute, so per-alert growth shows sooner); SOAK_GW_WRAP is a command the
# gateway runs under (e.g. "heaptrack -o DIR/gw" or "valgrind --tool=massif
# --massif-out-file=F"), empty by default; the gateway's samples are then of
# the wrapper's child named vigil when there is one (heaptrack), else of the
# wrapper (valgrind).
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
VIGIL=${VIGIL:-$here/bin/vigil}
. "$here/tests/fixtures/kafka/lib.sh"
minutes=${SOAK_MINUTES:-30}
rate=${SOAK_RATE:-5000}
nser=${SOAK_SERIES:-2000}
every=${SOAK_EVERY:-10}
spike_every=${SOAK_SPIKE_EVERY:-2400}
gw_wrap=${SOAK_GW_WRAP:-}
out=${SOAK_DIR:-$here/build/soak}
mkdir -p "$out"
KT_KEEP_ON_FAIL=1

# Debian's python3 (matplotlib is a Debian package; a python3 earlier on PATH,
# such as pyenv's, does not see it)
dpy=/usr/bin/python3
if ! "$dpy" -c 'import matplotlib' 2>/dev/null; then
	if [ "$(id -u)" = 0 ]; then
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-matplotlib >/dev/null 2>&1 ||
			(apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-matplotlib >/dev/null)
	fi
	"$dpy" -c 'import matplotlib' 2>/dev/null || kt_fail "python3-matplotlib is missing (sudo apt-get install -y python3-matplotlib)"
fi

KT_TOPICS="metrics,metrics.state,alerts:3,alerts.state:3,alerts.control:3,metrics.dlq" kt_broker 12
python3 "$here/tests/fixtures/receivers/http_receiver.py" --log "$KT_DIR/hook.jsonl" \
	--port-file "$KT_DIR/hook.port" >"$KT_DIR/hook.out" 2>&1 &
KT_PIDS+=($!)
kt_wait 20 "receiver port" test -s "$KT_DIR/hook.port"
cat >"$KT_DIR/rules.yaml" <<EOT
rules:
  - {name: soak, series: "soak.*", detector: des, params: {training: 20}, action: page, owner: soak-team}
EOT
cat >"$KT_DIR/owners.yaml" <<EOT
owners:
  - name: soak-team
    destinations: [{type: webhook, url: "http://127.0.0.1:$(cat "$KT_DIR/hook.port")/hook"}]
EOT
KT_FIX=$KT_DIR
for n in m1 m2 gw; do
	kt_config "$n" "http: {listen: \"127.0.0.1:0\"}"
	sed -i "s|^owners: .*|owners: $KT_DIR/owners.yaml|; s|^rules: .*|rules: [$KT_DIR/rules.yaml]|; s|^stats_interval: .*|stats_interval: 10s|" "$KT_DIR/$n.yaml"
done
kt_member m1 --port-file "$KT_DIR/m1.port"
kt_member m2 --port-file "$KT_DIR/m2.port"
$gw_wrap "$VIGIL" gateway -c "$KT_DIR/gw.yaml" --port-file "$KT_DIR/gw.port" >"$KT_DIR/gw.out" 2> >(kt_stamp >"$KT_DIR/gw.log") &
KT_PIDS+=($!)
KT_PID_gw=$!
for n in m1 m2 gw; do kt_wait 60 "$n port file" test -s "$KT_DIR/$n.port"; done
if [ -n "$gw_wrap" ] && child=$(pgrep -n -P "$KT_PID_gw" -x vigil); then
	KT_PID_gw=$child
fi

# the load: one line per point, data time = the start plus the produce rate's
# pace (so, the wall clock), a spike per series about every 40 minutes (so
# some fire in any few minutes)
cat >"$KT_DIR/gen.py" <<'PY'
import random, sys, time
nser, rate, spike_every = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
rnd = random.Random(7)
t = time.time()
k = 0
out = sys.stdout
step = nser / rate  # seconds between two points of a series at the produce rate
while True:
    now = t + k * step  # data time: the wall clock the producer's --rate keeps to
    for s in range(nser):
        v = 100.0 + rnd.random() * 4
        if rnd.random() < 1.0 / (spike_every * rate / nser):
            v = 1000.0
        out.write("soak.s%d %.2f %.3f\n" % (s, v, now))
    k += 1
    out.flush()
    # keep the producer's input a little ahead of its --rate, not minutes
    ahead = k * nser / rate - (time.time() - t)
    if ahead > 2:
        time.sleep(ahead - 2)
PY
python3 "$KT_DIR/gen.py" "$nser" "$rate" "$spike_every" |
	"$VIGIL" produce -b "$KT_BOOT" -t metrics --format graphite --rate "$rate" - 2>"$KT_DIR/produce.log" &
KT_PIDS+=($!)
prod=$!

metric() { # metric PORTFILE NAME: the value of NAME in that process's /metrics
	curl -s "http://127.0.0.1:$(cat "$1")/metrics" | awk -v n="$2" '$1 == n {print $2; exit}'
}
proc_sample() { # proc_sample PID: rss_kb cpu_ticks fds anon_kb
	local rss ticks fds anon
	rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null)
	anon=$(awk '/^RssAnon:/ {print $2}' "/proc/$1/status" 2>/dev/null)
	ticks=$(awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null)
	fds=$(ls "/proc/$1/fd" 2>/dev/null | wc -l)
	echo "${rss:-0} ${ticks:-0} $fds ${anon:-0}"
}
hz=$(getconf CLK_TCK)
csv=$out/samples.csv
echo "t,proc,rss_mb,cpu,fds,lag,points,latency_p99_s,notifications,rss_anon_mb" >"$csv"
declare -A last_ticks
end=$(($(date +%s) + minutes * 60))
t0=$(date +%s)
kt_log "soak: $rate points/s of $nser series for $minutes min; samples every ${every}s to $csv"
while [ "$(date +%s)" -lt "$end" ]; do
	sleep "$every"
	kt_alive "$prod" || kt_fail "the producer stopped"
	t=$(($(date +%s) - t0))
	for n in m1 m2 gw; do
		eval "pid=\$KT_PID_$n"
		kt_alive "$pid" || kt_fail "$n died"
		read -r rss ticks fds anon < <(proc_sample "$pid")
		prev=${last_ticks[$n]:-$ticks}
		last_ticks[$n]=$ticks
		cpu=$(python3 -c "print('%.3f' % (($ticks - $prev) / $hz / $every))")
		if [ "$n" = gw ]; then
			lag=$(metric "$KT_DIR/gw.port" vigil_kafka_lag)
			pts=0
			lat=$(metric "$KT_DIR/gw.port" 'vigil_gateway_alert_latency_seconds{stat="p99"}')
			nt=$(metric "$KT_DIR/gw.port" 'vigil_gateway_notifications_total{outcome="delivered"}')
		else
			lag=$(metric "$KT_DIR/$n.port" vigil_kafka_lag)
			pts=$(metric "$KT_DIR/$n.port" vigil_kafka_points)
			lat=""
			nt=""
		fi
		echo "$t,$n,$(python3 -c "print('%.1f' % ($rss / 1024))"),$cpu,$fds,${lag:-},${pts:-},${lat:-},${nt:-},$(python3 -c "print('%.1f' % ($anon / 1024))")" >>"$csv"
	done
done
kt_stop "$prod"

"$dpy" - "$csv" "$out/soak.png" "$rate" "$nser" <<'PY'
import csv, sys
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
path, png, rate, nser = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
rows = list(csv.DictReader(open(path)))
procs = ["m1", "m2", "gw"]
def col(p, k):
    xs, ys = [], []
    for r in rows:
        if r["proc"] == p and r[k] not in ("", None):
            xs.append(int(r["t"]) / 60.0)
            ys.append(float(r[k]))
    return xs, ys
fig, ax = plt.subplots(5, 1, figsize=(9, 13), sharex=True)
for k, (key, label) in enumerate([("rss_mb", "RSS (MB)"), ("cpu", "CPU (cores)"), ("fds", "open fds"),
                                  ("lag", "consumer lag (messages)"), ("latency_p99_s", "alert latency p99 (s)")]):
    for i, p in enumerate(procs):
        xs, ys = col(p, key)
        if ys:
            ax[k].plot(xs, ys, label=p, color="C%d" % i)
        if key == "rss_mb":
            xs, ys = col(p, "rss_anon_mb")
            if ys:
                ax[k].plot(xs, ys, label=p + " anon", color="C%d" % i, linestyle="--")
    ax[k].set_ylabel(label)
    ax[k].grid(alpha=0.3)
    ax[k].legend(loc="upper left", fontsize=8)
ax[-1].set_xlabel("minutes")
fig.suptitle("vigil soak: %s points/s, %s series, 2 members + gateway + webhook" % (rate, nser))
fig.tight_layout()
fig.savefig(png, dpi=80)

# the verdict: after a warm-up of a fifth of the run, RSS may grow by at most
# 10 % from its first to its last quarter, descriptors not at all, and lag
# stays below 2 s of input
bad = []
n = max(int(r["t"]) for r in rows)
for p in procs:
    xs, rss = col(p, "rss_mb")
    warm = [y for x, y in zip(xs, rss) if x * 60 >= n / 5]
    q = max(1, len(warm) // 4)
    first, last = sum(warm[:q]) / q, sum(warm[-q:]) / q
    _, anon = col(p, "rss_anon_mb")
    wanon = anon[len(anon) - len(warm):] if anon else []
    aq = min(q, len(wanon))
    afirst = sum(wanon[:aq]) / aq if aq else 0
    alast = sum(wanon[-aq:]) / aq if aq else 0
    _, fds = col(p, "fds")
    _, lag = col(p, "lag")
    grow = (last - first) / first * 100 if first else 0
    print("%s: rss %.1f -> %.1f MB (%+.1f %% after warm-up; anonymous %.1f -> %.1f MB), fds %d -> %d, lag max %d" %
          (p, first, last, grow, afirst, alast, fds[0], fds[-1], max(lag) if lag else -1))
    if grow > 10:
        bad.append("%s RSS grew %.1f %%" % (p, grow))
    if fds and fds[-1] > fds[len(fds) // 5] + 2:
        bad.append("%s descriptors grew %d -> %d" % (p, fds[len(fds) // 5], fds[-1]))
    if lag and max(lag[len(lag) // 5:]) > 2 * int(rate):
        bad.append("%s lag reached %d" % (p, max(lag)))
_, lat = col("gw", "latency_p99_s")
_, nt = col("gw", "notifications")
print("gateway: notifications delivered %d, alert latency p99 (newest) %.3f s" %
      (nt[-1] if nt else 0, lat[-1] if lat else -1))
print("picture: %s" % png)
print("verdict: " + ("ok" if not bad else "; ".join(bad)))
sys.exit(1 if bad else 0)
PY
rc=$?
cp "$KT_DIR"/m1.log "$KT_DIR"/gw.log "$out/" 2>/dev/null
exit $rc
