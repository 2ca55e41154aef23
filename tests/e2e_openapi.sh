#!/usr/bin/env bash
# cli/openapi.yaml matches the server: every documented route is in the
# route table with its documented methods and every served route is
# documented (`vigil help api` prints the table the server uses); then a
# running `vigil replay --serve` answers every documented operation with a
# status code its document lists (never the router's 404 / 405), and every
# undocumented method on a documented path with 405.
set -uo pipefail
VIGIL=${VIGIL:-bin/vigil}
cd "$(dirname "$0")/.." || exit 1
tmp=$(mktemp -d /tmp/vigil-openapi.XXXXXX)
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

"$VIGIL" help api >"$tmp/routes.txt" || { echo "FAIL vigil help api"; exit 1; }
python3 - cli/openapi.yaml "$tmp/routes.txt" <<'PY' || exit 1
import sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
assert doc["openapi"].startswith("3."), doc["openapi"]
documented = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops
              if m in ("get", "post", "put", "delete", "patch")}
served = {tuple(l.split()) for l in open(sys.argv[2]) if l.strip()}
missing = sorted(documented - served)
undocumented = sorted(served - documented)
print("documented %d operations, served %d" % (len(documented), len(served)))
for m, p in missing:
    print("FAIL documented but not served: %s %s" % (m, p))
for m, p in undocumented:
    print("FAIL served but not documented: %s %s" % (m, p))
sys.exit(1 if missing or undocumented else 0)
PY

# a live server: a rule, an admin token, the documented answers
head -n 200 data/demo/metrics.log >"$tmp/in.log"
printf 'openapi-test-admin-token-0123456789\n' >"$tmp/admin.tok"
cat >"$tmp/rules.yaml" <<EOT
rules:
  - {name: latency, series: api.latency_ms, detector: des, owner: team}
owners:
  - name: team
    destinations: [{type: file, path: "$tmp/team.jsonl"}]
EOT
cat >"$tmp/cfg.yaml" <<EOT
rules: [$tmp/rules.yaml]
http:
  tokens: [{admin: true, token: "file:$tmp/admin.tok"}]
  rate_limit: {rate: 1000, burst: 1000}
EOT
"$VIGIL" replay -c "$tmp/cfg.yaml" --serve 127.0.0.1:0 --port-file "$tmp/port" "$tmp/in.log" \
	>"$tmp/out.log" 2>"$tmp/err.log" &
pid=$!
for _ in $(seq 300); do [ -s "$tmp/port" ] && break; sleep 0.1; done
[ -s "$tmp/port" ] || { echo "FAIL the server did not start"; cat "$tmp/err.log"; exit 1; }
python3 - cli/openapi.yaml "$(cat "$tmp/port")" "$tmp/admin.tok" <<'PY'
import sys, yaml, json, urllib.request, urllib.error, time
doc = yaml.safe_load(open(sys.argv[1]))
base = "http://127.0.0.1:%s" % sys.argv[2]
tok = open(sys.argv[3]).read().strip()
def call(method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method,
                                 headers={"Authorization": "Bearer " + tok, "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=20) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
for _ in range(300):  # the replay is short: wait until it is ready
    if call("GET", "/readyz")[0] == 200:
        break
    time.sleep(0.1)
bodies = {"/api/v1/alerts/{episode}/ack": {}, "/api/v1/alerts/{episode}/unack": {},
          "/api/v1/silences": {}, "/api/v1/silences/preview": {}, "/api/v2/alerts": []}
fails = 0
n = 0
for path, ops in doc["paths"].items():
    concrete = path.replace("{episode}", "0123456789abcdef").replace("{id}", "s-0123456789abcdef")
    for m in ("get", "post", "put", "delete", "patch"):
        st, text = call(m.upper(), concrete, bodies.get(path) if m == "post" else None)
        n += 1
        if m in ops:
            codes = {int(c) for c in ops[m]["responses"]}
            ok = st in codes and "no such resource" not in text
            print("%s %-6s %-34s %d%s" % ("ok  " if ok else "FAIL", m.upper(), path, st,
                                          "" if ok else " (documented: %s) %s" % (sorted(codes), text[:100])))
        else:
            ok = st == 405
            if not ok:
                print("FAIL %-6s %-34s %d, want 405 (not documented)" % (m.upper(), path, st))
        fails += not ok
print("%d requests, %d failed" % (n, fails))
sys.exit(1 if fails else 0)
PY
rc=$?
[ $rc -eq 0 ] || { echo "--- server log"; tail -n 20 "$tmp/err.log"; }
exit $rc
