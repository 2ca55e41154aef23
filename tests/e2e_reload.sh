#!/usr/bin/env bash
# End-to-end: `vigil replay --watch-rules` reading a live stream (a FIFO)
# reloads its rules on SIGHUP and on a file change, between two points:
#  - SIGHUP, valid change: the removed rule's open episode resolves with
#    resolve_reason=rule_removed; an unchanged rule's model is kept (a spike
#    right after the reload fires, which needs 20 points of warm-up); a new
#    rule on the same series is still warming up and does not fire;
#  - file change, invalid: the error is logged with file:line:column, the
#    running set stays, the counter says 1;
#  - file change, valid: picked up without a signal, the kept model fires
#    again on another series; /metrics shows the version and the counters.
# $VIGIL is the binary under test.
set -uo pipefail
VIGIL=${VIGIL:-bin/vigil}
cd "$(dirname "$0")/.." || exit 1
tmp=$(mktemp -d)
pid=
cleanup() { exec 3>&- 2>/dev/null; [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
fails=0
check() { # check NAME CONDITION...
  local name=$1; shift
  if "$@"; then echo "ok   $name"; else echo "FAIL $name"; fails=$((fails+1)); fi
}

mkdir -p "$tmp/rules"
cat >"$tmp/owners.yaml" <<YAML
owners:
  - name: team
    destinations: [{type: file, path: $tmp/out.jsonl}]
YAML
mad() { # mad NAME SERIES Z [EXTRA]
  printf '  - name: %s\n    series: "%s"\n    detector: mad\n    params: {window: 20, min_points: 20, z_threshold: %s}\n    action: page\n    owner: team\n%s' "$1" "$2" "$3" "${4:-}"
}
put_rules() { # atomically, as an editor or a deploy would
  { echo "rules:"; cat; } >"$tmp/next.yaml" && mv "$tmp/next.yaml" "$tmp/rules/r.yaml"
}
{ mad keep "x*" 6; mad gone y 6 "    keep_firing_for: 1d
"; } | put_rules

t=1000000
start() { # start [--watch-rules]: a replay reading the FIFO $tmp/in, notifications to $tmp/out.jsonl
  rm -f "$tmp/in" "$tmp/out.jsonl" "$tmp/port"; : >"$tmp/err"
  mkfifo "$tmp/in"
  "$VIGIL" replay --rules "$tmp/rules" --owners "$tmp/owners.yaml" "$@" --format json \
    --serve 127.0.0.1:0 --port-file "$tmp/port" "$tmp/in" 2>"$tmp/err" &
  pid=$!
  exec 3>"$tmp/in"
}
finish() { # end of input: the replay drains, then serves until SIGTERM
  exec 3>&-
  check "$1: replay served after the input" wait_log "input replayed; serving"
  port=$(cat "$tmp/port")
  metrics=$(curl -fsS "http://127.0.0.1:$port/metrics")
  api_rules=$(curl -fsS "http://127.0.0.1:$port/api/v1/rules")
  api_status=$(curl -fsS "http://127.0.0.1:$port/api/v1/rules/status")
  kill -TERM "$pid"; wait "$pid"; pid=
}
pt() { printf '{"series": "%s", "ts": %d, "value": %s}\n' "$1" "$2" "$3" >&3; }
wait_log() { # wait_log PATTERN: up to 10 s
  for _ in $(seq 100); do grep -q "$1" "$tmp/err" && return 0; sleep 0.1; done; return 1
}
warm() { # 30 ordinary points on x1, x2, y
  for i in $(seq 30); do
    t=$((t + 60)); pt x1 $t $((100 + i % 3)); pt x2 $t $((200 + i % 3)); pt y $t $((50 + i % 2))
  done
}
notified() { # notified WANT...: the notifications, keep's resolves aside, are exactly WANT (rule/series/status/reason)
  python3 - "$tmp/out.jsonl" "$@" <<'PY'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
got = sorted("/".join((e["rule"], e["series"], e["status"], e["labels"].get("resolve_reason", ""))) for e in ev
             if not (e["rule"] == "keep" and e["status"] == "resolved"))
want = sorted(sys.argv[2:])
if got != want:
    print("   want %s\n   got  %s" % (want, got)); sys.exit(1)
PY
}

# 1. SIGHUP (no watch): a file change alone changes nothing; SIGHUP reloads
start
warm
t=$((t + 60)); pt y $t 5000            # 'gone' fires
{ mad keep "x*" 6; mad fresh x1 6; } | put_rules   # 'gone' removed, 'fresh' added, 'keep' unchanged
sleep 0.8
t=$((t + 60)); pt x2 $t 201
sleep 0.3
check "no watch: a file change alone does not reload" bash -c "! grep -q rules_reloaded '$tmp/err'"
kill -HUP "$pid"
sleep 0.3
t=$((t + 60)); pt x1 $t 5000           # the reload is applied before this point
check "SIGHUP: reload logged with the new version" wait_log "event=rules_reloaded version=[0-9a-f]\{16\} rules=2 reloads=1"
check "SIGHUP: removed rule's episode resolved (log)" grep -q "event=episode_resolved reason=rule_removed rule=gone series=y" "$tmp/err"
{ mad keep "x*" 6; printf '  - name: broken\n    series: x1\n    treshold: 0.5\n    owner: team\n'; } | put_rules
kill -HUP "$pid"
sleep 0.3
t=$((t + 60)); pt x2 $t 202            # the refused reload is tried before this point
check "SIGHUP: an invalid change is refused" wait_log "event=rules_reload_failed"
finish "SIGHUP"
check "API: the refused change's error with its position, the running set valid" python3 -c '
import json, sys
s = json.loads(sys.argv[1])
assert s["reloads"] == 1 and s["reload_errors"] == 1 and s["rules"] == 2, s
assert "r.yaml:" in s["last_error"] and "unknown key" in s["last_error"] and "treshold" in s["last_error"], s
assert s["state"].startswith("running the last valid set"), s' "$api_status"
check "API: the rules running are the reloaded ones" python3 -c '
import json, sys
assert sorted(r["name"] for r in json.loads(sys.argv[1])) == ["fresh", "keep"]' "$api_rules"
check "SIGHUP: kept model fired right after the reload, the new rule did not, 'gone' resolved as rule_removed" \
  notified gone/y/firing/ gone/y/resolved/rule_removed keep/x1/firing/

# 2. the file watch: an invalid change, then a valid one
{ mad keep "x*" 6; mad gone y 6; } | put_rules
start --watch-rules
check "watch: the version is logged at start" wait_log "event=rules_loaded version=[0-9a-f]\{16\} rules=2"
warm
{ mad keep "x*" 6; printf '  - name: broken\n    series: x1\n    treshold: 0.5\n    owner: team\n'; } | put_rules
sleep 0.8
t=$((t + 60)); pt x1 $t 101
check "invalid change: error with position" wait_log "event=rules_reload_failed .*reload_errors=1 error=\"$tmp/rules/r.yaml:[0-9]*:[0-9]*: unknown key 'treshold'"
check "invalid change: the running set stays" grep -q "the running rules stay" "$tmp/err"
{ mad keep "x*" 6; mad gone y 6; mad other y 6; } | put_rules
sleep 0.8
t=$((t + 60)); pt x2 $t 9000           # applied before this point; keep's model on x2 is warm
check "valid change picked up without a signal" wait_log "rules=3 reloads=1"
finish "watch"
ver=$(grep -o 'rules_reloaded version=[0-9a-f]*' "$tmp/err" | tail -1 | cut -d= -f2)
check "/metrics: version of the running set" grep -qx "vigil_rules_version_info{version=\"$ver\"} 1" <<<"$metrics"
check "/metrics: reloads" grep -qx "vigil_rules_reloads_total 1" <<<"$metrics"
check "/metrics: reload errors" grep -qx "vigil_rules_reload_errors_total 1" <<<"$metrics"
check "API: the rules as running now (after the reload)" python3 -c '
import json, sys
names = sorted(r["name"] for r in json.loads(sys.argv[1]))
assert names == ["gone", "keep", "other"], names' "$api_rules"
check "API: rule set status after the later valid change" python3 -c '
import json, sys
s = json.loads(sys.argv[1])
assert s["version"] == sys.argv[2] and s["reloads"] == 1 and s["reload_errors"] == 1 and s["rules"] == 3, s
assert s["last_error"] is None and s["state"] == "valid", s' "$api_status" "$ver"
check "summary: version and counters" grep -q "rules_version=$ver reloads=1 reload_errors=1" "$tmp/err"
check "watch: the kept model fired right after the reload" notified keep/x2/firing/

echo "e2e_reload: $fails failed"
[ "$fails" -eq 0 ]
