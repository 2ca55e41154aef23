#!/usr/bin/env bash
# Secrets in memory and core dumps (issue 16): a running `vigil replay -c CFG
# --serve` holds an env: and a file: HTTP token, resolved. Checked on the
# live process, as an unprivileged user would try it (as root the processes
# run as `nobody`; as another user they run as that user):
#  - /proc/PID/limits says "Max core file size 0 0";
#  - /proc/PID/status is owned by root (the kernel's mark of a process that
#    is not dumpable) when vigil runs as nobody;
#  - another process of the same user cannot read /proc/PID/maps or mem (so
#    it cannot find the resolved token there);
#  - SIGABRT with a nonzero core limit leaves no core file (when
#    /proc/sys/kernel/core_pattern writes plain files; skipped with a message
#    when it is a pipe to a handler);
#  - SIGTERM: exit status 0 (under ASan, LeakSanitizer's leak check still
#    runs in a process that is not dumpable, as a non-root user).
# And the other side, VIGIL_ALLOW_CORE_DUMPS=1: the core limit is the one the
# shell gave (the same as a `sleep` started the same way), the same user
# finds the resolved token in /proc/PID/mem, and SIGABRT writes a core file.
# $VIGIL is the binary under test.
set -uo pipefail
VIGIL=${VIGIL:-bin/vigil}
case $VIGIL in /*) ;; *) VIGIL=$PWD/$VIGIL ;; esac
cd "$(dirname "$0")/.." || exit 1
tmp=$(mktemp -d /tmp/vigil-core.XXXXXX)
. tests/fixtures/script.sh # pids, fail, cleanup at exit, wait_for

# AS_USER: the prefix that runs a command as the unprivileged user of this test
if [ "$(id -u)" = 0 ]; then
	if ! id nobody >/dev/null 2>&1 || ! command -v setpriv >/dev/null; then
		echo "SKIP: running as root without a 'nobody' user or setpriv: cannot test as an unprivileged user"
		exit 0
	fi
	AS_USER=(setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups --)
	user=nobody
	chmod 0755 "$tmp"
else
	AS_USER=()
	user=$(id -un)
fi
if ! "${AS_USER[@]}" test -x "$VIGIL"; then
	echo "SKIP: $user cannot run $VIGIL (a parent directory is not searchable)"
	exit 0
fi
run=$tmp/run
mkdir "$run"
[ "$(id -u)" = 0 ] && chown nobody "$run"

export VIGIL_TEST_CORE_ENV_TOKEN=env-token-6a1f3c9e0b2d4e58
file_token=file-token-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
printf '%s\n' "$file_token" >"$run/admin.tok"
chmod 0600 "$run/admin.tok"
[ "$(id -u)" = 0 ] && chown nobody "$run/admin.tok"
printf '{"series":"api.latency","ts":%d,"value":1}\n' "$(date +%s)" >"$tmp/points.jsonl"
cat >"$tmp/rules.yaml" <<EOT
rules:
  - {name: r, series: api.latency, detector: des, action: notify, owner: o}
owners:
  - name: o
    destinations: [{type: file, path: "$run/o.jsonl"}]
EOT
cat >"$tmp/cfg.yaml" <<EOT
rules: [$tmp/rules.yaml]
http:
  tokens:
    - {team: o, token: "env:VIGIL_TEST_CORE_ENV_TOKEN"}
    - {admin: true, token: "file:$run/admin.tok"}
EOT

# the system's python3: a user's shim (pyenv) may not be readable by nobody
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3)
# A python reader, run as the same user: the resolved file token in the
# process's memory. Prints "found", "absent" or "denied <error>".
cat >"$tmp/scan.py" <<'PY'
import re, sys
pid, needle = sys.argv[1], sys.argv[2].encode()
try:
    maps = open(f"/proc/{pid}/maps").read().splitlines()
    mem = open(f"/proc/{pid}/mem", "rb", 0)
except OSError as e:
    print("denied", e.strerror)
    sys.exit(0)
found = False
for line in maps:
    m = re.match(r"([0-9a-f]+)-([0-9a-f]+) r", line)
    if not m or "[vvar]" in line or "[vsyscall]" in line:
        continue
    lo, hi = int(m.group(1), 16), int(m.group(2), 16)
    if hi - lo > 1 << 30:
        continue  # sanitizer shadow and reserved ranges
    try:
        mem.seek(lo)
        if needle in mem.read(hi - lo):
            found = True
            break
    except OSError:
        continue
print("found" if found else "absent")
PY

core_line() { awk '/^Max core file size/ {print $5, $6}' "/proc/$1/limits"; }
abort_cores=1
pattern=$(cat /proc/sys/kernel/core_pattern 2>/dev/null || echo '?')
case $pattern in
'|'* | '?' | */*)
	abort_cores=0
	echo "SKIP (sub-check): core_pattern is '$pattern' (a pipe or an absolute path): no core file to look for"
	;;
esac

