#!/usr/bin/env bash
# The disk reserve of the single-mode gateway's log (`vigil replay --state
# DIR`, sinks/gateway_log.h), as an operator sets and watches it (no root
# needed; the full disk itself is tests/test_gateway_log_reserve.c and row 7
# of tests/faults.sh):
#  - by default the log keeps 4 MiB allocated past its end: the summary's
#    log_reserve= says what is left, and the file's blocks show it;
#  - --state-reserve SIZE and the config's state_reserve set it (the option
#    wins), 0 turns it off;
#  - a bad size is refused naming the option, or the config file's
#    file:line:column;
#  - /metrics of `replay --serve` has vigil_gateway_log_reserve_bytes and
#    vigil_gateway_log_reserve_short_total.
# $VIGIL is the binary under test.
set -uo pipefail
VIGIL=${VIGIL:-bin/vigil}
cd "$(dirname "$0")/.." || exit 1
tmp=$(mktemp -d /tmp/vigil-reserve.XXXXXX)
fails=0
fail() { echo "FAIL $*"; fails=$((fails + 1)); keep=1; }
srv=
cleanup() {
	[ -z "$srv" ] || kill -9 "$srv" 2>/dev/null
	wait 2>/dev/null
	if [ "${keep:-0}" = 1 ]; then echo "kept $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
data=data/demo/metrics.log
MiB=1048576
mkdir "$tmp/out"
sed "s|data/demo/out/|$tmp/out/|" data/demo/owners.yaml >"$tmp/owners.yaml"
demo=(--rules data/demo/rules --owners "$tmp/owners.yaml")

# replay NAME ARGS...: the demo (8 notifications, about 43 KB of log) with
# --state $tmp/NAME; prints the summary's log_reserve= value
replay() {
	local name=$1
	shift
	"$VIGIL" replay "${demo[@]}" --state "$tmp/$name" "$@" "$data" >/dev/null 2>"$tmp/$name.err" ||
		{ fail "$name: replay exit $?: $(tail -n 2 "$tmp/$name.err")"; echo -1; return; }
	grep -o ' log_reserve=[0-9]*' "$tmp/$name.err" | cut -d= -f2
}
# allocated NAME: bytes the file system holds for NAME's log past its size
# (st_blocks: the rest of the last block counts too)
allocated() {
	local b s
	read -r b s < <(stat -c '%b %s' "$tmp/$1/gateway.log")
	echo $((b * 512 - s))
}
# between V LO HI WHAT
between() { [ "$1" -ge "$2" ] && [ "$1" -le "$3" ] || fail "$4: $1 not in [$2, $3]"; }

echo "== default: 4 MiB past the end"
r=$(replay default)
between "$r" $((4 * MiB - 128 * 1024)) $((4 * MiB + 8192)) "default log_reserve="
between "$(allocated default)" $((4 * MiB - 128 * 1024)) $((4 * MiB + 8192)) "default: blocks past the log's end"
grep -q 'event=log_reserve_short\|event=log_durability_off' "$tmp/default.err" && fail "default: a reserve warning with room"
r=$(replay default) # the second run compacts into a new file with its own reserve
between "$r" $((4 * MiB - 128 * 1024)) $((4 * MiB + 8192)) "default, second run: log_reserve="

echo "== --state-reserve 1MiB, 0"
r=$(replay one --state-reserve 1MiB)
between "$r" $((MiB - 128 * 1024)) $((MiB + 8192)) "--state-reserve 1MiB: log_reserve="
r=$(replay none --state-reserve 0)
[ "$r" = 0 ] || fail "--state-reserve 0: log_reserve=$r"
between "$(allocated none)" -4096 4096 "--state-reserve 0: blocks past the log's end"

echo "== config state_reserve: 2MiB; the option wins"
printf 'state_reserve: 2MiB\n' >"$tmp/cfg.yaml"
r=$(replay cfg -c "$tmp/cfg.yaml")
between "$r" $((2 * MiB - 128 * 1024)) $((2 * MiB + 8192)) "state_reserve: 2MiB: log_reserve="
r=$(replay cfg2 -c "$tmp/cfg.yaml" --state-reserve 512KiB)
between "$r" $((384 * 1024)) $((512 * 1024 + 8192)) "state_reserve: 2MiB with --state-reserve 512KiB: log_reserve="

echo "== bad sizes"
"$VIGIL" replay "${demo[@]}" --state "$tmp/bad" --state-reserve 4Mb "$data" >/dev/null 2>"$tmp/bad.err"
rc=$?
[ $rc = 2 ] && grep -q -- '--state-reserve wants a size like 4MiB' "$tmp/bad.err" ||
	fail "--state-reserve 4Mb: exit $rc, $(cat "$tmp/bad.err")"
printf 'owners: x.yaml\nstate_reserve: lots\n' >"$tmp/bad.yaml"
"$VIGIL" replay -c "$tmp/bad.yaml" --state "$tmp/bad" "$data" >/dev/null 2>"$tmp/bad2.err"
rc=$?
[ $rc = 1 ] && grep -q "bad.yaml:2:16: state_reserve: 'lots' is not a size" "$tmp/bad2.err" ||
	fail "state_reserve: lots: exit $rc, $(cat "$tmp/bad2.err")"

echo "== /metrics"
"$VIGIL" replay "${demo[@]}" --state "$tmp/srv" --serve 127.0.0.1:0 --port-file "$tmp/port" "$data" >/dev/null 2>"$tmp/srv.err" &
srv=$!
for _ in $(seq 1 100); do
	[ -s "$tmp/port" ] && curl -sf "http://127.0.0.1:$(cat "$tmp/port")/readyz" >/dev/null && break
	sleep 0.2
done
curl -sf "http://127.0.0.1:$(cat "$tmp/port" 2>/dev/null)/metrics" >"$tmp/metrics.txt" || fail "GET /metrics"
v=$(awk '$1 == "vigil_gateway_log_reserve_bytes" {printf "%d", $2}' "$tmp/metrics.txt")
between "${v:--1}" $((4 * MiB - 128 * 1024)) $((4 * MiB + 8192)) "vigil_gateway_log_reserve_bytes"
grep -q '^vigil_gateway_log_reserve_short_total 0$' "$tmp/metrics.txt" ||
	fail "vigil_gateway_log_reserve_short_total: $(grep reserve_short "$tmp/metrics.txt")"
kill -TERM "$srv"
wait "$srv" || fail "replay --serve exit $? after SIGTERM"
srv=

[ $fails = 0 ] && echo "PASS e2e_state_reserve" || { echo "$fails failure(s)"; exit 1; }
