#!/usr/bin/env bash
# Kafka e2e: on-call control through the control topic, across kill -9 of
# gateway members (`vigil gateway -c`, the embedded broker, a real HTTP
# receiver behind webhook destinations; every notification is counted per
# receiver path: none missing, none extra).
#  0. CLI argument errors: clear messages, exit 2 (usage) or 1 (failure),
#     nothing published; a control topic whose partition count differs from
#     the alerts topic's is refused by the CLI and the gateway.
#  1. Single process (--state DIR): commands appended to DIR/control.jsonl,
#     20 at once without a torn line; `silence list --state` merges the
#     silences of DIR/gateway.log ("put" records, newest wins, null deletes)
#     with the appended commands; `ack --state` finds the owner there.
#  2. Silences on Kafka: bad control records are rejected with their position
#     and reason, counted, and do not block the next one; `vigil silence add` publishes through Kafka (no member
#     involved); the member that owns the owner's partition applies it,
#     under the id the CLI printed, and snapshots it; that member is killed
#     with -9; an alert matching the silence and one that does not are
#     produced: the survivor takes the partition over (the silence comes
#     from the snapshot: nothing replayed), delivers the second only;
#     `silence list` shows the silence active and `silence preview` the muted
#     alert; `silence expire` ends it and the muted alert is delivered, once.
#  3. Escalation: a page to an owner with the policy alice at once, bob after
#     BOB_AFTER seconds; the member owning the partition is killed with -9
#     after alice was paged; the other member takes over and pages bob on
#     time, exactly once; `vigil ack` (owner looked up in the snapshots)
#     tells everyone reached, once.
#  4. `vigil oncall` from the owners file alone.
source "$(dirname "$0")/fixtures/kafka/lib.sh"
kt_receivers
kt_timeout 400
BOB_AFTER=${BOB_AFTER:-30} # > kill + take-over (session timeout 6 s + a rebalance, ~11 s) with slack

kt_broker 3
port=$(rt_free_port)
rt_receiver recv "$port"
hook="http://127.0.0.1:$port/hook"
retry="timeout: 2s, retry_initial: 200ms, retry_max: 1s, max_attempts: 1000, max_age: 10m"
cat >"$KT_DIR/owners.yaml" <<EOT
owners:
  - name: kt-team
    destinations: [{type: file, path: $KT_DIR/kt-team.jsonl}]
  - name: storage
    destinations: [{type: webhook, url: "$hook/storage", $retry}]
  - name: esc
    destinations: [{type: webhook, url: "$hook/esc", $retry}]
    people:
      - {name: alice, destinations: [{type: webhook, url: "$hook/alice", $retry}]}
      - {name: bob, destinations: [{type: webhook, url: "$hook/bob", $retry}]}
    schedules:
      - {name: primary, time_zone: UTC, rotation: [alice, bob], shift: 1d, start: "2026-01-05 09:00"}
    escalation:
      levels:
        - {after: 0s, person: alice}
        - {after: ${BOB_AFTER}s, person: bob}
EOT
for g in cli g1 g2 g3; do
	kt_config $g
	cp "$KT_DIR/owners.yaml" "$KT_DIR/owners-$g.yaml"
done
CFG=$KT_DIR/cli.yaml

