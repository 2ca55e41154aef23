#!/usr/bin/env bash
# The HTTP service of `vigil replay --serve`, as an operator uses it:
#  - /healthz at once; /readyz 503 "replaying input" while the input (a
#    FIFO) is open, 200 once it is replayed;
#  - curl on every route; the gateway API with team and admin tokens:
#    401 without or with a wrong token, 403 for team payments acting on
#    search's alert or silence (and those attempts in the audit log),
#    ack / unack and silence add / preview / expire seen through the API
#    (and the acknowledgement at the owner's destination);
#  - POST /api/v2/alerts with good and bad alerts: 400 naming index and
#    field of each bad one, the good ones taken;
#  - 413 over max_body (by Content-Length and chunked), counted in
#    /metrics; 429 with Retry-After from a second instance with a small
#    rate limit, counted (vigil_http_rate_limited_total); the silence count
#    limit (http.max_silences) refusing with its reason; no tokens + a
#    non-loopback address = startup error;
#  - /metrics passes `promtool check metrics`, a real Prometheus scrapes
#    it, and values read back through Prometheus's query API equal vigil's;
#  - no token value in the log or the audit log.
# $VIGIL is the binary under test.
set -uo pipefail
VIGIL=${VIGIL:-bin/vigil}
cd "$(dirname "$0")/.." || exit 1
tmp=$(mktemp -d /tmp/vigil-http.XXXXXX)
. tests/fixtures/script.sh # pids, fail, cleanup at exit, wait_for
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Two hours of one-minute points for two teams' series, ending now: both
# jump at the end and stay up (keep_firing_for 1d), so two episodes are open
# when the input ends.
python3 - "$tmp/metrics.jsonl" <<'PY'
import json, sys, time
t0 = int(time.time()) // 60 * 60 - 120 * 60
with open(sys.argv[1], "w") as f:
    for i in range(120):
        for app in ("checkout", "search"):
            v = 100.0 + i % 3
            if app == "checkout" and i >= 100: v = 400.0
            if app == "search" and i >= 105: v = 300.0
            f.write(json.dumps({"series": "api.latency", "tags": {"app": app}, "ts": t0 + 60 * i, "value": v}) + "\n")
PY
cat >"$tmp/rules.yaml" <<EOT
rules:
  - {name: checkout-latency, series: api.latency, match: {app: checkout}, detector: des,
     params: {training: 10}, keep_firing_for: 1d, action: page, owner: payments}
  - {name: search-latency, series: api.latency, match: {app: search}, detector: des,
     params: {training: 10}, keep_firing_for: 1d, action: notify, owner: search}
owners:
  - name: payments
    destinations: [{type: file, path: "$tmp/payments.jsonl"}]
  - name: search
    destinations: [{type: file, path: "$tmp/search.jsonl"}]
EOT
export VIGIL_TEST_TOK_PAY=pay-token-5f0c2a9e7b11d3c4 VIGIL_TEST_TOK_SEARCH=search-token-8d2e4f6a1c3b5d7e
printf 'admin-token-3c9a7e5d1b2f4a6c\n' >"$tmp/admin.tok"
cat >"$tmp/cfg.yaml" <<EOT
rules: [$tmp/rules.yaml]
http:
  tokens:
    - {team: payments, token: "env:VIGIL_TEST_TOK_PAY"}
    - {team: search, token: "env:VIGIL_TEST_TOK_SEARCH"}
    - {admin: true, token: "file:$tmp/admin.tok"}
  open_reads: false
  max_body: 4096
  rate_limit: {rate: 1000, burst: 1000}
EOT

echo "== replay --serve, reading a FIFO: not ready until the input ends"
mkfifo "$tmp/in.fifo"
"$VIGIL" replay -c "$tmp/cfg.yaml" --state "$tmp/state" --serve 127.0.0.1:0 --port-file "$tmp/port" \
	"$tmp/in.fifo" >"$tmp/out.log" 2>"$tmp/err.log" &
