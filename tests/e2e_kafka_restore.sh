#!/usr/bin/env bash
# Kafka e2e (6): restores while the broker fails every read. A member whose
# restore cannot read the state topic (transport errors injected on Fetch
# and ListOffsets) keeps polling, stops within seconds on SIGTERM and exits
# 0; once the errors are cleared, a new member restores every partition and
# continues exactly where the checkpoints end.
source "$(dirname "$0")/fixtures/kafka/lib.sh"
kt_embedded_only "it injects transport errors on Fetch/ListOffsets requests only (the mock's" \
	"per-API fault injection); a real broker can only be stopped whole, which also stops the" \
	"group coordinator the test needs (outages of a real broker: e2e_kafka_outage.sh)"
kt_timeout 90
kt_broker 6
for n in s1 s2 s3; do kt_config $n; done
kt_member s1
one() { [ "$(kt_nowned s1)" -eq 6 ]; }
kt_wait 30 "s1 owning six partitions" one
kt_gen 12 80 "$KT_DIR/data.txt" "$KT_DIR/spikes.txt"
head -n 720 "$KT_DIR/data.txt" >"$KT_DIR/a.txt"
tail -n +721 "$KT_DIR/data.txt" >"$KT_DIR/b.txt"
kt_produce "$KT_DIR/a.txt"
done1() { [ "$(kt_stat s1 records)" = 720 ] 2>/dev/null; }
kt_wait 30 "s1 processing 720 records" done1
kt_stop "$KT_PID_s1"
grep -q 'event=final' "$KT_DIR/s1.log" || kt_fail "s1 did not stop cleanly"
# every read of the broker fails from now on (transport error = disconnect)
echo "error 1 100000" >"$KT_DIR/control"
echo "error 2 100000" >"$KT_DIR/control"
kt_member s2
assigned() { [ "$(kt_nowned s2)" -eq 6 ]; }
kt_wait 30 "s2 assigned six partitions" assigned
sleep 2
grep -q 'event=restored' "$KT_DIR/s2.log" && kt_fail "s2 restored although every read fails"
t0=$(date +%s%N)
kill -TERM "$KT_PID_s2"
for _ in $(seq 50); do kill -0 "$KT_PID_s2" 2>/dev/null || break; sleep 0.1; done
kill -0 "$KT_PID_s2" 2>/dev/null && kt_fail "s2 still running 5 s after SIGTERM (stuck in a restore)"
wait "$KT_PID_s2"
rc=$?
[ "$rc" -eq 0 ] || kt_fail "s2 exit status $rc after SIGTERM during a failing restore"
kt_log "s2 stopped $(( ($(date +%s%N) - t0) / 1000000 )) ms after SIGTERM, status 0"
echo "clear 1" >"$KT_DIR/control"
echo "clear 2" >"$KT_DIR/control"
kt_member s3
restored() { [ "$(grep -c 'event=restored' "$KT_DIR/s3.log")" -ge 6 ]; }
kt_wait 40 "s3 restoring six partitions" restored
kt_produce "$KT_DIR/b.txt"
nb=$(wc -l <"$KT_DIR/b.txt")
done3() { [ "$(kt_stat s3 records)" -ge "$nb" ] 2>/dev/null; }
kt_wait 30 "s3 processing the $nb new records" done3
sleep 1
[ "$(kt_stat s3 records)" = "$nb" ] || kt_fail "s3 processed $(kt_stat s3 records) records, $nb were new"
kt_log "PASS: SIGTERM during a failing restore exits 0 promptly; the next member restored and processed exactly the $nb new records"