# run EXPECTED_RC NAME ARGS...: vigil ARGS, stdout/stderr to NAME.out/.err
run() {
	local want=$1 name=$2 rc
	shift 2
	"$VIGIL" "$@" >"$KT_DIR/$name.out" 2>"$KT_DIR/$name.err"
	rc=$?
	[ "$rc" = "$want" ] || kt_fail "vigil $* exited $rc, want $want: $(cat "$KT_DIR/$name.err")"
}
# says NAME PATTERN: NAME's stderr (.err) or stdout (.out) holds PATTERN
says() { grep -q -- "$2" "$KT_DIR/$1.err" "$KT_DIR/$1.out" || kt_fail "$1: no '$2' in: $(cat "$KT_DIR/$1.err" "$KT_DIR/$1.out")"; }
# alert LINE...: publish alert events to the alerts topic keyed by owner
# (each line also reads as a JSON metric point whose tag owner is the key)
alert() {
	printf '%s\n' "$@" >"$KT_DIR/alert.jsonl"
	"$VIGIL" produce -b "$KT_BOOT" -t alerts --format json --key group:owner "$KT_DIR/alert.jsonl" \
		2>>"$KT_DIR/produce.log" || kt_fail "produce $*"
}
ev() { # ev OWNER STATUS RULE LABEL=VALUE STARTS ACTION
	printf '{"status":"%s","rule":"%s","owner":"%s","labels":{"%s":"%s"},"startsAt":"%s","action":"%s","metric":"alert","tags":{"owner":"%s"},"ts":"%s","value":1}' \
		"$2" "$3" "$1" "${4%%=*}" "${4#*=}" "$5" "$6" "$1" "$5"
}
# notes: one line per accepted notification: "path status value-of-host-or-q time"
notes() {
	python3 - "$KT_DIR/recv.jsonl" <<'PY'
import sys, json
for l in open(sys.argv[1]):
    r = json.loads(l)
    if not r["answer"].startswith("2"):
        continue
    for a in json.loads(r["body"])["alerts"]:
        lab = a.get("labels", {})
        print(r["path"].rsplit("/", 1)[1], a["status"], lab.get("host", lab.get("q", "-")),
              a.get("annotations", {}).get("episode", "-"), "%.3f" % r["time"])
PY
}
# count PATH STATUS KEY [AFTER]: accepted notifications (STATUS any: every status;
# AFTER: received after that Unix time)
count() {
	notes | awk -v p="$1" -v s="$2" -v k="$3" -v t="${4:-0}" \
		'$1 == p && (s == "any" || $2 == s) && $3 == k && $5 > t + 0' | wc -l
}
# want PATH STATUS KEY N: exactly N such notifications
want() { local n; n=$(count "$1" "$2" "$3" "${5:-0}"); [ "$n" = "$4" ] || kt_fail "$1 $2 $3${5:+ after $5}: $n notifications, want $4 (all: $(notes | tr '\n' ';'))"; }
at_least() { [ "$(count "$1" "$2" "$3" "${5:-0}")" -ge "$4" ]; }
# owner_of P NAME...: the members whose logs say they follow control partition P
owner_of() {
	python3 - "$1" "$KT_DIR" "${@:2}" <<'PY'
import sys, re
p, d, names = sys.argv[1], sys.argv[2], sys.argv[3:]
out = []
for n in names:
    own = set()
    try:
        lines = open("%s/%s.log" % (d, n), errors="replace").readlines()
    except FileNotFoundError:
        lines = []
    for l in lines:
        m = re.search(r"event=control_(assigned|revoked) topic=\S+ partition=(\d+)", l)
        if m:
            (own.add if m.group(1) == "assigned" else own.discard)(m.group(2))
    if p in own:
        out.append(n)
print(" ".join(out))
PY
}
# split A B: the two members follow all 3 control partitions, each at least one
split() {
	local a b
	a=$(for p in 0 1 2; do owner_of $p "$1"; done | grep -c .)
	b=$(for p in 0 1 2; do owner_of $p "$2"; done | grep -c .)
	[ "$a" -ge 1 ] && [ "$b" -ge 1 ] && [ $((a + b)) = 3 ]
}
published() { "$VIGIL" consume -b "$KT_BOOT" -t alerts.control 2>/dev/null | grep -c . || true; }

