#!/usr/bin/env bash
# Kafka e2e: the gateway-member kill of e2e_kafka_gateway_kill_nodup.sh
# (tests/fixtures/kafka/kill_nodup.sh) with the destinations that are not
# HTTP: a `file`, `stdout` and a `kafka` destination. g1 writes the page to
# the file, to its standard output and to the notify topic, and is killed
# with -9 before its next snapshot; g1r reads the alert again and must not
# write the page a second time anywhere (their done records are on the
# gateway state topic, issue 16). Each line carries its idempotency_key,
# the same as the webhooks' Idempotency-Key header.
source "$(dirname "$0")/fixtures/kafka/lib.sh"
source "$(dirname "$0")/fixtures/kafka/kill_nodup.sh"
kt_receivers
kt_timeout 150
kt_broker 3
kt_topics notify:1
kn_setup "      - {type: file, path: \"$KT_DIR/pages.jsonl\"}
      - {type: stdout}
      - {type: kafka, topic: notify, timeout: 5s}"
# the firing pages in the file, in g1's and g1r's standard output, on the
# notify topic
n_file() { kt_firing "$KT_DIR/pages.jsonl" | wc -l; }
n_stdout() { kt_firing "$KT_DIR/$1.out" | wc -l; }
topic_values() {
	"$VIGIL" consume -b "$KT_BOOT" -t notify --timeout 5 2>>"$KT_DIR/consume.log" |
		python3 -c 'import sys, json; [print(json.loads(l)["value"]) for l in sys.stdin]' >"$KT_DIR/notify.jsonl"
}
n_topic() { topic_values && kt_firing "$KT_DIR/notify.jsonl" | wc -l; }
kn_fire
all_written() { [ "$(n_file)" -ge 1 ] && [ "$(n_stdout g1)" -ge 1 ] && [ "$(n_topic)" -ge 1 ]; }
kt_wait 30 "the page in the file, on g1's standard output and on the notify topic" all_written
kn_kill
kn_restart
f=$(n_file) o1=$(n_stdout g1) o2=$(n_stdout g1r) t=$(n_topic)
kt_log "file: $f page(s); stdout: g1 $o1, g1r $o2; notify topic: $t; $(kn_skipped) skipped by g1r"
bad=
[ "$f" -eq 1 ] || bad="$bad file has the page $f times, want once;"
[ "$o1" -eq 1 ] && [ "$o2" -eq 0 ] || bad="$bad stdout: g1 wrote the page $o1 times and g1r $o2 times, want 1 and 0;"
[ "$t" -eq 1 ] || bad="$bad the notify topic has the page $t times, want once;"
[ -z "$bad" ] || kt_fail "$bad"
[ "$(kn_skipped)" -eq 3 ] || kt_fail "g1r said it skipped $(kn_skipped) delivered notifications, want 3"
# every line, wherever it went, names the notification with the key the
# webhooks send as Idempotency-Key: vigil/<fingerprint>/<episode>/<status>
python3 - "$KT_DIR/pages.jsonl" "$KT_DIR/g1.out" "$KT_DIR/notify.jsonl" <<'PY' || kt_fail "idempotency_key"
import sys, json
keys = set()
for path in sys.argv[1:]:
    for l in open(path):
        j = json.loads(l)
        k = j.get("idempotency_key")
        want = "vigil/%s/%s/%s" % (j.get("fingerprint"), j.get("episode"), j.get("status"))
        if k != want:
            print("%s: idempotency_key %r, want %r" % (path, k, want), file=sys.stderr); sys.exit(1)
        keys.add(k)
if len(keys) != 1:
    print("keys differ: %r" % sorted(keys), file=sys.stderr); sys.exit(1)
PY
kt_log "PASS: a gateway member killed after writing a page to file, stdout and kafka, before its snapshot: no duplicate after the takeover"
