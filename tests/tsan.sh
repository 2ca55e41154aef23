#!/usr/bin/env bash
# `make tsan`: the tests that exercise threads, run against the
# ThreadSanitizer build (build/tsan): libmicrohttpd's threads (test_httpd,
# e2e_http), the gateway's delivery workers (test_gateway, test_sinks,
# e2e_delivery_faults) and librdkafka's threads and callbacks (Kafka e2e
# tests on the embedded broker, test_kafka_conf; the exactly-once
# transactions, which only a real broker has, on the real one).
# Usage: tests/tsan.sh "UNIT_BINARIES..." "E2E_SCRIPTS..." ["REAL_E2E_SCRIPTS..."]
# E2E_SCRIPTS run on the embedded broker (VIGIL_KAFKA=embedded),
# REAL_E2E_SCRIPTS on the real Apache Kafka broker (VIGIL_KAFKA=real,
# tests/kafka/real-broker.sh) with the words of $TSAN_REAL_ENV (NAME=VALUE
# ...; e.g. a smaller run count) added to their environment. Where the real
# broker cannot be provisioned they are skipped with a loud SKIP line.
# The number of tests passed goes to build/tsan/tsan.passed (make test's
# total).
# Every process (unit test, vigil, vigil broker) writes its TSan reports to
# build/tsan/reports/tsan.<pid>, so a report from a daemon that a script
# kills is not lost in its log; the run fails when a test fails or when any
# report was written. Suppressions: tests/tsan.supp (third-party only).
# TSAN_SET=NAME (make tsan-real: real) keeps a second set's reports, logs
# and passed count apart (build/tsan/reports-NAME, build/tsan/NAME-*.log,
# build/tsan/tsan-NAME.passed), so it never clears make tsan's.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
units=$1
e2es=$2
reals=${3:-}
set_=${TSAN_SET:-}
rep=$PWD/build/tsan/reports${set_:+-$set_}
rm -rf "$rep"
mkdir -p "$rep"
export TSAN_OPTIONS="suppressions=$PWD/tests/tsan.supp log_path=$rep/tsan second_deadlock_stack=1 ${TSAN_OPTIONS:-}"
export VIGIL_TEST_VARIANT=tsan
pass=0
fail=0
skip=0
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
if [ -n "$reals" ]; then
	prov=$(bash tests/kafka/real-broker.sh provision 2>build/tsan/real-kafka-provision.log)
	rc=$?
	if [ $rc = 3 ]; then
		echo "******** tsan: $prov ********"
		skip=$(echo $reals | wc -w)
	elif [ $rc != 0 ]; then
		fail=$((fail + 1))
		echo "FAIL real Kafka provisioning (log: build/tsan/real-kafka-provision.log)"
		tail -n 30 build/tsan/real-kafka-provision.log
	else
		for e in $reals; do
			log=build/tsan/${set_:+$set_-}real-kafka-$(basename "$e").log
			# shellcheck disable=SC2086 # TSAN_REAL_ENV is a list of NAME=VALUE words
			if env ${TSAN_REAL_ENV:-} VIGIL_KAFKA=real VIGIL=$PWD/build/tsan/vigil bash "$e" >"$log" 2>&1; then
				if grep -q '^SKIP (VIGIL_KAFKA=real)' "$log"; then
					skip=$((skip + 1))
					grep '^SKIP' "$log"
				else pass=$((pass + 1)); fi
			else
				fail=$((fail + 1))
				echo "FAIL $e on the real broker (log: $log)"
				tail -n 30 "$log"
			fi
		done
	fi
fi
reports=$(find "$rep" -type f | wc -l)
if [ "$reports" -gt 0 ]; then
	echo "ThreadSanitizer: $reports process(es) reported ($rep):"
	grep -h -A12 '^WARNING: ThreadSanitizer' "$rep"/* | head -n 80
fi
echo "tsan: $pass passed, $fail failed, $skip skipped, $reports TSan report file(s), $(($(date +%s) - start)) s"
echo "$pass" >build/tsan/tsan${set_:+-$set_}.passed
[ "$fail" -eq 0 ] && [ "$reports" -eq 0 ]
