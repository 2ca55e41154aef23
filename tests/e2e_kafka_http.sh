#!/usr/bin/env bash
# The HTTP service in the Kafka roles: `vigil gateway --listen` answers
# /healthz at once and /readyz 200 only after its alerts partitions are
# assigned and their gateway state restored; an alert produced to the
# alerts topic shows up in GET /api/v1/alerts; POST /api/v2/alerts feeds the
# same gateway; a silence added through the API belongs to the owner's
# alerts partition; /metrics counts the intake (promtool-clean). A member
# (`vigil run --listen`, from http.listen in its config) serves health,
# readiness and metrics, and no gateway API (404).
source "$(dirname "$0")/fixtures/kafka/lib.sh"
kt_timeout 120
KT_TOPICS="metrics,metrics.state,alerts:1,alerts.state:1,alerts.control:1,metrics.dlq" kt_broker 2
printf 'kafka-http-admin-token-0123456789\n' >"$KT_DIR/admin.tok"
kt_config g1 "http:
  tokens: [{admin: true, token: \"file:$KT_DIR/admin.tok\"}]
  rate_limit: {rate: 1000, burst: 1000}"
"$VIGIL" gateway -c "$KT_DIR/g1.yaml" --listen 127.0.0.1:0 --port-file "$KT_DIR/g1.port" \
	>"$KT_DIR/g1.out" 2> >(kt_stamp >"$KT_DIR/g1.log") &
KT_PIDS+=($!)
kt_wait 30 "gateway port file" test -s "$KT_DIR/g1.port"
base=http://127.0.0.1:$(cat "$KT_DIR/g1.port")
A="Authorization: Bearer $(cat "$KT_DIR/admin.tok")"
st() { curl -s -o "$KT_DIR/body" -w '%{http_code}' "$@"; }
[ "$(st "$base/healthz")" = 200 ] || kt_fail "gateway healthz"
ready() { [ "$(st "$base/readyz")" = 200 ]; }
kt_wait 60 "gateway readyz 200 (alerts partition assigned, state restored)" ready
grep -q 'event=ready' "$KT_DIR/g1.log" || kt_fail "no event=ready in the gateway log"
grep -q 'event=not_ready reason="joining the consumer group"' "$KT_DIR/g1.log" ||
	kt_fail "the gateway was not 'not ready' before its assignment"

echo '{"status":"firing","labels":{"alertname":"DiskFull","owner":"kt-team","host":"db1"},"startsAt":"2026-03-02T08:15:00Z"}' \
	>"$KT_DIR/ev.jsonl"
"$VIGIL" produce -b "$KT_BOOT" -t alerts --key none "$KT_DIR/ev.jsonl" 2>>"$KT_DIR/produce.log" || kt_fail "produce"
seen() { st -H "$A" "$base/api/v1/alerts" >/dev/null && grep -q '"rule":"DiskFull"' "$KT_DIR/body"; }
kt_wait 30 "the produced alert in GET /api/v1/alerts" seen
[ "$(st -H "$A" -d '[{"labels":{"alertname":"QueueStuck","owner":"kt-team"},"startsAt":"2026-03-02T08:20:00Z"}]' \
	"$base/api/v2/alerts")" = 200 ] || kt_fail "POST /api/v2/alerts: $(cat "$KT_DIR/body")"
two() { st -H "$A" "$base/api/v1/alerts" >/dev/null &&
	python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); sys.exit(sorted(a["rule"] for a in r) != ["DiskFull","QueueStuck"])' "$KT_DIR/body"; }
kt_wait 30 "both alerts open" two
# a silence belongs to the owner's alerts partition (this member owns the only one)
[ "$(st -H "$A" -d '{"owner":"kt-team","matchers":["host=db1"],"duration":"1h","comment":"swap"}' \
	"$base/api/v1/silences")" = 201 ] || kt_fail "POST /api/v1/silences: $(cat "$KT_DIR/body")"
[ "$(st -H "$A" "$base/api/v1/silences")" = 200 ] && grep -q '"state":"active"' "$KT_DIR/body" ||
	kt_fail "the silence is not listed: $(cat "$KT_DIR/body")"
counted() {
	curl -s "$base/metrics" >"$KT_DIR/metrics.txt" &&
		grep -q '^vigil_gateway_intake_total{result="submitted"} 1$' "$KT_DIR/metrics.txt" &&
		grep -q '^vigil_gateway_events_total 2$' "$KT_DIR/metrics.txt"
}
kt_wait 20 "intake and gateway counters in /metrics" counted
promtool check metrics <"$KT_DIR/metrics.txt" >"$KT_DIR/promtool.out" 2>&1 || kt_fail "promtool: $(cat "$KT_DIR/promtool.out")"
grep -q '^vigil_build_info{version="[0-9.]*",mode="gateway"} 1$' "$KT_DIR/metrics.txt" || kt_fail "build_info"

kt_config m1 "http: {listen: \"127.0.0.1:0\"}"
kt_member m1 --port-file "$KT_DIR/m1.port"
kt_wait 30 "member port file" test -s "$KT_DIR/m1.port"
mbase=http://127.0.0.1:$(cat "$KT_DIR/m1.port")
mready() { [ "$(st "$mbase/readyz")" = 200 ]; }
kt_wait 60 "member readyz 200" mready
[ "$(st "$mbase/api/v1/alerts")" = 404 ] || kt_fail "a member serves the gateway API"
curl -s "$mbase/metrics" >"$KT_DIR/mmetrics.txt"
promtool check metrics <"$KT_DIR/mmetrics.txt" >"$KT_DIR/promtool2.out" 2>&1 || kt_fail "member promtool: $(cat "$KT_DIR/promtool2.out")"
grep -q '^vigil_kafka_partitions 2$' "$KT_DIR/mmetrics.txt" || kt_fail "member partitions: $(grep vigil_kafka_partitions "$KT_DIR/mmetrics.txt")"
for p in 0 1; do
	grep -Eq "^vigil_kafka_partition_lag\\{topic=\"metrics\",partition=\"$p\"\\} [0-9]+\$" "$KT_DIR/mmetrics.txt" ||
		kt_fail "no lag for metrics/$p: $(grep partition_lag "$KT_DIR/mmetrics.txt")"
done
kt_log "ok"