vpid=$!
pids+=($vpid)
wait_for 30 test -s "$tmp/port" || { fail "no port file"; cat "$tmp/err.log"; exit 1; }
port=$(cat "$tmp/port")
base=http://127.0.0.1:$port
code() { curl -s -o "$tmp/body" -w '%{http_code}' "$@"; }
[ "$(code "$base/healthz")" = 200 ] || fail "healthz: $(cat "$tmp/body")"
[ "$(code "$base/readyz")" = 503 ] || fail "readyz before the input ends: want 503"
grep -q '"reason":"replaying input"' "$tmp/body" || fail "readyz reason: $(cat "$tmp/body")"
cat "$tmp/metrics.jsonl" >"$tmp/in.fifo"
ready() { [ "$(code "$base/readyz")" = 200 ]; }
wait_for 60 ready || fail "readyz did not become 200"
grep -q 'fired=2 .*open_episodes=2' "$tmp/err.log" || fail "replay summary: $(grep 'vigil replay: lines' "$tmp/err.log")"

echo "== curl every route (admin token)"
A="Authorization: Bearer $(cat "$tmp/admin.tok")"
P="Authorization: Bearer $VIGIL_TEST_TOK_PAY"
S="Authorization: Bearer $VIGIL_TEST_TOK_SEARCH"
for route in "GET /healthz 200" "GET /readyz 200" "GET /metrics 200" "GET /api/v1/alerts 200" \
	"GET /api/v1/silences 200" "GET /api/v1/rules 200" "GET /api/v1/owners 200" \
	"GET /api/v1/alerts/0000000000000000 404" "POST /api/v1/alerts/0000000000000000/ack 404" \
	"POST /api/v1/alerts/0000000000000000/unack 404" "DELETE /api/v1/silences/s-0000000000000000 404" \
	"POST /api/v1/silences 400" "POST /api/v1/silences/preview 400" "POST /api/v2/alerts 200"; do
	set -- $route
	body=()
	[ "$1" = POST ] && body=(-d "$([ "$2" = /api/v2/alerts ] && echo '[]' || echo '{}')")
	got=$(code -X "$1" -H "$A" "${body[@]}" "$base$2")
	[ "$got" = "$3" ] || fail "$1 $2: $got, want $3: $(cat "$tmp/body")"
done

echo "== the API: authorisation, ack, silences, ingest (exact answers)"
python3 - "$base" "$(cat "$tmp/admin.tok")" "$tmp" <<'PY' || fail "API checks"
import json, sys, urllib.request, urllib.error
base, admin, tmp = sys.argv[1], sys.argv[2], sys.argv[3]
import os
pay, search = os.environ["VIGIL_TEST_TOK_PAY"], os.environ["VIGIL_TEST_TOK_SEARCH"]
errs = []
def want(cond, msg):
    if not cond:
        errs.append(msg)
def call(method, path, tok=None, body=None, raw=None):
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    h = {"Content-Type": "application/json"}
    if tok:
        h["Authorization"] = "Bearer " + tok
    req = urllib.request.Request(base + path, data=data, method=method, headers=h)
    try:
        with urllib.request.urlopen(req, timeout=20) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")

firing = {}
for team in ("payments", "search"):
    rows = [json.loads(l) for l in open("%s/%s.jsonl" % (tmp, team))]
    want([r["status"] for r in rows] == ["firing"], "%s destination: %s" % (team, [r["status"] for r in rows]))
    firing[team] = rows[0]["episode"]
ep_pay, ep_search = firing["payments"], firing["search"]

# authentication
st, b = call("GET", "/api/v1/alerts")
want(st == 401 and b == {"error": "a bearer token is required", "status": 401}, "no token: %d %s" % (st, b))
st, b = call("GET", "/api/v1/alerts", tok="wrong-token-0000000000")
want(st == 401 and b["error"] == "invalid token", "wrong token: %d %s" % (st, b))
st, b = call("POST", "/api/v1/alerts/%s/ack" % ep_pay, body={})
want(st == 401, "ack without a token: %d" % st)

# listings, scoped by token
st, b = call("GET", "/api/v1/alerts", tok=admin)
want(st == 200 and sorted(a["episode"] for a in b) == sorted([ep_pay, ep_search]), "admin alerts: %s" % b)
st, b = call("GET", "/api/v1/alerts", tok=pay)
want(st == 200 and [a["episode"] for a in b] == [ep_pay], "payments' alerts: %s" % b)
want(b and b[0]["owner"] == "payments" and b[0]["rule"] == "checkout-latency" and
     b[0]["series"] == "api.latency{app=checkout}" and b[0]["acknowledged"] is False, "alert fields: %s" % b)