# ---- 0. argument errors, before any member runs ----
S=(silence add -c "$CFG" --author alice --comment "disk swap" --duration 1h)
run 2 e1 "${S[@]}" --owner nobody 'host=db1'
says e1 "--owner 'nobody': no such owner"
says e1 "known: kt-team, storage, esc"
run 2 e2 "${S[@]}" --owner storage 'cluster=~eu-('
says e2 "MATCHER 'cluster=~eu-('"
run 2 e3 silence add -c "$CFG" --author alice --duration 1h --owner storage 'host=db1'
says e3 "--comment C (why) is required"
run 2 e4 silence add -c "$CFG" --author alice --comment x --owner storage 'host=db1'
says e4 "give --duration D or --ends T"
run 2 e5 silence add -c "$CFG" --author a --comment x --owner storage --duration 5x 'host=db1'
says e5 "--duration '5x'"
run 2 e6 silence add -c "$CFG" --author a --comment x --owner storage --ends 2020-01-01T00:00:00Z 'host=db1'
says e6 "not in the future"
run 2 e7 silence add -c "$CFG" --author a --comment x --owner storage --duration 1h
says e7 "at least one MATCHER"
run 2 e8 silence add -c "$CFG" --bogus
says e8 "unknown option '--bogus'"
run 2 e9 silence expire -c "$CFG" --owner storage s-xyz
says e9 "ID 's-xyz': not a silence id"
run 2 e10 ack -c "$CFG" 12345
says e10 "EPISODE '12345': not an episode id"
run 2 e11 silence add --state "$KT_DIR/owners.yaml" --owners "$KT_DIR/owners.yaml" --author a --comment x \
	--owner storage --duration 1h 'host=db1'
says e11 "--state $KT_DIR/owners.yaml: not a directory"
run 1 e12 ack -c "$CFG" 0123456789abcdef
says e12 "episode 0123456789abcdef is not an open alert"
run 1 e13 silence expire -c "$CFG" --owner storage s-0123456789abcdef
says e13 "no silence s-0123456789abcdef of owner storage"
run 2 e14 oncall --owners "$KT_DIR/owners.yaml" nobody
says e14 "OWNER 'nobody': no such owner"
# a control topic with another partition count than the alerts topic (here
# one the broker auto-creates with 4): the CLI and the gateway refuse it,
# naming both topics and counts
kt_config bad "control_topic: alerts.ctl2"
cp "$KT_DIR/owners.yaml" "$KT_DIR/owners-bad.yaml"
want_msg="the control topic alerts.ctl2 has 4 partitions and the alerts topic alerts has 3"
run 1 e15 silence add -c "$KT_DIR/bad.yaml" --owner storage --author a --comment c --duration 1h 'host=db1'
says e15 "$want_msg"
"$VIGIL" gateway -c "$KT_DIR/bad.yaml" >"$KT_DIR/bad.out" 2>"$KT_DIR/bad.log" &
bad_pid=$!
KT_PIDS+=($bad_pid)
gone() { ! kt_alive "$bad_pid"; }
kt_wait 30 "the gateway with a mismatched control topic exits" gone
wait "$bad_pid" && kt_fail "the gateway with a mismatched control topic exited 0"
grep -q "event=startup_failed err=\"$want_msg" "$KT_DIR/bad.log" || kt_fail "gateway: $(tail -n 3 "$KT_DIR/bad.log")"
n=$(published)
[ "$n" = 0 ] || kt_fail "$n control records published by commands that failed"
kt_log "argument errors: clear messages, exit 2/1, nothing published"

# ---- 1. single process: --state DIR, commands appended to DIR/control.jsonl ----
D=$KT_DIR/state
mkdir -p "$D"
sil() { # sil KEY HOST COMMENT: a gateway.log put of a silence as silence_to_json writes it
	printf '{"op":"put","ns":"s","key":"%s","v":{"id":"s-%s","owner":"storage","matchers":["host=\\"%s\\""],"starts_at":"2026-01-01T00:00:00Z","ends_at":"2099-01-01T00:00:00Z","created_at":"2026-01-01T00:00:00Z","created_by":"ops","comment":"%s","state":"active"}}\n' "$1" "$1" "$2" "$3"
}
{
	sil 00000000000000a1 db9 "from the log"
	sil 00000000000000a2 db8 "deleted later"
	echo '{"op":"put","ns":"s","key":"00000000000000a2","v":null}'
	echo '{"op":"put","ns":"g","key":"00000000000000b1","v":{"key":"00000000000000b1","owner":"esc","alerts":[{"ep":"00000000000000e1","labels":{"q":"x","alertname":"QueueStuck"},"status":0}]}}'
} >"$D/gateway.log"
L=(--state "$D" --owners "$KT_DIR/owners.yaml")
run 0 l1 silence add "${L[@]}" --owner storage --author bob --comment local --duration 2h 'host=db7'
lid=$(head -n 1 "$KT_DIR/l1.out")
says l1 "published to $D/control.jsonl"
par=()
for i in $(seq 20); do
	"$VIGIL" silence add "${L[@]}" --owner storage --author bob --comment "parallel $i" --duration 2h "host=p$i" \
		>"$KT_DIR/par$i.out" 2>&1 &
	par+=($!)
