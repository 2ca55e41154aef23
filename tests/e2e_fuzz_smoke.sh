#!/usr/bin/env bash
# The fuzz targets as a regression test (part of make test): build them
# (make fuzz-build: clang-14 with libFuzzer, installed by make deps when
# missing -- never skipped), run every input of each seed corpus
# tests/fuzz/corpus/<target> once (the crashing inputs of fixed bugs live
# there), then fuzz each target for FUZZ_SMOKE_SECONDS (default 3) from that
# corpus. Any crash, leak, sanitizer report or broken contract (the targets
# abort) fails, naming the target and its log. $VIGIL is not used: the
# targets link the library directly.
set -u
cd "$(dirname "$0")/.."
secs=${FUZZ_SMOKE_SECONDS:-3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if ! command -v clang-14 >/dev/null && ! command -v clang >/dev/null; then
	echo "clang is missing: installing it (make deps)"
	make -s deps || { echo "FAIL: make deps could not install clang"; exit 1; }
fi
if ! make -s fuzz-build >"$tmp/build.log" 2>&1; then
	echo "FAIL: make fuzz-build"
	tail -n 30 "$tmp/build.log"
	exit 1
fi

# Run a target; remove its scratch files (vigil-fuzz-<pid>-*), which stay
# behind when libFuzzer ends without exit().
run() {
	"$@" &
	local pid=$! rc=0
	wait $pid || rc=$?
	rm -rf /dev/shm/vigil-fuzz-$pid-* /tmp/vigil-fuzz-$pid-*
	return $rc
}

fail=0
n=0
for src in tests/fuzz/fuzz_*.c; do
	t=$(basename "$src" .c)
	bin=build/fuzz/bin/$t
	seeds=tests/fuzz/corpus/$t
	n=$((n + 1))
	if [ ! -x "$bin" ] || [ -z "$(ls -A "$seeds" 2>/dev/null)" ]; then
		echo "FAIL $t: no binary or an empty corpus $seeds"
		fail=1
		continue
	fi
	mkdir -p "$tmp/$t"
	opts=(-timeout=10 -rss_limit_mb=2048 -artifact_prefix="$tmp/$t/")
	if ! run "$bin" "${opts[@]}" -runs=0 "$seeds" >"$tmp/$t.replay.log" 2>&1; then
		echo "FAIL $t: an input of $seeds crashes"
		grep -m 8 -E 'ERROR|SUMMARY|runtime error|Running:|abort' "$tmp/$t.replay.log"
		fail=1
		continue
	fi
	dict=()
	[ -f "tests/fuzz/$t.dict" ] && dict=(-dict="tests/fuzz/$t.dict")
	if ! run "$bin" "${opts[@]}" "${dict[@]}" -max_total_time="$secs" "$tmp/$t" "$seeds" >"$tmp/$t.fuzz.log" 2>&1; then
		echo "FAIL $t: fuzzing for ${secs}s found a crash"
		grep -m 8 -E 'ERROR|SUMMARY|runtime error|abort' "$tmp/$t.fuzz.log"
		cp "$tmp/$t"/crash-* "$tmp/$t"/leak-* "$tmp/$t"/oom-* "$tmp/$t"/timeout-* build/fuzz/ 2>/dev/null && echo "(input copied to build/fuzz/)"
		fail=1
		continue
	fi
	runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$tmp/$t.fuzz.log" | tail -n 1)
	echo "ok   $t: $(ls "$seeds" | wc -l) corpus inputs replayed, ${runs:-?} executions in ${secs}s"
done
[ "$n" -gt 0 ] || { echo "FAIL: no fuzz targets in tests/fuzz"; exit 1; }
[ $fail -eq 0 ] && echo "fuzz smoke: $n targets ok"
exit $fail