# start_vigil NAME [ENV=V...]: vigil replay --serve as the test's user, in
# $run/NAME, with the soft core limit raised (8 MiB: a truncated core is
# still a file; the hard limit if lower); sets $vpid, and $refpid: a `sleep`
# started the same way, whose limits are the ones vigil would keep.
start_vigil() {
	local name=$1 dir=$run/$1
	shift
	mkdir "$dir"
	[ "$(id -u)" = 0 ] && chown nobody "$dir"
	local lim=(bash -c 'cd "$1" && shift && { ulimit -S -c 8192 2>/dev/null || ulimit -S -c "$(ulimit -H -c)"; } && exec "$@"' _ "$dir")
	"${lim[@]}" "${AS_USER[@]}" sleep 300 &
	refpid=$!
	pids+=("$refpid")
	# the sanitizers set their own core limit of 0 unless told: the opt-out
	# side must show the limit the shell gave
	"${lim[@]}" "${AS_USER[@]}" env "$@" ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}disable_coredump=0" \
		TSAN_OPTIONS="${TSAN_OPTIONS:+$TSAN_OPTIONS:}disable_coredump=0" \
		"$VIGIL" replay -c "$tmp/cfg.yaml" --serve 127.0.0.1:0 --port-file "$dir/port" \
		"$tmp/points.jsonl" >"$dir/out.log" 2>"$dir/err.log" &
	vpid=$!
	pids+=("$vpid")
	wait_for 30 test -s "$dir/port" || {
		fail "$name: vigil did not start: $(tail -5 "$dir/err.log")"
		return 1
	}
	local code
	code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $file_token" \
		"http://127.0.0.1:$(cat "$dir/port")/api/v1/rules")
	[ "$code" = 200 ] || fail "$name: GET /api/v1/rules with the file: token: $code, want 200 (token not resolved?)"
}

# stop_vigil NAME: SIGTERM, exit status 0 (LeakSanitizer's check passed)
stop_vigil() {
	kill -TERM "$vpid"
	wait "$vpid"
	local rc=$?
	[ $rc = 0 ] || fail "$1: exit status $rc after SIGTERM: $(tail -5 "$run/$1/err.log")"
	kill "$refpid" 2>/dev/null
}

# abort_core NAME [ENV=V...]: a second instance killed with SIGABRT; prints
# the number of core files it left in its directory
abort_core() {
	local name=$1
	start_vigil "$@" || return 1
	kill -ABRT "$vpid"
	wait "$vpid" 2>/dev/null
	kill "$refpid" 2>/dev/null
	sleep 0.5
	find "$run/$name" -maxdepth 1 -name 'core*' | wc -l
}

echo "== default: core dumps off, not dumpable"
start_vigil off || exit 1
got=$(core_line "$vpid")
ref=$(core_line "$refpid")
[ "$got" = "0 0" ] || fail "off: Max core file size '$got', want '0 0'"
if [ "$ref" = "0 0" ]; then
	echo "SKIP (sub-check): the hard core limit here is 0: the limit cannot tell the two modes apart"
fi
if [ "$(id -u)" = 0 ]; then
	owner=$(stat -c %U "/proc/$vpid/status")
	[ "$owner" = root ] || fail "off: /proc/PID/status owned by '$owner', want root (not dumpable)"
fi
scan=$("${AS_USER[@]}" "$PY" "$tmp/scan.py" "$vpid" "$file_token")
case $scan in denied*) ;; *) fail "off: $user read the process's memory: $scan" ;; esac
grep -q 'event=core_dumps state=off rlimit_core=0 dumpable=0' "$run/off/err.log" ||
	fail "off: no start-up line with the mode: $(head -3 "$run/off/err.log")"
grep -qF -e "$file_token" -e "$VIGIL_TEST_CORE_ENV_TOKEN" "$run/off/err.log" && fail "off: a token is in the log"
echo "   limits '$got' (a sleep: '$ref'), $user reading memory: $scan"
stop_vigil off

echo "== VIGIL_ALLOW_CORE_DUMPS=1: unchanged"
start_vigil allowed VIGIL_ALLOW_CORE_DUMPS=1 || exit 1
got=$(core_line "$vpid")
ref=$(core_line "$refpid")
[ "$got" = "$ref" ] || fail "allowed: Max core file size '$got', want '$ref' (as a sleep started the same way)"
if [ "$(id -u)" = 0 ]; then
	owner=$(stat -c %U "/proc/$vpid/status")
	[ "$owner" = nobody ] || fail "allowed: /proc/PID/status owned by '$owner', want nobody (dumpable)"
fi
scan=$("${AS_USER[@]}" "$PY" "$tmp/scan.py" "$vpid" "$file_token")
[ "$scan" = found ] || fail "allowed: $user should find the resolved token in memory: $scan"
grep -q 'event=core_dumps state=allowed reason="VIGIL_ALLOW_CORE_DUMPS=1"' "$run/allowed/err.log" ||
	fail "allowed: no start-up line naming the opt-out: $(head -3 "$run/allowed/err.log")"
echo "   limits '$got' (a sleep: '$ref'), $user reading memory: $scan"
stop_vigil allowed

if [ $abort_cores = 1 ] && [ "$ref" != "0 0" ]; then
	echo "== SIGABRT: a core file only with the opt-out"
	n=$(abort_core abort_off)
	[ "$n" = 0 ] || fail "SIGABRT left $n core file(s) with core dumps off"
	n2=$(abort_core abort_allowed VIGIL_ALLOW_CORE_DUMPS=1)
	[ "$n2" -ge 1 ] 2>/dev/null || fail "SIGABRT with VIGIL_ALLOW_CORE_DUMPS=1 left '$n2' core files, want 1 (core_pattern '$pattern')"
	echo "   core files: off $n, allowed $n2"
	rm -f "$run"/abort_*/core*
fi

[ "$fails" = 0 ] && echo "PASS e2e_coredump" || echo "$fails failure(s)"
[ "$fails" = 0 ]