st, b = call("GET", "/api/v1/alerts?owner=search", tok=pay)
want(st == 403, "payments reading search's alerts: %d" % st)
st, b = call("GET", "/api/v1/alerts/%s" % ep_search, tok=pay)
want(st == 403, "payments reading search's alert: %d %s" % (st, b))
st, b = call("GET", "/api/v1/alerts/%s" % ep_search, tok=search)
want(st == 200 and b["episode"] == ep_search and b["owner"] == "search", "search's alert: %s" % b)
st, b = call("GET", "/api/v1/alerts?state=bogus", tok=admin)
want(st == 400, "bad state filter: %d" % st)

# acknowledge: team A on team B's alert is refused; its own works
st, b = call("POST", "/api/v1/alerts/%s/ack" % ep_search, tok=pay, body={"comment": "mine?"})
want(st == 403 and b["status"] == 403, "payments acking search's alert: %d %s" % (st, b))
st, b = call("POST", "/api/v1/alerts/%s/ack" % ep_pay, tok=pay, body={"comment": "looking", "x": 1})
want(st == 400, "ack with an unknown body key: %d" % st)
st, b = call("POST", "/api/v1/alerts/%s/ack" % ep_pay, tok=pay, body={"comment": "looking"})
want(st == 200 and b == {"episode": ep_pay, "owner": "payments", "acknowledged": True}, "ack: %d %s" % (st, b))
st, b = call("GET", "/api/v1/alerts/%s" % ep_pay, tok=pay)
want(b.get("acknowledged") is True, "after ack: %s" % b)
st, b = call("GET", "/api/v1/alerts?state=acknowledged", tok=admin)
want([a["episode"] for a in b] == [ep_pay], "state=acknowledged: %s" % b)
st, b = call("GET", "/api/v1/alerts?state=active", tok=admin)
want([a["episode"] for a in b] == [ep_search], "state=active: %s" % b)
rows = [json.loads(l) for l in open("%s/payments.jsonl" % tmp)]
want([r["status"] for r in rows] == ["firing", "acknowledged"], "payments destination after ack: %s" % [r["status"] for r in rows])
want(rows[-1].get("acknowledged_by") == "team:payments" and rows[-1].get("ack_comment") == "looking",
     "ack notification: %s" % {k: rows[-1].get(k) for k in ("acknowledged_by", "ack_comment")})
st, b = call("POST", "/api/v1/alerts/%s/unack" % ep_pay, tok=admin)
want(st == 200 and b["acknowledged"] is False, "unack: %d %s" % (st, b))
st, b = call("GET", "/api/v1/alerts/%s" % ep_pay, tok=admin)
want(b.get("acknowledged") is False, "after unack: %s" % b)
# one alert: the why of its event and its episode history, in order
why = b.get("why") or {}
want(why.get("observed") == 400 and why.get("detector") == "des" and why.get("expected", 0) < 200,
     "why block: %s" % why)
want(b.get("startsAt", "").endswith("Z") and b.get("action") == "page", "startsAt/action: %s" % b)
ev = [h["event"] for h in b.get("history", [])]
want(ev == ["fired", "notified", "acknowledged", "unacknowledged"], "history: %s" % b.get("history"))
want("by team:payments: looking" in b["history"][2].get("detail", ""), "ack history detail: %s" % b.get("history"))
want("score" in b["history"][0].get("detail", ""), "fired history detail: %s" % b.get("history"))

# silences
spec = {"owner": "search", "matchers": ["alertname=search-latency"], "duration": "2h", "comment": "deploy"}
st, b = call("POST", "/api/v1/silences", tok=pay, body=spec)
want(st == 403, "payments silencing search: %d %s" % (st, b))
st, b = call("POST", "/api/v1/silences/preview", tok=search, body=spec)
want(st == 200 and [a["episode"] for a in b] == [ep_search], "preview: %s" % b)
st, b = call("POST", "/api/v1/silences", tok=search, body=spec)
want(st == 201 and b["id"].startswith("s-") and b["silence"]["state"] == "active" and
     b["silence"]["created_by"] == "team:search", "silence add: %d %s" % (st, b))
