#!/usr/bin/env bash
# `make tsan`: the tests that exercise threads, run against the
# ThreadSanitizer build (build/tsan): libmicrohttpd's threads (test_httpd,
# e2e_http), the gateway's delivery workers (test_gateway, test_sinks,
# e2e_delivery_faults) and librdkafka's threads and callbacks (Kafka e2e
# tests on the embedded broker, test_kafka_conf).
# Usage: tests/tsan.sh "UNIT_BINARIES..." "E2E_SCRIPTS..."
# Every process (unit test, vigil, vigil broker) writes its TSan reports to
# build/tsan/reports/tsan.<pid>, so a report from a daemon that a script
# kills is not lost in its log; the run fails when a test fails or when any
# report was written. Suppressions: tests/tsan.supp (third-party only).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
units=$1
e2es=$2
rep=$PWD/build/tsan/reports
rm -rf "$rep"
mkdir -p "$rep"
export TSAN_OPTIONS="suppressions=$PWD/tests/tsan.supp log_path=$rep/tsan second_deadlock_stack=1 ${TSAN_OPTIONS:-}"
export VIGIL_TEST_VARIANT=tsan
pass=0
fail=0
start=$(date +%s)
for t in $units; do
	log=build/tsan/$(basename "$t").log
	if "$t" >"$log" 2>&1; then pass=$((pass + 1)); else
		fail=$((fail + 1))
		echo "FAIL $t (log: $log)"
		tail -n 30 "$log"
	fi
done
for e in $e2es; do
	log=build/tsan/$(basename "$e").log
	if VIGIL_KAFKA=embedded VIGIL=$PWD/build/tsan/vigil bash "$e" >"$log" 2>&1; then pass=$((pass + 1)); else
		fail=$((fail + 1))
		echo "FAIL $e (log: $log)"
		tail -n 30 "$log"
	fi
done
reports=$(find "$rep" -type f | wc -l)
if [ "$reports" -gt 0 ]; then
	echo "ThreadSanitizer: $reports process(es) reported (build/tsan/reports):"
	grep -h -A12 '^WARNING: ThreadSanitizer' "$rep"/* | head -n 80
fi
echo "tsan: $pass passed, $fail failed, $reports TSan report file(s), $(($(date +%s) - start)) s"
[ "$fail" -eq 0 ] && [ "$reports" -eq 0 ]
