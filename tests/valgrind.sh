#!/usr/bin/env bash
# The unit tests under valgrind memcheck: `make valgrind`, and a part of
# `make test` (the same call). Usage: tests/valgrind.sh TEST_BINARY...
# Runs VALGRIND_JOBS tests at a time (default 2: this machine's cores).
# A test fails on any memcheck error (invalid access, use of uninitialised
# memory, bad free) or a definite or possible leak, or when the test itself
# fails; its log is build/valgrind/<test>.log and each test's seconds go to
# build/valgrind/<test>.secs. Suppressions: tests/valgrind.supp (each with its
# reason; one, librdkafka's threads of a handle kept on purpose).
# VIGIL_UNDER_VALGRIND=1 is exported: a test may take a smaller workload
# under it (never fewer checks; see the tests that read it).
# Exit status 0 when every test passed; prints one summary line
# "valgrind: N passed, M failed, S s".
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
out=build/valgrind
mkdir -p "$out"
rm -f "$out"/*.log "$out"/*.secs "$out"/*.failed
export VIGIL_UNDER_VALGRIND=1 VIGIL_TEST_VARIANT=valgrind
start=$(date +%s)

# one_test BINARY: run it under memcheck; writes its log and its seconds,
# and a .failed marker when it failed (xargs only says that one did).
one_test() {
	local t=$1 name log t0
	name=$(basename "$t")
	log=$out/$name.log
	t0=$(date +%s)
	if ! valgrind -q --error-exitcode=99 --leak-check=full --suppressions=tests/valgrind.supp \
		--errors-for-leak-kinds=definite,possible "$t" >"$log" 2>&1; then
		touch "$out/$name.failed"
	fi
	echo $(($(date +%s) - t0)) >"$out/$name.secs"
}
export -f one_test
export out

printf '%s\n' "$@" | xargs -r -P "${VALGRIND_JOBS:-2}" -I{} bash -c 'one_test "$1"' _ {}

pass=0
fail=0
for t in "$@"; do
	name=$(basename "$t")
	if [ -e "$out/$name.failed" ]; then
		fail=$((fail + 1))
		echo "FAIL $t under valgrind (log: $out/$name.log)"
		# memcheck's own lines when it reported, else the test's last lines
		grep '^==' "$out/$name.log" | head -n 30 | grep . || tail -n 30 "$out/$name.log"
	else
		pass=$((pass + 1))
	fi
done
echo "valgrind: $pass passed, $fail failed, $(($(date +%s) - start)) s (slowest: $(
	for f in "$out"/*.secs; do echo "$(cat "$f") $(basename "$f" .secs)"; done | sort -rn | head -n 3 | awk '{ printf "%s%s %s s", (NR == 1 ? "" : ", "), $2, $1 }'
))"
[ "$fail" -eq 0 ]