sid = b.get("id", "")
st, b = call("GET", "/api/v1/silences", tok=search)
want(st == 200 and [(s["id"], s["state"], s["matchers"]) for s in b] == [(sid, "active", ["alertname=\"search-latency\""])]
     or [(s["id"], s["state"]) for s in b] == [(sid, "active")], "silences: %s" % b)
st, b = call("GET", "/api/v1/silences", tok=pay)
want(st == 200 and b == [], "payments sees no silence of its own: %s" % b)
st, b = call("DELETE", "/api/v1/silences/%s" % sid, tok=pay)
want(st == 403, "payments expiring search's silence: %d" % st)
st, b = call("DELETE", "/api/v1/silences/%s" % sid, tok=search)
want(st == 200 and b["silence"]["state"] == "expired", "expire: %d %s" % (st, b))
st, b = call("GET", "/api/v1/silences?owner=search", tok=admin)
want([(s["id"], s["state"]) for s in b] == [(sid, "expired")], "after expire: %s" % b)

# rules and owners
st, b = call("GET", "/api/v1/rules", tok=pay)
want(st == 200 and [(r["name"], r["owner"], r["detector"], r["action"]) for r in b] ==
     [("checkout-latency", "payments", "des", "page"), ("search-latency", "search", "des", "notify")], "rules: %s" % b)
st, b = call("GET", "/api/v1/owners", tok=pay)
want(st == 200 and [(o["name"], o["destinations"]) for o in b] == [("payments", ["file"]), ("search", ["file"])],
     "owners: %s" % b)

# Alertmanager's ingest shape: two good, three bad, the good ones taken
import time
now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
alerts = [
    {"labels": {"alertname": "DiskFull", "owner": "payments", "host": "db1"}, "annotations": {"summary": "disk"},
     "startsAt": now, "generatorURL": "http://prom/graph"},
    {"labels": {"owner": "payments"}, "startsAt": now},
    {"labels": {"alertname": "X", "owner": "search"}, "startsAt": "yesterday"},
    {"labels": {"alertname": "QueueStuck", "owner": "search", "q": "orders"}, "startsAt": now},
    {"labels": {"alertname": "Y"}, "startsAt": now, "foo": 1},
]
st, b = call("POST", "/api/v2/alerts", tok=admin, body=alerts)
want(st == 400 and b["accepted"] == 2 and b["rejected"] == 3 and b["status"] == 400, "ingest: %d %s" % (st, b))
want([(e["index"], e["field"]) for e in b.get("errors", [])] == [(1, "labels"), (2, "startsAt"), (4, "foo")],
     "ingest errors: %s" % b.get("errors"))
want(b.get("error", "").startswith("alert 1: labels:"), "ingest error text: %s" % b.get("error"))
st, b = call("POST", "/api/v2/alerts", tok=pay, body=[{"labels": {"alertname": "Z", "owner": "search"}, "startsAt": now}])
want(st == 400 and b["accepted"] == 0 and b["errors"][0]["field"] == "labels.owner", "payments sending search's alert: %s" % b)
st, b = call("POST", "/api/v2/alerts", tok=admin, raw=b"[{")
want(st == 400 and b["error"].startswith("body: not valid JSON"), "bad JSON: %s" % b)
st, b = call("GET", "/api/v1/alerts", tok=admin)
want(sorted(a["rule"] for a in b) == ["DiskFull", "QueueStuck", "checkout-latency", "search-latency"], "alerts after ingest: %s" % [a["rule"] for a in b])

# 413
st, b = call("POST", "/api/v1/silences", tok=admin, raw=b"{" + b" " * 5000 + b"}")
want(st == 413 and b["status"] == 413, "over max_body: %d %s" % (st, b))
print("%d API checks failed" % len(errs))
for e in errs:
    print("  " + e)
sys.exit(1 if errs else 0)
PY

echo "== the audit log"
python3 - "$tmp/state/audit.jsonl" <<'PY' || fail "audit log"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
keys = {"time", "who", "action", "target", "client", "result", "status"}
bad = [r for r in rows if set(r) != keys or r["client"] != "127.0.0.1"]
got = [(r["who"], r["action"], r["status"]) for r in rows]
want = [("anonymous", "ack", 401), ("team:payments", "ack", 403), ("team:payments", "ack", 400),
        ("team:payments", "ack", 200), ("admin", "unack", 200), ("team:payments", "silence_add", 403),
        ("team:search", "silence_add", 201), ("team:payments", "silence_expire", 403),
        ("team:search", "silence_expire", 200), ("admin", "alert_ingest", 400),
        ("team:payments", "alert_ingest", 400), ("admin", "alert_ingest", 400)]