done
for p in "${par[@]}"; do wait "$p" || kt_fail "a parallel silence add failed: $(cat "$KT_DIR"/par*.out)"; done
python3 - "$D/control.jsonl" <<'PY' || kt_fail "control.jsonl after 21 appends (20 concurrent)"
import sys, json
lines = open(sys.argv[1]).read().split("\n")
assert lines[-1] == "", "no newline at the end"
cmds = [json.loads(l) for l in lines[:-1]]
assert len(cmds) == 21, len(cmds)
assert all(c["schema"] == "vigil.control/v1" and c["op"] == "silence_add" for c in cmds)
assert sorted(c["silence"]["comment"] for c in cmds) == sorted(["local"] + ["parallel %d" % i for i in range(1, 21)])
assert all(c["silence"]["created_at"] and c["silence"]["ends_at"] for c in cmds)
PY
run 0 l2 silence list --state "$D" --json
python3 - "$KT_DIR/l2.out" "$lid" <<'PY' || kt_fail "silence list --state: $(cat "$KT_DIR/l2.out")"
import sys, json
rows = {r["id"]: r for r in json.load(open(sys.argv[1]))}
assert len(rows) == 22, sorted(rows)
assert rows["s-00000000000000a1"]["comment"] == "from the log" and rows["s-00000000000000a1"]["state"] == "active"
assert "s-00000000000000a2" not in rows
assert rows[sys.argv[2]]["comment"] == "local" and rows[sys.argv[2]]["state"] == "active"
PY
run 0 l3 ack --state "$D" --author carol 00000000000000E1
says l3 "acknowledged episode 00000000000000e1 of esc as carol"
tail -n 1 "$D/control.jsonl" | grep -q '"op":"ack".*"episode":"00000000000000e1"' || kt_fail "ack line: $(tail -n 1 "$D/control.jsonl")"
run 0 l4 silence expire "${L[@]}" --owner storage "$lid"
run 0 l5 silence list --state "$D" --owner storage
grep -q "^$lid  *storage  *expired " "$KT_DIR/l5.out" || kt_fail "after expire --state: $(cat "$KT_DIR/l5.out")"
run 2 l6 silence add --state "$D" --owner storage --author a --comment c --duration 1h 'host=x'
says l6 "--owners FILE (or --rules PATH) is required with --state"
[ "$(wc -l <"$D/control.jsonl")" = 23 ] || kt_fail "control.jsonl: $(wc -l <"$D/control.jsonl") lines, want 23"
kt_log "single process: 21 appends (20 concurrent) intact, listed with gateway.log's silences, ack and expire appended"

# ---- 2. a silence survives kill -9 of the member that applied it ----
kt_gateway g1
kt_gateway g2
kt_wait 60 "g1 and g2 share the 3 partitions" split g1 g2
# bad control records first: logged with their position and reason, counted,
# skipped; the silence published after them is still applied
m='"metric":"x","tags":{"owner":"storage"},"ts":"2026-03-02T08:15:00Z","value":1'
printf '%s\n' "{\"schema\":\"vigil.control/v1\",\"op\":\"bogus\",$m}" \
	"{\"op\":\"silence_add\",\"silence\":{\"owner\":\"storage\",\"matchers\":[\"host=~(\"],\"created_by\":\"a\",\"comment\":\"c\",\"duration\":\"1h\"},$m}" \
	'not json' >"$KT_DIR/bad.jsonl"
"$VIGIL" produce -b "$KT_BOOT" -t alerts.control --format json --key group:owner "$KT_DIR/bad.jsonl" \
	2>>"$KT_DIR/produce.log" || kt_fail "produce bad control records"
