#!/usr/bin/env bash
# Kafka e2e (real broker only): a member connects through a SASL_PLAINTEXT
# listener with the PLAIN mechanism, its password given as an `env:`
# reference in the config. It processes the stream and every injected spike
# is alerted once; a second member with a wrong password (from a `file:`
# reference, librdkafka security debugging on) fails to authenticate, says
# so naming the user, and exits 1. Neither password appears in any log or output of any vigil
# process, nor in the broker's log.
source "$(dirname "$0")/fixtures/kafka/lib.sh"
kt_real_only "the embedded broker (librdkafka's mock) has no SASL"
kt_timeout 150
KT_SASL_PW="pw-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
KT_BAD_PW="bad-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
printf '%s\n' "$KT_SASL_PW" >"$KT_DIR/sasl.pw"
printf '%s\n' "$KT_BAD_PW" >"$KT_DIR/bad.pw"
chmod 600 "$KT_DIR/sasl.pw" "$KT_DIR/bad.pw"
export VIGIL_KAFKA_SASL_USER=vigil VIGIL_KAFKA_SASL_PASSWORD_FILE=$KT_DIR/sasl.pw
kt_broker 6
plain_boot=$KT_BOOT
KT_BOOT=$(cat "$KT_REAL_DIR/boot_sasl")
kt_log "SASL listener at $KT_BOOT"
sasl_cfg() { # NAME PASSWORD_REF [DEBUG]
	sed -i "s|^kafka:|kafka:\n  security.protocol: SASL_PLAINTEXT\n  sasl.mechanisms: PLAIN\n  sasl.username: vigil\n  sasl.password: \"$2\"${3:+\n  debug: \"$3\"}|" "$KT_DIR/$1.yaml"
}
kt_config s1 "mode: single"
sasl_cfg s1 "env:KT_SASL_PASSWORD"
grep -q "$KT_SASL_PW" "$KT_DIR/s1.yaml" && kt_fail "the password is in the config file"
KT_SASL_PASSWORD=$KT_SASL_PW kt_member s1
six() { [ "$(kt_nowned s1)" -eq 6 ]; }
kt_wait 60 "s1 (SASL) owning six partitions" six
kt_gen 12 80 "$KT_DIR/data.txt" "$KT_DIR/spikes.txt"
sort "$KT_DIR/spikes.txt" >"$KT_DIR/want.txt"
"$VIGIL" produce -b "$plain_boot" -t metrics --format graphite "$KT_DIR/data.txt" 2>>"$KT_DIR/produce.log" || kt_fail "produce"
complete() { kt_firing "$KT_DIR/alerts-s1.jsonl" | sort >"$KT_DIR/got.txt"; [ "$(wc -l <"$KT_DIR/got.txt")" -ge "$(wc -l <"$KT_DIR/want.txt")" ]; }
kt_wait 60 "all spikes alerted through the SASL connection" complete
sleep 1
kt_firing "$KT_DIR/alerts-s1.jsonl" | sort >"$KT_DIR/got.txt"
diff "$KT_DIR/want.txt" "$KT_DIR/got.txt" >&2 || kt_fail "firing set differs from the injected spikes"

kt_config bad "mode: single"
sasl_cfg bad "file:$KT_DIR/bad.pw" "security,broker"
kt_member bad
gone() { ! kt_alive "$KT_PID_bad"; }
kt_wait 40 "the member with the wrong password to give up" gone
wait "$KT_PID_bad"
rc=$?
[ "$rc" = 1 ] || kt_fail "exit status $rc with a wrong password, want 1"
grep -q 'event=startup_failed err="authentication failed (security.protocol=SASL_PLAINTEXT sasl.username=vigil)' "$KT_DIR/bad.log" ||
	kt_fail "no clear authentication error: $(grep startup_failed "$KT_DIR/bad.log")"
kt_stop "$KT_PID_s1"
grep -q 'event=final' "$KT_DIR/s1.log" || kt_fail "s1 did not stop cleanly"
for f in "$KT_DIR"/*.log "$KT_DIR"/*.out "$KT_REAL_DIR"/node*/broker.log; do
	grep -l -e "$KT_SASL_PW" -e "$KT_BAD_PW" "$f" && kt_fail "a password appears in $f"
done
kt_log "PASS: SASL/PLAIN member alerted $(wc -l <"$KT_DIR/want.txt") spikes once each; a wrong password fails authentication; no password in any log ($(grep -ci 'authentication' "$KT_DIR/bad.log") auth error lines)"