# the route sweep before (admin, 404s and 400s) comes first
sweep = [("admin", "ack", 404), ("admin", "unack", 404), ("admin", "silence_expire", 404),
         ("admin", "silence_add", 400), ("admin", "alert_ingest", 200)]
ok = got == sweep + want and not bad
print("audit: %d records%s" % (len(rows), "" if ok else ": got %s, bad %s" % (got, bad)))
denied = [r for r in rows if r["who"] == "team:payments" and r["action"] == "ack" and r["status"] == 403]
print("denied ack:", denied[0] if denied else None)
sys.exit(0 if ok else 1)
PY
[ "$(grep -c 'event=request' "$tmp/err.log")" -gt 40 ] || fail "requests are not logged"
for t in "$VIGIL_TEST_TOK_PAY" "$VIGIL_TEST_TOK_SEARCH" "$(cat "$tmp/admin.tok")"; do
	grep -qF "$t" "$tmp/err.log" "$tmp/state/audit.jsonl" && fail "a token value is in the log or the audit log"
done

echo "== /metrics: promtool, and a real Prometheus scraping it"
metrics_caught_up() { # rendered once a second: wait for the ingested alerts
	curl -s "$base/metrics" >"$tmp/metrics.txt"
	grep -q '^vigil_gateway_episodes_fired_total 4$' "$tmp/metrics.txt"
}
wait_for 20 metrics_caught_up || fail "the metrics did not count the ingested alerts within 20 s"
promtool check metrics <"$tmp/metrics.txt" >"$tmp/promtool.out" 2>&1 || fail "promtool: $(cat "$tmp/promtool.out")"
metric() { awk -v n="$1" '$1 == n {print $2}' "$tmp/metrics.txt"; }
[ "$(metric vigil_points_total)" = 240 ] || fail "vigil_points_total $(metric vigil_points_total), want 240"
[ "$(metric vigil_input_records_total)" = 240 ] || fail "vigil_input_records_total"
[ "$(metric vigil_gateway_episodes_fired_total)" = 4 ] || fail "fired $(metric vigil_gateway_episodes_fired_total), want 4 (2 detected + 2 ingested)"
[ "$(metric vigil_gateway_open_episodes)" = 4 ] || fail "open episodes $(metric vigil_gateway_open_episodes), want 4"
[ "$(metric 'vigil_gateway_notifications_total{outcome="dead_lettered"}')" = 0 ] || fail "dead letters"
# per destination: payments' and search's file destinations, summing to the total
[ "$(metric 'vigil_destination_notifications_total{destination="payments#0",type="file",outcome="delivered"}')" -ge 1 ] 2>/dev/null ||
	fail "payments#0 delivered: $(grep vigil_destination_notifications "$tmp/metrics.txt")"
sum=$(awk '/^vigil_destination_notifications_total\{.*outcome="delivered"\}/ {s += $2} END {print s + 0}' "$tmp/metrics.txt")
[ "$sum" = "$(metric 'vigil_gateway_notifications_total{outcome="delivered"}')" ] ||
	fail "per-destination delivered sum $sum, total $(metric 'vigil_gateway_notifications_total{outcome="delivered"}')"
[ "$(metric vigil_ready)" = 1 ] || fail "vigil_ready"
[ "$(metric vigil_gateway_acks_total)" = 1 ] || fail "acks $(metric vigil_gateway_acks_total), want 1"
# the ack above was taken back (unack): all four open alerts are active
[ "$(metric 'vigil_gateway_alerts{state="acknowledged"}')" = 0 ] || fail "acknowledged alerts $(metric 'vigil_gateway_alerts{state="acknowledged"}'), want 0"
[ "$(metric 'vigil_gateway_alerts{state="active"}')" = 4 ] || fail "active alerts $(metric 'vigil_gateway_alerts{state="active"}'), want 4"
grep -Eq '^vigil_detector_update_seconds_count\{detector="[a-z_]+"\} [1-9]' "$tmp/metrics.txt" ||
	fail "no sampled detector update time: $(grep vigil_detector_update "$tmp/metrics.txt")"
ppath=$(command -v prometheus || true)
if [ -z "$ppath" ]; then
	fail "prometheus is not installed (make deps installs it)"
else
	pport=$(free_port)
	cat >"$tmp/prometheus.yml" <<EOT
global: {scrape_interval: 1s, evaluation_interval: 1s}
scrape_configs:
  - job_name: vigil
    static_configs: [{targets: ["127.0.0.1:$port"]}]
EOT
	prometheus --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/tsdb" \
		--web.listen-address="127.0.0.1:$pport" >"$tmp/prometheus.log" 2>&1 &
	pids+=($!)
	query() { curl -s "http://127.0.0.1:$pport/api/v1/query" --data-urlencode "query=$1" |
		python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else "")' 2>/dev/null; }
	scraped() { [ -n "$(query vigil_points_total)" ]; }
	wait_for 90 scraped || fail "Prometheus did not scrape vigil within 90 s: $(tail -5 "$tmp/prometheus.log")"
	for m in vigil_points_total vigil_gateway_episodes_fired_total 'vigil_gateway_notifications_total{outcome="delivered"}' \
		'up{job="vigil"}'; do
		# equal once Prometheus has scraped the current values (1 s interval)
		for _ in $(seq 30); do
			got=$(query "$m")
			want=$(curl -s "$base/metrics" | awk -v n="$m" '$1 == n {print $2}')
			[ "$m" = 'up{job="vigil"}' ] && want=1
			[ -n "$got" ] && [ "$got" = "$want" ] && break
			sleep 0.5
		done
		echo "$m: prometheus=$got vigil=$want"
		[ -n "$got" ] && [ "$got" = "$want" ] || fail "$m: Prometheus has '$got', vigil reports '$want'"
	done
fi

echo "== 413 over max_body, by Content-Length and chunked, counted in /metrics"
python3 -c 'print("{" + " " * 6000 + "}")' >"$tmp/big.json"
got=$(curl -s -o "$tmp/body413" -w '%{http_code}' -H "$A" -H 'Transfer-Encoding: chunked' \
	-H 'Content-Type: application/json' --data-binary @"$tmp/big.json" "$base/api/v1/silences")
[ "$got" = 413 ] || fail "chunked body over max_body: $got $(cat "$tmp/body413")"
grep -q '"error":"request body over the limit of 4096 bytes","status":413' "$tmp/body413" ||
	fail "413 body: $(cat "$tmp/body413")"
# metric NAME BASE [HEADER]: its value in BASE/metrics
metric() { curl -s ${3:+-H "$3"} "$2/metrics" | awk -v n="$1" '$1 == n {print $2}'; }
# the counters reach /metrics with the service's next refresh: wait for it
n413_is_2() { [ "$(metric 'vigil_http_requests_total{code="413"}' "$base" "$A")" = 2 ]; }
wait_for 10 n413_is_2
n413=$(metric 'vigil_http_requests_total{code="413"}' "$base" "$A")
[ "$n413" = 2 ] || fail "vigil_http_requests_total{code=\"413\"} is '$n413' after two bodies over max_body, want 2"

echo "== 429 from a small rate limit; no tokens on a public address is refused"
cat >"$tmp/cfg2.yaml" <<EOT
rules: [$tmp/rules.yaml]
http: {rate_limit: {rate: 0.2, burst: 3}}
EOT
head -n 20 "$tmp/metrics.jsonl" >"$tmp/small.jsonl"
"$VIGIL" replay -c "$tmp/cfg2.yaml" --serve 127.0.0.1:0 --port-file "$tmp/port2" "$tmp/small.jsonl" \
	>"$tmp/out2.log" 2>"$tmp/err2.log" &
pids+=($!)
wait_for 30 test -s "$tmp/port2" || fail "second instance did not start"
b2=http://127.0.0.1:$(cat "$tmp/port2")
codes=""
for _ in 1 2 3 4; do codes="$codes $(curl -s -o "$tmp/body2" -D "$tmp/hdr2" -w '%{http_code}' "$b2/api/v1/rules")"; done
[ "$codes" = " 200 200 200 429" ] || fail "rate limit: got$codes, want 200 200 200 429"
# one token per 5 s: Retry-After is 5 s less the time the three calls took
ra=$(tr -d '\r' <"$tmp/hdr2" | sed -n 's/^[Rr]etry-[Aa]fter: //p')
[ -n "$ra" ] && [ "$ra" -ge 2 ] && [ "$ra" -le 5 ] || fail "429 with Retry-After '$ra', want 2..5 s"
grep -q '"status":429' "$tmp/body2" || fail "429 body: $(cat "$tmp/body2")"
# after Retry-After a token is there again: /metrics counts the one refusal
sleep "${ra:-5}"
curl -s -o "$tmp/metrics2" -w '%{http_code}' "$b2/metrics" | grep -qx 200 || fail "/metrics after Retry-After: $(head -c 300 "$tmp/metrics2")"
rl=$(awk '$1 == "vigil_http_rate_limited_total" {print $2}' "$tmp/metrics2")
n429=$(awk '$1 == "vigil_http_requests_total{code=\"429\"}" {print $2}' "$tmp/metrics2")
[ "$rl" = 1 ] && [ "$n429" = 1 ] || fail "vigil_http_rate_limited_total '$rl' and code 429 '$n429', want 1 and 1"
"$VIGIL" replay --rules "$tmp/rules.yaml" --serve 0.0.0.0:0 "$tmp/small.jsonl" >"$tmp/out3.log" 2>&1
rc=$?
[ $rc = 1 ] && grep -q 'refusing to serve HTTP on 0.0.0.0:0 without tokens' "$tmp/out3.log" ||
	fail "no tokens on 0.0.0.0: rc=$rc $(cat "$tmp/out3.log")"

echo "== the silence count limit (http.max_silences: 3) refuses the fourth with its reason"
printf 'admin-token-9e8d7c6b5a4f3e2d\n' >"$tmp/admin3.tok"
cat >"$tmp/cfg3.yaml" <<EOT
rules: [$tmp/rules.yaml]
http: {rate_limit: {rate: 0}, max_silences: 3, tokens: [{admin: true, token: "file:$tmp/admin3.tok"}]}
EOT
"$VIGIL" replay -c "$tmp/cfg3.yaml" --state "$tmp/state3" --serve 127.0.0.1:0 --port-file "$tmp/port3" \
	"$tmp/small.jsonl" >"$tmp/out4.log" 2>"$tmp/err4.log" &
pids+=($!)
wait_for 30 test -s "$tmp/port3" || fail "third instance did not start"
b3=http://127.0.0.1:$(cat "$tmp/port3")
A3="Authorization: Bearer $(cat "$tmp/admin3.tok")"
codes=""
for i in 1 2 3 4; do
	codes="$codes $(curl -s -o "$tmp/body3" -w '%{http_code}' -H "$A3" -H 'Content-Type: application/json' \
		-d "{\"owner\": \"payments\", \"matchers\": [\"alertname=checkout-latency\", \"n=$i\"], \"duration\": \"2h\", \"comment\": \"c$i\"}" \
		"$b3/api/v1/silences")"
done
[ "$codes" = " 201 201 201 503" ] || fail "silences over the limit: got$codes, want 201 201 201 503"
grep -q '"error":"silence: too many silences (at most 3)"' "$tmp/body3" || fail "limit error: $(cat "$tmp/body3")"
n=$(curl -s -H "$A3" "$b3/api/v1/silences" | python3 -c 'import json, sys; print(len(json.load(sys.stdin)))')
[ "$n" = 3 ] || fail "$n silences listed, want the 3 admitted"
n503_is_1() { [ "$(metric 'vigil_http_requests_total{code="503"}' "$b3" "$A3")" = 1 ]; }
wait_for 10 n503_is_1
n503=$(metric 'vigil_http_requests_total{code="503"}' "$b3" "$A3")
[ "$n503" = 1 ] || fail "vigil_http_requests_total{code=\"503\"} '$n503', want 1"
grep -q '"action":"silence_add".*"status":503' "$tmp/state3/audit.jsonl" || fail "the refused silence is not in the audit log"

echo "== SIGTERM stops the service"
kill -TERM "$vpid"
wait "$vpid"
rc=$?
[ $rc = 0 ] || fail "replay --serve exit status $rc after SIGTERM"
grep -q 'stopping the HTTP service' "$tmp/err.log" || fail "no stop message"

echo "e2e_http: $fails failed"
[ "$fails" -eq 0 ]