rejected() { [ "$(cat "$KT_DIR"/g[123].log 2>/dev/null | grep -c 'event=control_rejected topic=alerts.control partition=[0-9] offset=[0-9]')" = "$1" ]; }
kt_wait 20 "three bad control records rejected" rejected 3
for why in "control: unknown op 'bogus'" "silence: matchers\[0\]: " "not a JSON object"; do
	grep -q "event=control_rejected .* err=\"$why" "$KT_DIR"/g[12].log || kt_fail "no control_rejected line with '$why'"
done
run 0 add silence add -c "$CFG" --owner storage --author alice --comment "disk swap" --duration 1h \
	'alertname=DiskFull' 'host=~db1|db2'
id=$(head -n 1 "$KT_DIR/add.out")
[[ "$id" =~ ^s-[0-9a-f]{16}$ ]] || kt_fail "silence add printed '$id', not an id"
P=$(sed -n 's/.*published to alerts.control partition \([0-9]*\) offset.*/\1/p' "$KT_DIR/add.out")
[ -n "$P" ] || kt_fail "no partition in: $(cat "$KT_DIR/add.out")"
M=$(owner_of "$P" g1 g2)
case "$M" in g1 | g2) ;; *) kt_fail "members following control partition $P: '$M'" ;; esac
applied() { grep -q "event=control_applied topic=alerts.control partition=$P offset=[0-9]* op=silence_add owner=storage id=$id" "$KT_DIR/$M.log"; }
kt_wait 20 "$M applied the silence under the id the CLI printed ($id)" applied
saved() { sed -n '/event=control_applied.*op=silence_add/,$p' "$KT_DIR/$M.log" | grep -q 'event=control_checkpoint'; }
kt_wait 10 "$M snapshotted partition $P with the silence" saved
S2=$([ "$M" = g1 ] && echo g2 || echo g1)
eval "kill -9 \$KT_PID_$M"
kt_log "killed $M (control partition $P, silence $id); $S2 takes over"
t0=2026-03-02T08:15:00Z
alert "$(ev storage firing DiskFull host=db1 $t0 page)" "$(ev storage firing DiskFull host=db3 $t0 page)"
kt_wait 90 "$S2 delivered the unsilenced alert (db3)" at_least storage firing db3 1
took=$(grep -o "event=control_assigned topic=alerts.control partition=$P from=[0-9-]* next=[0-9]* replayed=[0-9]*" "$KT_DIR/$S2.log" | tail -n 1)
[[ "$took" =~ from=([0-9]+)\ next=([0-9]+)\ replayed=0$ ]] && [ "${BASH_REMATCH[1]}" -ge 1 ] ||
	kt_fail "$S2 should have taken partition $P over from a snapshot holding the silence (control_next >= 1, nothing replayed): '$took'"
sleep 3 # the muted one would have come with it
want storage firing db1 0
want storage firing db3 1
run 0 list silence list -c "$CFG" --owner storage --json
python3 - "$KT_DIR/list.out" "$id" <<'PY' || kt_fail "silence list: $(cat "$KT_DIR/list.out")"
import sys, json
rows = json.load(open(sys.argv[1]))
assert len(rows) == 1, rows
r = rows[0]
assert r["id"] == sys.argv[2] and r["state"] == "active" and r["owner"] == "storage", r
assert r["created_by"] == "alice" and r["comment"] == "disk swap", r
assert r["matchers"] == ['alertname="DiskFull"', 'host=~"db1|db2"'], r["matchers"]
PY
run 0 table silence list -c "$CFG"
grep -q "^$id  *storage  *active " "$KT_DIR/table.out" || kt_fail "silence list table: $(cat "$KT_DIR/table.out")"
muted() { "$VIGIL" silence preview -c "$CFG" --owner storage 'host=~db1|db2' >"$KT_DIR/preview.out" 2>&1 && grep -q "^1 open alert of storage would be muted" "$KT_DIR/preview.out"; }
kt_wait 20 "silence preview lists the muted alert" muted
grep -q "DiskFull.*host=db1" "$KT_DIR/preview.out" || kt_fail "preview: $(cat "$KT_DIR/preview.out")"
run 0 expire silence expire -c "$CFG" --owner storage "$id"
kt_wait 30 "the muted alert delivered once the silence expired" at_least storage firing db1 1
sleep 3
want storage firing db1 1
want storage firing db3 1
run 0 list2 silence list -c "$CFG" --owner storage --json
grep -q '"state": "expired"' "$KT_DIR/list2.out" || kt_fail "after expire: $(cat "$KT_DIR/list2.out")"
kt_log "silence: applied under the printed id, survived kill -9 of $M, listed, expired, muted alert then delivered"

