#!/usr/bin/env bash
# Prometheus remote write end to end: a real Prometheus (Debian's) scrapes a
# tiny exporter of this test's own (python3 http.server) every second and
# remote-writes to `vigil ingest`, which produces to an embedded broker
# (`vigil broker`). Checks: the samples arrive in the metrics topic keyed by
# series, as JSON records with __name__ as series and the labels as tags
# (a non-ASCII label value intact); a spike injected in the exporter pages
# the rule's owner through `vigil run` (single mode: member + gateway);
# a body that is not snappy gets 400 naming the reason; with the broker
# gone, writes get 503 (retryable) instead of being lost.
source "$(dirname "$0")/fixtures/kafka/lib.sh"
kt_timeout 240
command -v prometheus >/dev/null || kt_fail "prometheus is not installed (make deps installs it)"
kt_broker 2

# --- the exporter: serves the value in $KT_DIR/value as a gauge
echo 100 >"$KT_DIR/value"
cat >"$KT_DIR/exporter.py" <<'PY'
import http.server, sys, os
d = sys.argv[1]
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        v = open(os.path.join(d, "value")).read().strip()
        body = ("# HELP kt_load a load\n# TYPE kt_load gauge\n"
                'kt_load{host="h01",site="z\u00fcrich"} %s\n' % v).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a): pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
open(os.path.join(d, "exporter.port"), "w").write(str(s.server_port))
s.serve_forever()
PY
python3 "$KT_DIR/exporter.py" "$KT_DIR" 2>"$KT_DIR/exporter.log" &
KT_PIDS+=($!)
kt_wait 10 "exporter port" test -s "$KT_DIR/exporter.port"

# --- vigil ingest
"$VIGIL" ingest -b "$KT_BOOT" -t metrics --listen 127.0.0.1:0 --port-file "$KT_DIR/ingest.port" \
	--delivery-timeout 3 >"$KT_DIR/ingest.out" 2> >(kt_stamp >"$KT_DIR/ingest.log") &
KT_PIDS+=($!)
kt_wait 10 "ingest port" test -s "$KT_DIR/ingest.port"
IPORT=$(cat "$KT_DIR/ingest.port")

# --- the member + gateway, a rule on kt_load, owner pages into a file
cat >"$KT_DIR/rules.yaml" <<EOT
rules:
  - name: rw-spike
    series: "kt_load"
    detector: des
    params: {training: 10, alpha: 0.1, beta: 0.02, max_percent: 0.5, noise: 20}
    direction: up
    for: 1
    keep_firing_for: 0
    action: page
    owner: kt-team
    summary: "kt_load spike"
EOT
kt_config s1 "mode: single"
sed -i "s|input: {topics: \[metrics\], format: graphite}|input: {topics: [metrics], format: auto}|; s|rules: \[.*\]|rules: [$KT_DIR/rules.yaml]|" "$KT_DIR/s1.yaml"
kt_member s1

# --- Prometheus
PPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$KT_DIR/prometheus.yml" <<EOT
global: {scrape_interval: 1s, evaluation_interval: 1s}
scrape_configs:
  - job_name: exporter
    static_configs: [{targets: ["127.0.0.1:$(cat "$KT_DIR/exporter.port")"]}]
remote_write:
  - url: http://127.0.0.1:$IPORT/api/v1/write
    queue_config: {batch_send_deadline: 1s, min_backoff: 100ms, max_backoff: 1s}
EOT
prometheus --config.file="$KT_DIR/prometheus.yml" --storage.tsdb.path="$KT_DIR/tsdb" \
	--web.listen-address="127.0.0.1:$PPORT" >"$KT_DIR/prometheus.out" 2> >(kt_stamp >"$KT_DIR/prometheus.log") &
KT_PIDS+=($!)
kt_log "exporter, ingest :$IPORT, member, prometheus :$PPORT started"

# --- the samples arrive in the topic
have_samples() {
	"$VIGIL" consume -b "$KT_BOOT" -t metrics >"$KT_DIR/topic.jsonl" 2>/dev/null || return 1
	python3 - "$KT_DIR/topic.jsonl" <<'PY'
import sys, json
n = 0
for line in open(sys.argv[1], encoding="utf-8"):
    r = json.loads(line)
    v = json.loads(r["value"])
    if v["series"] != "kt_load":
        continue
    want = {"host": "h01", "site": "z\u00fcrich", "instance": v["tags"].get("instance"), "job": "exporter"}
    assert v["tags"] == want, v
    assert r["key"] == "kt_load{host=h01,instance=%s,job=exporter,site=z\u00fcrich}" % want["instance"], r["key"]
    assert v["value"] == 100 and v["ts"] > 1.6e9, v
    n += 1
sys.exit(0 if n >= 5 else 1)
PY
}
kt_wait 90 "5 kt_load samples from Prometheus in the metrics topic" have_samples
kt_log "samples arrived: $(grep -c kt_load "$KT_DIR/topic.jsonl") kt_load messages, $(grep -c '\\"up\\"' "$KT_DIR/topic.jsonl") up"

# --- the spike pages the owner
sleep 12 # training: DES needs 10 points of normal
echo 1000 >"$KT_DIR/value"
paged() { grep -q '"status":"firing"' "$KT_DIR/alerts-s1.jsonl" 2>/dev/null && grep -q kt_load "$KT_DIR/alerts-s1.jsonl"; }
kt_wait 60 "a page for the kt_load spike" paged
kt_log "paged: $(grep -c firing "$KT_DIR/alerts-s1.jsonl") firing notification(s)"

# --- a body that is not snappy: 400, named
code=$(curl -s -o "$KT_DIR/bad.body" -w '%{http_code}' -H 'Content-Encoding: snappy' \
	-H 'Content-Type: application/x-protobuf' --data-binary 'not snappy at all' \
	"http://127.0.0.1:$IPORT/api/v1/write")
[ "$code" = 400 ] || kt_fail "garbage body answered $code, want 400"
grep -q snappy "$KT_DIR/bad.body" || kt_fail "400 body does not name the reason: $(cat "$KT_DIR/bad.body")"
curl -s "http://127.0.0.1:$IPORT/metrics" >"$KT_DIR/metrics.txt" || kt_fail "GET /metrics"
grep -q '^vigil_ingest_requests_total{result="bad_request"} 1$' "$KT_DIR/metrics.txt" ||
	kt_fail "bad request not counted: $(grep requests_total "$KT_DIR/metrics.txt")"
grep -Eq '^vigil_ingest_delivered_total [1-9]' "$KT_DIR/metrics.txt" || kt_fail "no delivery counted"

# --- broker gone: retryable 503, not 2xx and not 400
kt_stop "$KT_BROKER_PID"
got503() { grep -q 'event=write_refused.*status=503' "$KT_DIR/ingest.log"; }
kt_wait 60 "a 503 from ingest with the broker down" got503
grep -q 'event=write_refused.*status=400.*not snappy\|status=400.*snappy' "$KT_DIR/ingest.log" || kt_fail "the 400 was not logged"
kt_log "PASS"
