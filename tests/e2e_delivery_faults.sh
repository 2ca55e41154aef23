#!/usr/bin/env bash
# Delivery faults, single-process mode (`vigil replay`), against a real HTTP
# receiver on loopback (tests/fixtures/receivers/http_receiver.py) behind the
# webhook destination. The demo data gives each team its pages; the expected
# notifications come from a reference run with file destinations. For each
# fault the test prints expected / delivered / duplicated / lost, and lost
# must be 0:
#   1. the receiver is down for 60 s, then back;
#   2. 429 with Retry-After: 2 on the first requests (the retries wait >= 2 s);
#   3. kill -9 of vigil with deliveries pending (receiver answering 500),
#      then a restart on the same --state directory once the receiver is well.
# $VIGIL is the binary under test.
set -uo pipefail
VIGIL=${VIGIL:-bin/vigil}
cd "$(dirname "$0")/.." || exit 1
tmp=$(mktemp -d /tmp/vigil-faults.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}" "${RT_PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
	if [ "${keep:-0}" = 1 ]; then echo "kept $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
fails=0
fail() { echo "FAIL $*"; fails=$((fails + 1)); keep=1; }
log() { echo "[$(date +%T)] $*"; }
DATA=data/demo/metrics.log
RT_DIR=$tmp
RT_PIDS=()
rt_fail() { fail "$@"; }
source tests/fixtures/receivers/lib.sh

# owners FILE PORT [EXTRA]: every team to the webhook at PORT (/hook/<team>)
owners() {
	local f=$1 port=$2 extra=${3:-}
	{
		echo "owners:"
		for t in payments search storage; do
			echo "  - name: $t"
			echo "    destinations:"
			echo "      - {type: webhook, url: \"http://127.0.0.1:$port/hook/$t\", timeout: 2s$extra}"
		done
	} >"$f"
}

# The reference: what each team is sent, as "team status episode" lines.
mkdir -p "$tmp/ref"
sed "s|data/demo/out/|$tmp/ref/|" data/demo/owners.yaml >"$tmp/ref-owners.yaml"
"$VIGIL" replay --quiet --rules data/demo/rules --owners "$tmp/ref-owners.yaml" "$DATA" >/dev/null 2>&1 ||
	fail "reference replay"
for t in payments search storage; do
	python3 -c 'import sys, json
for l in open(sys.argv[1]):
    r = json.loads(l); print(sys.argv[2], r["status"], r["episode"])' "$tmp/ref/$t.jsonl" "$t"
done | sort >"$tmp/want.txt"
nwant=$(wc -l <"$tmp/want.txt")
[ "$nwant" -ge 6 ] || fail "reference has only $nwant notifications"

count() { rt_count "$1" "$tmp/want.txt" "$1"; }

# 1. the receiver is down for 60 s, then back
port=$(rt_free_port)
owners "$tmp/o1.yaml" "$port" ", retry_initial: 1s, retry_max: 5s, max_age: 10m, max_attempts: 500"
log "fault 1: receiver down for ${FAULT_DOWN_S:-60} s"
"$VIGIL" replay --quiet --rules data/demo/rules --owners "$tmp/o1.yaml" --drain-timeout 150 "$DATA" \
	>"$tmp/r1.out" 2>"$tmp/r1.err" &
vpid=$!
pids+=($vpid)
sleep "${FAULT_DOWN_S:-60}"
kill -0 $vpid 2>/dev/null || fail "replay ended while the receiver was down: $(tail -3 "$tmp/r1.err")"
rt_receiver down "$port"
wait $vpid || fail "replay exit status $? after the receiver came back: $(tail -3 "$tmp/r1.err")"
count down || fail "receiver down for 60 s: notifications lost"
grep -q 'event=delivery_retry' "$tmp/r1.err" || fail "no delivery_retry log line while the receiver was down"

# 2. 429 with Retry-After: 2 on the first requests of every team
port=$(rt_free_port)
owners "$tmp/o2.yaml" "$port" ", retry_initial: 100ms, retry_max: 1s"
rt_receiver throttle "$port" --first /hook/payments=2:429:2 --first /hook/search=2:429:2 --first /hook/storage=2:429:2
log "fault 2: 429 Retry-After: 2 on the first two requests of each team"
"$VIGIL" replay --quiet --rules data/demo/rules --owners "$tmp/o2.yaml" --drain-timeout 60 "$DATA" \
	>"$tmp/r2.out" 2>"$tmp/r2.err" || fail "replay under 429s: $(tail -3 "$tmp/r2.err")"
count throttle || fail "429 with Retry-After: notifications lost"
python3 - "$tmp/throttle.jsonl" <<'PY' || fail "a retry came sooner than Retry-After"
import sys, json, collections
by = collections.defaultdict(list)
for l in open(sys.argv[1]):
    r = json.loads(l); by[r["path"]].append(r)
for path, rs in by.items():
    for a, b in zip(rs, rs[1:]):
        if a["answer"].startswith("429") and b["time"] - a["time"] < 1.95:
            print("%s: request after a 429 came %.2fs later" % (path, b["time"] - a["time"]), file=sys.stderr)
            sys.exit(1)
PY

# 3. kill -9 with deliveries pending, restart on the same state directory
port=$(rt_free_port)
owners "$tmp/o3.yaml" "$port" ", retry_initial: 500ms, retry_max: 1s, max_attempts: 1000"
rt_receiver sick "$port" --rule /hook/payments=500 --rule /hook/search=500 --rule /hook/storage=500
log "fault 3: kill -9 with deliveries pending"
"$VIGIL" replay --quiet --rules data/demo/rules --owners "$tmp/o3.yaml" --state "$tmp/state" --drain-timeout 120 \
	"$DATA" >"$tmp/r3.out" 2>"$tmp/r3.err" &
vpid=$!
pids+=($vpid)
pending() { local n; n=$(grep -c '"op":"send"' "$tmp/state/gateway.log" 2>/dev/null); [ "${n:-0}" -ge "$nwant" ]; }
for _ in $(seq 100); do pending && break; sleep 0.1; done
pending || fail "the write-ahead log never held the $nwant decided notifications"
sleep 1
kill -9 $vpid
wait $vpid 2>/dev/null
kill "$RT_PID_sick"
wait "$RT_PID_sick" 2>/dev/null
rt_receiver well "$port"
"$VIGIL" replay --quiet --rules data/demo/rules --owners "$tmp/o3.yaml" --state "$tmp/state" --drain-timeout 60 \
	"$DATA" >"$tmp/r3b.out" 2>"$tmp/r3b.err" || fail "restart after kill -9: $(tail -3 "$tmp/r3b.err")"
count well || fail "kill -9 with deliveries pending: notifications lost"
grep -q "event=restored dir=$tmp/state open_episodes=[0-9]* pending=$nwant" "$tmp/r3b.err" ||
	fail "the restart did not restore $nwant pending notifications: $(grep event=restored "$tmp/r3b.err")"
# a third run has nothing left to send and sends nothing again
before=$(wc -l <"$tmp/well.jsonl")
"$VIGIL" replay --quiet --rules data/demo/rules --owners "$tmp/o3.yaml" --state "$tmp/state" "$DATA" \
	>/dev/null 2>"$tmp/r3c.err" || fail "third run"
[ "$(wc -l <"$tmp/well.jsonl")" -eq "$before" ] || fail "a third run on the same state sent again"

echo "e2e_delivery_faults: $fails failed"
[ "$fails" -eq 0 ]