# ---- 3. escalation on time across kill -9 ----
kt_gateway g3
kt_wait 60 "$S2 and g3 share the 3 partitions" split "$S2" g3
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
alert "$(ev esc firing QueueStuck q=orders "$now" page)"
kt_wait 30 "alice paged" at_least alice firing orders 1
Q=$("$VIGIL" consume -b "$KT_BOOT" -t alerts 2>/dev/null | python3 -c '
import sys, json
for l in sys.stdin:
    m = json.loads(l)
    if m["key"] == "esc": print(m["partition"])' | tail -n 1)
E=$(owner_of "$Q" "$S2" g3)
case "$E" in "$S2" | g3) ;; *) kt_fail "members following partition $Q: '$E'" ;; esac
sleep 2.5 # a checkpoint interval and more: the snapshot has alice's page done
eval "kill -9 \$KT_PID_$E"
E2=$([ "$E" = g3 ] && echo "$S2" || echo g3)
kt_log "killed $E (partition $Q) after alice's page; $E2 takes over; bob is due ${BOB_AFTER}s after alice"
kt_wait $((BOB_AFTER + 60)) "bob paged" at_least bob firing orders 1
sleep 5 # anything paged twice shows up now
want alice firing orders 1
want bob firing orders 1
want esc firing orders 1
ta=$(notes | awk '$1 == "alice" && $2 == "firing" {print $5}')
tb=$(notes | awk '$1 == "bob" && $2 == "firing" {print $5}')
python3 -c "import sys; d = $tb - $ta; sys.exit(0 if $BOB_AFTER - 1 <= d <= $BOB_AFTER + 6 else 1)" ||
	kt_fail "bob paged $(python3 -c "print(round($tb - $ta, 1))") s after alice, want ${BOB_AFTER} s (+6 s slack)"
grep -q "event=gateway_partition_assigned partition=$Q snapshot=yes" "$KT_DIR/$E2.log" || kt_fail "$E2 did not restore partition $Q from a snapshot"
ep=$(notes | awk '$1 == "alice" {print $4}' | head -n 1)
t_ack=$(date +%s.%N)
run 0 ack ack -c "$CFG" --author carol --comment "on it" "$ep"
says ack "acknowledged episode $ep of esc as carol"
kt_wait 30 "the acknowledgement reached everyone paged" at_least bob any orders 1 "$t_ack"
sleep 3
for p in esc alice bob; do # the page before the ack, the acknowledgement after it
	want $p any orders 2
	want $p any orders 1 "$t_ack"
done
want storage firing db1 1
want storage firing db3 1
rejected 3 || kt_fail "control records rejected again after a take-over (replayed?)"
kt_log "escalation: alice once, $E killed, bob paged by $E2 $(python3 -c "print(round($tb - $ta, 1))") s after alice, once; ack to all three once"

# ---- 4. who is on call, from the owners file alone ----
run 0 oncall oncall --owners "$KT_DIR/owners.yaml" --at 2026-01-05T10:00:00Z esc
grep -q "^esc  *primary  *alice  *2026-01-06T09:00:00Z  *bob  *2026-01-07T09:00:00Z" "$KT_DIR/oncall.out" ||
	kt_fail "oncall: $(cat "$KT_DIR/oncall.out")"
run 0 oncall2 oncall -c "$CFG" --json --at 2026-01-06T10:00:00Z
grep -q '"now": "bob"' "$KT_DIR/oncall2.out" || kt_fail "oncall --json: $(cat "$KT_DIR/oncall2.out")"
kt_log "PASS"
