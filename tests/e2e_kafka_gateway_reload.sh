#!/usr/bin/env bash
# Kafka e2e: SIGHUP reloads the owners of the central gateway (`vigil
# gateway`). The owners file is reached through a directory symlink, so the
# change is seen by SIGHUP only (the file watch sees nothing): kt-team's
# file destination moves to a new path and a new owner kt-new comes with its
# own destination. After SIGHUP the gateway is still running, a firing for
# kt-new reaches kt-new's destination (not the fallback), kt-team's next
# firing goes to its new path, and kt-team's episode open across the reload
# is not sent again (its resolve goes to the new path).
source "$(dirname "$0")/fixtures/kafka/lib.sh"
kt_timeout 90
kt_broker 3
kt_config g1
mkdir -p "$KT_DIR/v1" "$KT_DIR/v2"
cat >"$KT_DIR/v1/owners.yaml" <<EOT
owners:
  - name: kt-team
    destinations: [{type: file, path: $KT_DIR/team-old.jsonl}]
EOT
cat >"$KT_DIR/v2/owners.yaml" <<EOT
owners:
  - name: kt-team
    destinations: [{type: file, path: $KT_DIR/team-new.jsonl}]
  - name: kt-new
    destinations: [{type: file, path: $KT_DIR/new.jsonl}]
EOT
ln -s v1 "$KT_DIR/cur"
sed -i "s|^owners: .*|owners: $KT_DIR/cur/owners.yaml|" "$KT_DIR/g1.yaml"
kt_gateway g1
alert() { # alert STATUS OWNER SERIES
	local end=
	[ "$1" = resolved ] && end=',"endsAt":"2026-03-02T09:00:00Z"'
	printf '{"status":"%s","rule":"disk-full","owner":"%s","series":"%s","startsAt":"2026-03-02T08:15:00Z"%s}\n' \
		"$1" "$2" "$3" "$end" | "$VIGIL" produce -b "$KT_BOOT" -t alerts --key none - 2>>"$KT_DIR/produce.log" ||
		kt_fail "produce $*"
}
lines() { [ "$(cat "$KT_DIR/$1" 2>/dev/null | wc -l)" -ge "$2" ]; }
alert firing kt-team 'disk.used{host=db1}'
kt_wait 30 "kt-team's firing at the old path" lines team-old.jsonl 1

ln -sfn v2 "$KT_DIR/cur.tmp" && mv -T "$KT_DIR/cur.tmp" "$KT_DIR/cur"
sleep 1 # the watch would have fired by now: it must not have
grep -q 'event=owners_reloaded' "$KT_DIR/g1.log" && kt_fail "the owners reloaded without SIGHUP"
kill -HUP "$KT_PID_g1"
has_log() { grep -q "$1" "$KT_DIR/g1.log"; }
kt_wait 20 "the gateway reloads its owners on SIGHUP" has_log 'event=owners_reloaded owners=2'
kt_alive "$KT_PID_g1" || kt_fail "SIGHUP stopped the gateway"
alert firing kt-new 'disk.used{host=db9}'
alert firing kt-team 'disk.used{host=db2}'
alert resolved kt-team 'disk.used{host=db1}'
kt_wait 30 "kt-new's firing at its new destination" lines new.jsonl 1
kt_wait 30 "kt-team's firing and resolve at the new path" lines team-new.jsonl 2
sleep 2 # anything sent twice or astray shows up now
kt_alive "$KT_PID_g1" || kt_fail "the gateway died"
python3 - "$KT_DIR" <<'PY' || kt_fail "notifications"
import sys, json, os
d = sys.argv[1]
rd = lambda f: [json.loads(l) for l in open(os.path.join(d, f))] if os.path.exists(os.path.join(d, f)) else []
old, new, nw = rd("team-old.jsonl"), rd("team-new.jsonl"), rd("new.jsonl")
def say(*a): print(*a, file=sys.stderr)
ok = True
if [(r["series"], r["status"]) for r in old] != [("disk.used{host=db1}", "firing")]:
    say("old path: %r" % [(r["series"], r["status"]) for r in old]); ok = False
if sorted((r["series"], r["status"]) for r in new) != [("disk.used{host=db1}", "resolved"), ("disk.used{host=db2}", "firing")]:
    say("new path: %r (want db2 firing, db1 resolved; db1's firing not again)" % [(r["series"], r["status"]) for r in new]); ok = False
if [(r["owner"], r["series"], r["status"]) for r in nw] != [("kt-new", "disk.used{host=db9}", "firing")]:
    say("kt-new: %r" % [(r["owner"], r["series"], r["status"]) for r in nw]); ok = False
sys.exit(0 if ok else 1)
PY
grep -q 'event=unowned_alert' "$KT_DIR/g1.log" && kt_fail "kt-new's alert went to the fallback"
kt_log "PASS: SIGHUP reloaded the gateway's owners: new owner delivered, changed destination used, open episode not re-sent"
