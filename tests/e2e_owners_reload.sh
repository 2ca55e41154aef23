#!/usr/bin/env bash
# End-to-end: `vigil replay --watch-rules` reading a live stream (a FIFO)
# reloads its owners with its rules, destinations included, with real HTTP
# receivers behind webhook destinations:
#  - SIGHUP, a valid change of rules and owners: team-a's webhook moves from
#    receiver 1 to receiver 2, team-b is added with its own webhook and a
#    rule: team-b's alert reaches its new destination, team-a's next alert
#    goes to the new URL, and team-a's episode open across the reload is not
#    sent again (its model and episode go on);
#  - file change, an invalid owners file: the error is logged with
#    owners.yaml:line:column, the running set stays (the next alert still
#    goes to receiver 2), the counter says 1;
#  - a rotated secret (team-b's URL is `file:`): SIGHUP with the same files
#    builds team-b's webhook again, its next alert goes to the new URL (not
#    a reload of the rules: the counters stay).
# $VIGIL is the binary under test.
set -uo pipefail
VIGIL=${VIGIL:-bin/vigil}
cd "$(dirname "$0")/.." || exit 1
tmp=$(mktemp -d /tmp/vigil-ownreload.XXXXXX)
RT_DIR=$tmp
RT_PIDS=()
pid=
fails=0
check() { # check NAME CONDITION...
	local name=$1
	shift
	if "$@"; then echo "ok   $name"; else echo "FAIL $name"; fails=$((fails + 1)); keep=1; fi
}
rt_fail() { echo "FAIL $*"; fails=$((fails + 1)); }
cleanup() {
	exec 3>&- 2>/dev/null
	[ -n "$pid" ] && kill "$pid" 2>/dev/null
	for p in "${RT_PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
	if [ "${keep:-0}" = 1 ]; then echo "kept $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
source tests/fixtures/receivers/lib.sh

p1=$(rt_free_port)
rt_receiver one "$p1"
p2=$(rt_free_port)
rt_receiver two "$p2"

mad() { # mad NAME SERIES OWNER
	printf '  - name: %s\n    series: "%s"\n    detector: mad\n    params: {window: 20, min_points: 20, z_threshold: 6}\n    action: notify\n    keep_firing_for: 1d\n    owner: %s\n' "$1" "$2" "$3"
}
put() { # put FILE: stdin to FILE atomically, as an editor or a deploy would
	cat >"$tmp/next" && mv "$tmp/next" "$1"
}
mkdir -p "$tmp/rules"
{ echo "rules:"; mad ra "a*" team-a; } | put "$tmp/rules/r.yaml"
put "$tmp/owners.yaml" <<YAML
owners:
  - name: team-a
    destinations: [{type: webhook, url: "http://127.0.0.1:$p1/hook/a"}]
YAML

rm -f "$tmp/in"
mkfifo "$tmp/in"
"$VIGIL" replay --rules "$tmp/rules" --owners "$tmp/owners.yaml" --watch-rules --format json \
	--serve 127.0.0.1:0 --port-file "$tmp/port" "$tmp/in" 2>"$tmp/err" &
pid=$!
exec 3>"$tmp/in"
t=1000000
pt() { printf '{"series": "%s", "ts": %d, "value": %s}\n' "$1" "$2" "$3" >&3; }
wait_log() { # wait_log PATTERN: up to 10 s
	for _ in $(seq 100); do grep -q "$1" "$tmp/err" && return 0; sleep 0.1; done
	return 1
}
warm() { # 30 ordinary points on a1, a2, a3, b1, b2
	for i in $(seq 30); do
		t=$((t + 60))
		pt a1 $t $((100 + i % 3)); pt a2 $t $((200 + i % 3)); pt a3 $t $((300 + i % 3))
		pt b1 $t $((50 + i % 2)); pt b2 $t $((60 + i % 2))
	done
}
# wait_hook NAME PATH SERIES: receiver NAME got a firing of SERIES on PATH (10 s)
wait_hook() {
	for _ in $(seq 100); do hooks "$1" | grep -qx "$2 $3 firing" && return 0; sleep 0.1; done
	return 1
}
hooks() { # the alerts receiver NAME accepted: "PATH SERIES STATUS" lines
	python3 - "$tmp/$1.jsonl" <<'PY'
import json, sys, os
if os.path.exists(sys.argv[1]):
    for l in open(sys.argv[1]):
        r = json.loads(l)
        if r["answer"].startswith("2"):
            for a in json.loads(r["body"])["alerts"]:
                print(r["path"], a["labels"].get("series", a["labels"].get("__name__", "?")), a["status"])
PY
}

check "start: the version is logged" wait_log "event=rules_loaded version=[0-9a-f]\{16\} rules=1 owners=1"
warm
t=$((t + 60)); pt a1 $t 5000 # team-a's episode opens (kept open: keep_firing_for 1d)
t=$((t + 60)); pt a2 $t 201
check "before: team-a's alert at receiver 1" wait_hook one /hook/a a1
hooks one >"$tmp/one.before"

# 1. SIGHUP: team-a's URL changes, team-b and its rule come
{ echo "rules:"; mad ra "a*" team-a; mad rb "b*" team-b; } | put "$tmp/rules/r.yaml"
put "$tmp/owners.yaml" <<YAML
owners:
  - name: team-a
    destinations: [{type: webhook, url: "http://127.0.0.1:$p2/hook/a2"}]
  - name: team-b
    destinations: [{type: webhook, url: "file:$tmp/b.url"}]
YAML
echo "http://127.0.0.1:$p2/hook/b" >"$tmp/b.url"
kill -HUP "$pid"
sleep 0.3
warm # the reload is applied before the first of these points; rb warms up
check "SIGHUP: rules and owners reloaded" wait_log "event=rules_reloaded version=[0-9a-f]\{16\} rules=2 reloads=1"
check "SIGHUP: the gateway logs the destinations kept, changed, added" \
	wait_log "event=owners_reloaded owners=2 destinations=3 kept=1 changed=1 added=1 removed=0"
t=$((t + 60)); pt b1 $t 9000 # team-b's first alert
t=$((t + 60)); pt a2 $t 9000 # team-a's next alert
check "added team: its alert delivered to its new destination" wait_hook two /hook/b b1
check "changed URL: team-a's next alert goes to the new URL" wait_hook two /hook/a2 a2
check "changed URL: nothing more at the old URL" cmp -s "$tmp/one.before" <(hooks one)
hooks two >"$tmp/two.now"
check "the episode open across the reload is not sent again" bash -c "! grep -q ' a1 ' '$tmp/two.now'"
check "rule ra's model and episode went on (no rule_changed)" bash -c "! grep -q 'reason=rule_changed' '$tmp/err'"

# 2. file change: an invalid owners file is refused with its position
put "$tmp/owners.yaml" <<YAML
owners:
  - name: team-a
    destinations: [{type: webhook, url: "http://127.0.0.1:$p1/hook/a"}]
  - name: team-b
    destinations: [{type: webhok, url: "http://127.0.0.1:$p1/hook/b"}]
YAML
sleep 0.8
t=$((t + 60)); pt a1 $t 101
check "invalid owners: error with owners.yaml:line:column" \
	wait_log "event=rules_reload_failed .*reload_errors=1 error=\"$tmp/owners.yaml:[0-9]*:[0-9]*: .*webhok"
check "invalid owners: the running set stays" grep -q "the running rules stay" "$tmp/err"
t=$((t + 60)); pt a3 $t 9000
check "invalid owners: the next alert still goes to the running destination" wait_hook two /hook/a2 a3
check "invalid owners: receiver 1 still got nothing more" cmp -s "$tmp/one.before" <(hooks one)

# 3. a rotated secret: team-b's URL file changes, the owners file is put
# back as it runs; SIGHUP builds team-b's webhook again with the new URL
put "$tmp/owners.yaml" <<YAML
owners:
  - name: team-a
    destinations: [{type: webhook, url: "http://127.0.0.1:$p2/hook/a2"}]
  - name: team-b
    destinations: [{type: webhook, url: "file:$tmp/b.url"}]
YAML
echo "http://127.0.0.1:$p1/hook/b-rotated" >"$tmp/b.url"
sleep 0.8 # the watch sees the owners file: the same set, not a reload
kill -HUP "$pid"
sleep 0.3
t=$((t + 60)); pt a1 $t 101 # the reload is tried before this point
check "rotated secret: the gateway builds team-b's webhook again" \
	wait_log "event=owners_reloaded owners=2 destinations=3 kept=2 changed=1 added=0 removed=0"
t=$((t + 60)); pt b2 $t 9000
check "rotated secret: team-b's next alert goes to the rotated URL" wait_hook one /hook/b-rotated b2
check "rotated secret: the URL's path is never logged" bash -c "! grep -q 'b-rotated' '$tmp/err'"

exec 3>&-
check "replay served after the input" wait_log "input replayed; serving"
port=$(cat "$tmp/port")
metrics=$(curl -fsS "http://127.0.0.1:$port/metrics")
kill -TERM "$pid"
wait "$pid"
pid=
check "/metrics: one reload" grep -qx "vigil_rules_reloads_total 1" <<<"$metrics"
check "/metrics: one reload error" grep -qx "vigil_rules_reload_errors_total 1" <<<"$metrics"
check "/metrics: the owners reloads that changed something (SIGHUP, the rotated secret)" \
	grep -qx "vigil_gateway_owner_reloads_total [23]" <<<"$metrics"
check "/metrics: nothing dropped (no destination was removed)" \
	grep -qx 'vigil_gateway_notifications_total{outcome="destination_removed"} 0' <<<"$metrics"
check "no secret or crash in the log" bash -c "! grep -qi 'sanitizer\|segv' '$tmp/err'"
if [ "${keep:-0}" = 1 ]; then
	echo "--- receiver one"; hooks one; echo "--- receiver two"; hooks two
	tail -20 "$tmp/err"
fi
echo "e2e_owners_reload: $fails failed"
[ "$fails" -eq 0 ]
