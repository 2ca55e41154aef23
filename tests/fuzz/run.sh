#!/usr/bin/env bash
# Run libFuzzer targets one at a time: `run.sh SECONDS BIN...` (make fuzz).
# Each target starts from its seed corpus tests/fuzz/corpus/<target> (read
# only) plus build/fuzz/corpus/<target>, where new inputs go; a crash, leak
# or sanitizer report leaves build/fuzz/artifacts/<target>/crash-* and makes
# the script fail. Prints one line per target: executions (libFuzzer's
# "Done N runs"), seconds, corpus size, and the verdict.
set -u
secs=$1
shift
cd "$(dirname "$0")/../.."
fail=0
printf '%-22s %12s %8s %8s  %s\n' target executions seconds corpus result
for bin in "$@"; do
	t=$(basename "$bin")
	seeds=tests/fuzz/corpus/$t
	work=build/fuzz/corpus/$t
	art=build/fuzz/artifacts/$t/
	log=build/fuzz/$t.log
	mkdir -p "$work" "$art" "$seeds"
	dict=()
	[ -f tests/fuzz/$t.dict ] && dict=(-dict=tests/fuzz/$t.dict)
	start=$(date +%s)
	"$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-artifact_prefix="$art" -print_final_stats=1 "${dict[@]}" "$work" "$seeds" >"$log" 2>&1 &
	pid=$!
	ok=0
	wait $pid && ok=1
	# the target's scratch files, left behind when libFuzzer ends without exit()
	rm -rf /dev/shm/vigil-fuzz-$pid-* /tmp/vigil-fuzz-$pid-*
	if [ $ok = 1 ]; then
		verdict=ok
	else
		verdict="FAIL (log: $log)"
		fail=1
	fi
	end=$(date +%s)
	runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$log" | tail -n 1)
	[ -n "$runs" ] || runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	ncorp=$(ls "$seeds" | wc -l)
	printf '%-22s %12s %8s %8s  %s\n' "$t" "${runs:-?}" "$((end - start))" "$ncorp" "$verdict"
	[ "$verdict" = ok ] || grep -m 5 -E 'ERROR|SUMMARY|runtime error' "$log"
done
exit $fail
