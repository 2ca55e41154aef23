#!/usr/bin/env bash
# The web console in a real browser: headless Chromium (Debian's chromium)
# driven by playwright-core (npm, pinned, installed into build/node) against
# `vigil replay --serve` on loopback with the demo data cut mid-incident and
# tokens configured (team tokens and an admin token as env: references).
#  1. payments' token: the alerts page, one alert with its chart, why and
#     history, acknowledge, a silence from it (preview, create), expire
#     another silence; the API then shows the alert acknowledged, the new
#     silence active and the other expired; screenshots on
#     desktop and phone (390x844) in build/<variant>/artifacts/console/.
#  2. payments' token on storage's alert: acknowledge and silence answer 403
#     in the page and through the API, nothing changed, and each attempt is
#     in the audit log.
#     An alert whose texts are markup (and a javascript: runbook) is shown
#     as text: nothing of it runs.
#  3. no tokens: the console says read-only and disables writes; and vigil
#     refuses a non-loopback address.
#  4. data/demo/run-console.sh (make console): says its URL, serves the
#     demo's two open alerts read-only, refuses a non-loopback address.
# Without Chromium or npm (and no way to install them) it prints SKIP and
# exits 0; this machine has both, so there it runs.
set -uo pipefail
VIGIL=${VIGIL:-bin/vigil}
cd "$(dirname "$0")/.." || exit 1
root=$PWD
PW_VERSION=1.65.2
case "$VIGIL" in *asan*) variant=asan ;; *) variant=${VIGIL_TEST_VARIANT:-rel} ;; esac
art=$root/build/$variant/artifacts/console
prefix=$root/build/node
tmp=$(mktemp -d /tmp/vigil-console.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT
skip() {
	echo "SKIP e2e_console: $* ************************************************"
	exit 0
}
fails=0
ok() { echo "ok   $*"; }
fail() {
	echo "FAIL $*"
	fails=$((fails + 1))
}

# ---- the browser and its driver ----
if [ ! -x /usr/bin/chromium ]; then
	if [ "$(id -u)" = 0 ]; then
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >"$tmp/apt.log" 2>&1 ||
			skip "Debian's chromium is not installed and apt-get install chromium failed: $(tail -n 1 "$tmp/apt.log")"
	else
		skip "Debian's chromium is not installed (run: sudo apt-get install chromium)"
	fi
fi
command -v node >/dev/null && command -v npm >/dev/null || skip "node and npm are needed for playwright-core"
if [ "$(node -p "try{require('$prefix/node_modules/playwright-core/package.json').version}catch(e){''}")" != "$PW_VERSION" ]; then
	mkdir -p "$prefix"
	npm install --prefix "$prefix" --no-audit --no-fund --no-save "playwright-core@$PW_VERSION" >"$tmp/npm.log" 2>&1 ||
		skip "npm install playwright-core@$PW_VERSION failed: $(tail -n 3 "$tmp/npm.log" | tr '\n' ' ')"
fi
rm -rf "$art"
mkdir -p "$art"

# ---- vigil with tokens on loopback, the demo cut at 2026-03-04 03:30 ----
n=$(grep -n -m1 -E '(^|[^0-9])1772595000([0-9]{9})?([^0-9]|$)' data/demo/metrics.log | cut -d: -f1)
head -n $((n - 1)) data/demo/metrics.log >"$tmp/demo.log"
export VIGIL_TOKEN_PAYMENTS=payments-console-token-0123456789
export VIGIL_TOKEN_STORAGE=storage-console-token-0123456789
export VIGIL_TOKEN_ADMIN=admin-console-token-0123456789ab
sed "s#data/demo/out/#$tmp/#" data/demo/owners.yaml >"$tmp/owners.yaml"
cat >>"$tmp/owners.yaml" <<'EOT'
    people: [{name: alice, destinations: [{type: stdout}]}, {name: bob, destinations: [{type: stdout}]}]
    schedules: [{name: primary, rotation: [alice, bob], shift: 1w, start: "2026-01-05 09:00", time_zone: UTC}]
EOT
cat >"$tmp/cfg.yaml" <<EOT
rules: [$root/data/demo/rules]
owners: $tmp/owners.yaml
http:
  tokens:
    - {team: payments, token: "env:VIGIL_TOKEN_PAYMENTS"}
    - {team: storage, token: "env:VIGIL_TOKEN_STORAGE"}
    - {admin: true, token: "env:VIGIL_TOKEN_ADMIN"}
  open_reads: true
  rate_limit: {rate: 500, burst: 1000}
  audit_log: $tmp/audit.jsonl
EOT
# start NAME ARGS...: vigil replay --serve on a free loopback port; sets $base
start() {
	local name=$1
	shift
	rm -f "$tmp/$name.port"
	"$VIGIL" replay "$@" --serve 127.0.0.1:0 --port-file "$tmp/$name.port" "$tmp/demo.log" \
		>"$tmp/$name.out" 2>"$tmp/$name.err" &
	pids+=($!)
	for _ in $(seq 600); do
		[ -s "$tmp/$name.port" ] && curl -sf "http://127.0.0.1:$(cat "$tmp/$name.port")/readyz" >/dev/null && break
		sleep 0.1
	done
	[ -s "$tmp/$name.port" ] || {
		echo "FAIL vigil ($name) did not start"
		tail -n 20 "$tmp/$name.err"
		exit 1
	}
	base=http://127.0.0.1:$(cat "$tmp/$name.port")
}
start tokens -c "$tmp/cfg.yaml"
# the episodes open at 03:30: payments' checkout-traffic, storage's replication-lag
episode_of() {
	curl -s -H "Authorization: Bearer $VIGIL_TOKEN_ADMIN" "$base/api/v1/alerts" |
		python3 -c 'import json,sys; print(" ".join(a["episode"] for a in json.load(sys.stdin) if a["rule"] == sys.argv[1]))' "$1"
}
EP_PAY=$(episode_of checkout-traffic)
EP_STO=$(episode_of replication-lag)
[[ "$EP_PAY" =~ ^[0-9a-f]{16}$ && "$EP_STO" =~ ^[0-9a-f]{16}$ ]] ||
	{ echo "FAIL want one open checkout-traffic and one replication-lag alert, got '$EP_PAY' and '$EP_STO'"; exit 1; }
# api TOKEN METHOD PATH [BODY]: prints the body, then the status on its own line
api() {
	curl -s -w '\n%{http_code}' -X "$2" ${1:+-H "Authorization: Bearer $1"} -H 'Content-Type: application/json' \
		${4:+--data "$4"} "$base$3"
}
drive() { # drive SCENARIO TOKEN EP
	PW_PREFIX=$prefix BASE=$base TOKEN=$2 EP=$3 ART=$art PROFILE=$(mktemp -d "$tmp/profile.XXXXXX") \
		timeout 180 node tests/console/drive.mjs "$1" 2>&1 | tee "$tmp/drive-$1.log"
	return "${PIPESTATUS[0]}"
}

# the served files: content types, ETag, 304
hdr=$(curl -s -D - -o /dev/null "$base/console/app.js")
etag=$(grep -i '^etag:' <<<"$hdr" | cut -d' ' -f2 | tr -d '\r')
grep -qi '^content-type: text/javascript' <<<"$hdr" && [ -n "$etag" ] && grep -qi '^cache-control: no-cache' <<<"$hdr" &&
	ok "app.js: text/javascript, ETag $etag, Cache-Control no-cache" || fail "app.js headers: $hdr"
st=$(curl -s -o /dev/null -w '%{http_code}' -H "If-None-Match: $etag" "$base/console/app.js")
[ "$st" = 304 ] && ok "If-None-Match with its ETag: 304" || fail "If-None-Match: $st, want 304"
st=$(curl -s -o /dev/null -w '%{http_code}' -H 'If-None-Match: "0000000000000000"' "$base/console/app.js")
[ "$st" = 200 ] && ok "If-None-Match with another ETag: 200" || fail "If-None-Match with another ETag: $st, want 200"
st=$(curl -s -o /dev/null -w '%{http_code}' "$base/console/secrets.txt")
[ "$st" = 404 ] && ok "a file the console does not have: 404" || fail "/console/secrets.txt: $st, want 404"
curl -s -D - -o /dev/null "$base/" | grep -qi '^content-type: text/html' && ok "/: text/html" || fail "/ is not text/html"

echo "--- 1. payments acknowledges and silences its own alert in the browser"
r=$(api "$VIGIL_TOKEN_PAYMENTS" POST /api/v1/silences \
	'{"owner":"payments","matchers":["host=nowhere"],"duration":"1h","comment":"to expire from the console"}')
old_sid=$(sed -n 's/.*"id":"\(s-[0-9a-f]*\)".*/\1/p' <<<"$r" | head -n 1)
[ -n "$old_sid" ] || fail "could not create the silence to expire: $r"
EXPIRE_ID=$old_sid drive act "$VIGIL_TOKEN_PAYMENTS" "$EP_PAY" || fail "the browser scenario 'act' (see above)"
sid=$(sed -n 's/^SILENCE_ID=//p' "$tmp/drive-act.log")
r=$(api "$VIGIL_TOKEN_ADMIN" GET "/api/v1/alerts/$EP_PAY")
python3 -c 'import json,sys; a=json.loads(sys.argv[1].rsplit("\n",1)[0]); sys.exit(0 if a["acknowledged"] else 1)' "$r" &&
	ok "the API shows $EP_PAY acknowledged" || fail "the API does not show $EP_PAY acknowledged: $r"
r=$(api "$VIGIL_TOKEN_ADMIN" GET "/api/v1/silences?owner=payments")
python3 - "$r" "$sid" <<'PY' && ok "the API shows silence $sid active with the alert's matchers" || fail "silence $sid not active through the API: $r"
import json, sys
sil = [s for s in json.loads(sys.argv[1].rsplit("\n", 1)[0]) if s.get("id") == sys.argv[2]]
sys.exit(0 if sil and sil[0]["state"] == "active" and any(m.replace('"', "") == "alertname=checkout-traffic" for m in sil[0]["matchers"])
         and sil[0]["created_by"] == "team:payments" else 1)
PY
python3 - "$r" "$old_sid" <<'PY' && ok "the API shows silence $old_sid expired" || fail "silence $old_sid not expired: $r"
import json, sys
sil = [s for s in json.loads(sys.argv[1].rsplit("\n", 1)[0]) if s.get("id") == sys.argv[2]]
sys.exit(0 if sil and sil[0]["state"] == "expired" else 1)
PY
r=$(api "$VIGIL_TOKEN_ADMIN" POST /api/v1/silences/preview \
	"{\"owner\":\"payments\",\"matchers\":[\"alertname=checkout-traffic\"],\"duration\":\"1h\",\"comment\":\"x\"}")
grep -q "$EP_PAY" <<<"$r" && ok "the silence's matchers cover $EP_PAY" || fail "preview: $r"
grep -q "\"who\":\"team:payments\",\"action\":\"ack\",\"target\":\"$EP_PAY\".*\"status\":200" "$tmp/audit.jsonl" &&
	ok "audit: team:payments ack $EP_PAY 200" || fail "audit lacks the ack: $(cat "$tmp/audit.jsonl")"

echo "--- 2. payments may not acknowledge or silence storage's alert"
drive forbidden "$VIGIL_TOKEN_PAYMENTS" "$EP_STO" || fail "the browser scenario 'forbidden' (see above)"
r=$(api "$VIGIL_TOKEN_PAYMENTS" POST "/api/v1/alerts/$EP_STO/ack" '{}')
[ "${r##*$'\n'}" = 403 ] && ok "API: payments acks storage's alert: 403" || fail "API ack: $r"
r=$(api "$VIGIL_TOKEN_PAYMENTS" POST /api/v1/silences \
	"{\"owner\":\"storage\",\"matchers\":[\"alertname=replication-lag\"],\"duration\":\"1h\",\"comment\":\"x\"}")
[ "${r##*$'\n'}" = 403 ] && ok "API: payments silences storage's alert: 403" || fail "API silence: $r"
r=$(api "$VIGIL_TOKEN_ADMIN" GET "/api/v1/alerts/$EP_STO")
python3 -c 'import json,sys; a=json.loads(sys.argv[1].rsplit("\n",1)[0]); sys.exit(0 if not a["acknowledged"] and not a["muted"] else 1)' "$r" &&
	ok "storage's alert is neither acknowledged nor muted" || fail "storage's alert changed: $r"
r=$(api "$VIGIL_TOKEN_ADMIN" GET "/api/v1/silences?owner=storage")
[ "${r%$'\n'*}" = "[]" ] && ok "storage has no silence" || fail "storage silences: $r"
na=$(grep -c "\"who\":\"team:payments\",\"action\":\"ack\",\"target\":\"$EP_STO\".*\"status\":403" "$tmp/audit.jsonl")
ns=$(grep -c '"who":"team:payments","action":"silence_add","target":"owner:storage".*"status":403' "$tmp/audit.jsonl")
[ "$na" -ge 2 ] && ok "audit: $na refused acks of $EP_STO by team:payments (browser + API)" || fail "audit: $na refused acks, want 2"
[ "$ns" -ge 2 ] && ok "audit: $ns refused silences of owner:storage by team:payments (browser + API)" || fail "audit: $ns refused silences, want 2"
grep -q "$VIGIL_TOKEN_PAYMENTS\|$VIGIL_TOKEN_ADMIN\|not-a-token-of-this-server" "$tmp/audit.jsonl" "$tmp/tokens.err" && fail "a token reached a log" ||
	ok "no token in the audit or the server log"

echo "--- 2b. an alert made of markup is shown as text"
r=$(api "$VIGIL_TOKEN_ADMIN" POST /api/v2/alerts '[{"labels":{"alertname":"evil<img src=x onerror=window.__pwned=1>","owner":"payments","host":"<script>window.__pwned=2</script>"},"annotations":{"summary":"<b>not bold</b>","runbook_url":"javascript:window.__pwned=3"},"startsAt":"2026-03-04T03:20:00Z"}]')
[ "${r##*$'\n'}" = 200 ] || fail "ingest the hostile alert: $r"
r=$(api "$VIGIL_TOKEN_ADMIN" GET "/api/v1/alerts?owner=payments")
EP_EVIL=$(python3 -c 'import json,sys; print([a["episode"] for a in json.loads(sys.argv[1].rsplit("\n",1)[0]) if a["rule"].startswith("evil")][0])' "$r")
drive hostile "$VIGIL_TOKEN_ADMIN" "$EP_EVIL" || fail "the browser scenario 'hostile' (see above)"

echo "--- 3. without tokens: read-only, loopback only"
start plain --rules data/demo/rules --owners "$tmp/owners.yaml"
drive readonly "" "$EP_STO" || fail "the browser scenario 'readonly' (see above)"
r=$(api "" POST "/api/v1/alerts/$EP_STO/ack" '{}')
[ "${r##*$'\n'}" = 403 ] && ok "API without tokens: ack is 403 (read-only)" || fail "read-only ack: $r"
"$VIGIL" replay --rules data/demo/rules --owners "$tmp/owners.yaml" --serve 0.0.0.0:0 "$tmp/demo.log" \
	>/dev/null 2>"$tmp/open.err" &
p=$!
pids+=($p)
for _ in $(seq 100); do kill -0 $p 2>/dev/null || break; sleep 0.1; done
if kill -0 $p 2>/dev/null; then
	fail "vigil serves 0.0.0.0 without tokens"
else
	wait $p
	rc=$?
	[ $rc -ne 0 ] && grep -q "without tokens" "$tmp/open.err" && ok "0.0.0.0 without tokens refused (exit $rc): $(tail -n 1 "$tmp/open.err")" ||
		fail "0.0.0.0 without tokens: exit $rc, $(cat "$tmp/open.err")"
fi

echo "--- 4. make console's script: the demo mid-incident, read-only, on loopback"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
VIGIL=$VIGIL CONSOLE_ADDR=127.0.0.1:$port bash data/demo/run-console.sh >"$tmp/console.out" 2>"$tmp/console.err" &
pids+=($!)
for _ in $(seq 300); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
grep -q "web console: http://127.0.0.1:$port/" "$tmp/console.out" && ok "make console says where: $(grep 'web console' "$tmp/console.out")" ||
	fail "make console's URL line: $(cat "$tmp/console.out")"
n_open=$(curl -s "http://127.0.0.1:$port/api/v1/alerts" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
[ "$n_open" = 2 ] && ok "make console: 2 open alerts to look at" || fail "make console: $n_open open alerts, want 2"
curl -s "http://127.0.0.1:$port/api/v1/session" | grep -q '"read_only":true' && ok "make console: read-only" ||
	fail "make console is not read-only"
curl -s "http://127.0.0.1:$port/" | grep -q '<title>vigil console</title>' && ok "make console serves the console" ||
	fail "make console: no console at /"
if VIGIL=$VIGIL CONSOLE_ADDR=0.0.0.0:$port timeout 20 bash data/demo/run-console.sh >/dev/null 2>"$tmp/console-open.err"; then
	fail "make console on 0.0.0.0 started"
else
	grep -q "without tokens" "$tmp/console-open.err" && ok "make console on 0.0.0.0 refused" ||
		fail "make console on 0.0.0.0: $(tail -n 2 "$tmp/console-open.err")"
fi

# stop the servers: a clean exit, and nothing from the sanitizers in an ASan build
for i in "${!pids[@]}"; do
	kill -TERM "${pids[$i]}" 2>/dev/null && wait "${pids[$i]}" 2>/dev/null
	unset "pids[$i]"
done
for name in tokens plain console; do
	grep -qE 'AddressSanitizer|LeakSanitizer|runtime error' "$tmp/$name.err" &&
		fail "vigil ($name): $(grep -m1 -E 'AddressSanitizer|LeakSanitizer|runtime error' "$tmp/$name.err")" ||
		ok "vigil ($name) stopped without sanitizer reports"
done

ls "$art"/*.png >/dev/null 2>&1 && echo "screenshots: $(ls "$art" | tr '\n' ' ')"
echo "e2e_console: $fails failed"
[ $fails -eq 0 ]
