#!/usr/bin/env bash
# The alert chart end to end, as an on-call engineer meets it:
#  - `vigil replay --serve` on the demo data cut during the checkout latency
#    spike (that episode is still open), with team tokens, --svg DIR, and
#    payments' destinations: email to a real SMTP server (python3 -m
#    aiosmtpd, Maildir), Slack and PagerDuty to a loopback HTTP receiver;
#  - GET /api/v1/alerts/{episode}/chart.svg and .png with the owner's token:
#    content types, the SVG parses as XML with a band, value line and red
#    anomaly marks, the PNG has its signature and 800 x 320 in its IHDR;
#  - another team's token gets 403, no token 401, an unknown episode 404;
#    the single-alert JSON names both chart URLs;
#  - --svg DIR holds one valid SVG per episode fired; the charts of resolved
#    episodes are still served (owner's token 200, another owner's 403);
#  - the email of the firing has an inline image/png part whose Content-ID
#    the HTML references as cid:, and that part is a PNG;
#  - Slack's image block and PagerDuty's images link the gateway's chart.png
#    under http.public_url;
#  - the window is kept with the alert's state: a second replay on the same
#    --state DIR (no new input) still serves the chart with all its points.
# $VIGIL is the binary under test.
set -uo pipefail
VIGIL=${VIGIL:-bin/vigil}
cd "$(dirname "$0")/.." || exit 1
tmp=$(mktemp -d /tmp/vigil-chart.XXXXXX)
RT_DIR=$tmp
RT_PIDS=()
fails=0
fail() {
	echo "FAIL $*"
	fails=$((fails + 1))
}
rt_fail() { fail "$@"; }
cleanup() {
	for p in "${RT_PIDS[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	if [ "$fails" -gt 0 ]; then echo "kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
. tests/fixtures/receivers/lib.sh
. tests/fixtures/wait.sh # wait_for SECONDS CMD...

# the demo up to 2026-03-04 09:04: the latency spike (09:00) is firing
head -n 34050 data/demo/metrics.log >"$tmp/in.log"

smtp_port=$(rt_free_port)
/usr/bin/python3 -m aiosmtpd -n -l "127.0.0.1:$smtp_port" -c aiosmtpd.handlers.Mailbox "$tmp/maildir" \
	>"$tmp/smtp.log" 2>&1 &
RT_PIDS+=($!)
smtp_up() { python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', $smtp_port), 1)" 2>/dev/null; }
wait_for 20 smtp_up || { fail "SMTP server did not start"; cat "$tmp/smtp.log"; exit 1; }
rt_receiver hooks 0
hooks=http://127.0.0.1:$(cat "$tmp/hooks.port")

export VIGIL_TEST_TOK_PAY=pay-token-chart-5f0c2a9e7b11 VIGIL_TEST_TOK_SEARCH=search-token-chart-8d2e4f6a
export VIGIL_TEST_PD_KEY=0123456789abcdef0123456789abcdef VIGIL_TEST_SLACK="$hooks/slack"
export VIGIL_TEST_URL_KEY=chart-link-key-3b1f9e27c4d8a605
cat >"$tmp/owners.yaml" <<EOT
owners:
  - name: payments
    destinations:
      - {type: file, path: "$tmp/payments.jsonl"}
      - {type: email, smtp: "smtp://127.0.0.1:$smtp_port", from: "vigil <vigil@example.com>",
         to: payments-oncall@example.com, starttls: "off"}
      - {type: slack, url: "env:VIGIL_TEST_SLACK"}
      - {type: pagerduty, routing_key: "env:VIGIL_TEST_PD_KEY", url: "$hooks/pd"}
  - name: search
    destinations: [{type: file, path: "$tmp/search.jsonl"}]
  - name: storage
    destinations: [{type: file, path: "$tmp/storage.jsonl"}]
EOT
cat >"$tmp/cfg.yaml" <<EOT
rules: [data/demo/rules]
owners: $tmp/owners.yaml
http:
  tokens:
    - {team: payments, token: "env:VIGIL_TEST_TOK_PAY"}
    - {team: search, token: "env:VIGIL_TEST_TOK_SEARCH"}
  open_reads: false
  public_url: https://vigil.example.com/
  url_key: "env:VIGIL_TEST_URL_KEY"
  rate_limit: {rate: 1000, burst: 1000}
EOT

echo "== replay --serve --svg on the demo, cut during the latency spike"
"$VIGIL" replay -c "$tmp/cfg.yaml" --state "$tmp/state" --svg "$tmp/svg" --serve 127.0.0.1:0 \
	--port-file "$tmp/port" "$tmp/in.log" >"$tmp/out.log" 2>"$tmp/err.log" &
vpid=$!
RT_PIDS+=($vpid)
wait_for 30 test -s "$tmp/port" || { fail "no port file"; cat "$tmp/err.log"; exit 1; }
base=http://127.0.0.1:$(cat "$tmp/port")
ready() { [ "$(curl -s -o /dev/null -w '%{http_code}' "$base/readyz")" = 200 ]; }
wait_for 120 ready || { fail "not ready"; tail "$tmp/err.log"; exit 1; }
grep 'vigil replay: lines' "$tmp/err.log"
grep 'charts written' "$tmp/err.log"
fired=$(grep -o ' fired=[0-9]*' "$tmp/err.log" | cut -d= -f2)
[ "${fired:-0}" -ge 3 ] || fail "want at least 3 episodes fired, got '${fired:-}'"

python3 - "$base" "$tmp" "$fired" <<'PY' || fail "chart checks"
import json, os, re, struct, sys, time, urllib.request, urllib.error
import xml.etree.ElementTree as ET
import email, email.policy, mailbox
base, tmp, fired = sys.argv[1], sys.argv[2], int(sys.argv[3])
pay, search = os.environ["VIGIL_TEST_TOK_PAY"], os.environ["VIGIL_TEST_TOK_SEARCH"]
errs = []
def want(cond, msg):
    if not cond:
        errs.append(msg)
def get(path, tok=None):
    h = {"Authorization": "Bearer " + tok} if tok else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(base + path, headers=h), timeout=30) as r:
            return r.status, r.headers.get("Content-Type"), r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type"), e.read()
NS = "{http://www.w3.org/2000/svg}"
def check_svg(data, where, series=None):
    root = ET.fromstring(data)
    want(root.tag == NS + "svg", "%s: root is %s" % (where, root.tag))
    cls = [e.get("class") for e in root.iter()]
    want(cls.count("band") >= 1, "%s: no band polygon" % where)
    want(cls.count("value") >= 1, "%s: no value line" % where)
    want(cls.count("expected") >= 1, "%s: no expected line" % where)
    marks = [e for e in root.iter(NS + "circle") if e.get("class") == "anomaly"]
    want(len(marks) >= 1 and all(m.get("fill") == "#d62728" for m in marks), "%s: no red anomaly mark" % where)
    text = " ".join(t.text or "" for t in root.iter(NS + "text"))
    want("(UTC)" in text, "%s: no UTC time axis" % where)
    if series:
        want(series in text, "%s: title lacks %s" % (where, series))
    for e in root.iter():
        for k, v in e.attrib.items():
            want("nan" not in v and "inf" not in v, "%s: %s=%s" % (where, k, v))
def png_size(data, where):
    want(data[:8] == b"\x89PNG\r\n\x1a\n", "%s: not a PNG signature" % where)
    want(data[12:16] == b"IHDR", "%s: no IHDR first" % where)
    return struct.unpack(">II", data[16:24])

st, ct, body = get("/api/v1/alerts?owner=payments", pay)
want(st == 200, "alerts list: %d" % st)
open_alerts = json.loads(body)
lat = [a for a in open_alerts if a["series"] == "api.latency_ms{app=checkout,region=eu}"]
want(len(lat) == 1, "want the latency episode open: %s" % open_alerts)
ep = lat[0]["episode"] if lat else "0" * 16
series = "api.latency_ms{app=checkout,region=eu}"

st, ct, body = get("/api/v1/alerts/" + ep, pay)
want(st == 200, "one alert: %d %s" % (st, body[:200]))
chart = json.loads(body).get("chart", {}) if st == 200 else {}
want(chart.get("svg") == "/api/v1/alerts/%s/chart.svg" % ep, "chart.svg URL: %s" % chart)
want(chart.get("png") == "/api/v1/alerts/%s/chart.png" % ep, "chart.png URL: %s" % chart)
want(chart.get("points") == 120, "window points: %s" % chart)

st, ct, svg = get("/api/v1/alerts/%s/chart.svg" % ep, pay)
want(st == 200 and ct == "image/svg+xml", "chart.svg: %d %s" % (st, ct))
if st == 200:
    check_svg(svg, "chart.svg", series)
    st2, _, svg2 = get("/api/v1/alerts/%s/chart.svg" % ep, pay)
    want(svg2 == svg, "chart.svg is not deterministic")
st, ct, png = get("/api/v1/alerts/%s/chart.png" % ep, pay)
want(st == 200 and ct == "image/png", "chart.png: %d %s" % (st, ct))
if st == 200:
    want(png_size(png, "chart.png") == (800, 320), "chart.png size %s" % (png_size(png, "chart.png"),))
    open(os.path.join(tmp, "chart.png"), "wb").write(png)

for kind in ("svg", "png"):
    path = "/api/v1/alerts/%s/chart.%s" % (ep, kind)
    st, _, b = get(path, search)
    want(st == 403, "%s with search's token: %d, want 403" % (kind, st))
    st, _, b = get(path)
    want(st == 401, "%s without a token: %d, want 401" % (kind, st))
    st, _, b = get("/api/v1/alerts/0123456789abcdef/chart." + kind, pay)
    want(st == 404, "%s of an unknown episode: %d, want 404" % (kind, st))

# --svg DIR: one SVG per episode
files = sorted(os.listdir(os.path.join(tmp, "svg")))
want(len(files) == fired, "--svg wrote %d files for %d episodes: %s" % (len(files), fired, files))
for f in files:
    check_svg(open(os.path.join(tmp, "svg", f), "rb").read(), "svg/" + f)
want(ep + ".svg" in files, "no %s.svg" % ep)
# resolved episodes' charts stay readable (the gateway keeps the last 256),
# with the same authorisation: payments' own 200, storage's 403
pay_eps = {json.loads(l)["episode"] for l in open(os.path.join(tmp, "payments.jsonl"))}
for f in files:
    e = f[:-4]
    st, ct, b = get("/api/v1/alerts/%s/chart.svg" % e, pay)
    want(st == (200 if e in pay_eps else 403), "chart of episode %s (%s): %d" %
         (e, "payments" if e in pay_eps else "another owner", st))
    if st == 200:
        check_svg(b, "chart of " + e)

# the email of the latency firing: inline PNG by cid
found = None
for _ in range(100):
    for key, msg in mailbox.Maildir(os.path.join(tmp, "maildir"), factory=None).items():
        m = email.message_from_bytes(msg.as_bytes(), policy=email.policy.default)
        if m["Subject"] and m["Subject"].startswith("[FIRING] checkout-latency"):
            found = m
    if found:
        break
    time.sleep(0.2)
want(found is not None, "no [FIRING] checkout-latency email")
if found:
    want(found.get_content_type() == "multipart/related", "email is %s" % found.get_content_type())
    html = [p for p in found.walk() if p.get_content_type() == "text/html"]
    imgs = [p for p in found.walk() if p.get_content_type() == "image/png"]
    want(len(html) == 1 and len(imgs) == 1, "email parts: %d html, %d png" % (len(html), len(imgs)))
    if html and imgs:
        cid = imgs[0]["Content-ID"].strip("<>")
        want(("cid:" + cid) in html[0].get_content(), "the HTML does not show cid:%s" % cid)
        want(cid == "chart-%s@vigil" % ep, "Content-ID %s" % cid)
        data = imgs[0].get_content()
        want(png_size(data, "email png") == (800, 320), "email PNG size")
        want(imgs[0].get_content_disposition() == "inline", "image part not inline")

# Slack and PagerDuty link the public chart URL
url = "https://vigil.example.com/api/v1/alerts/%s/chart.png" % ep
slack = pd = None
for _ in range(100):
    for l in open(os.path.join(tmp, "hooks.jsonl")):
        r = json.loads(l)
        b = json.loads(r["body"])
        if r["path"] == "/slack" and url in r["body"]:
            slack = b
        if r["path"] == "/pd" and b.get("event_action") == "trigger" and url in r["body"]:
            pd = b
    if slack and pd:
        break
    time.sleep(0.2)
# the links are signed (http.url_key): exp and sig open this one chart
# without a token, which is how Slack and PagerDuty fetch it
signed = re.compile(re.escape(url) + r"\?exp=(\d+)&sig=([0-9a-f]{32})$")
imgs = [x.get("image_url", "") for x in (slack or {}).get("blocks", []) if x.get("type") == "image"]
want(slack is not None and any(signed.match(i) for i in imgs), "no signed Slack image block for %s: %s" % (url, imgs))
src = (pd or {}).get("images", [{}])[0].get("src", "")
want(pd is not None and signed.match(src), "no signed PagerDuty image for %s: %s" % (url, src))
m = signed.match(src)
if m:
    want(int(m.group(1)) > time.time() + 29 * 86400, "the link expires too soon: %s" % m.group(1))
    path = src[len("https://vigil.example.com"):]
    st, ct, png = get(path, None)
    want(st == 200 and ct == "image/png", "signed link without a token: %d %s" % (st, ct))
    bad = path[:-1] + ("0" if path[-1] != "0" else "1")
    st, ct, _ = get(bad, None)
    want(st == 403, "a tampered signature: %d" % st)
    other = path.replace(ep, "0" * 16)
    st, ct, _ = get(other, None)
    want(st == 403, "the signature of another episode: %d" % st)
    st, ct, _ = get(path.split("?")[0] + "?exp=1&sig=" + m.group(2), None)
    want(st == 403, "an expired link: %d" % st)

for e in errs:
    print("FAIL " + e)
print("chart checks: %d failed" % len(errs))
sys.exit(1 if errs else 0)
PY

echo "== restart on the same --state: the chart is served from the restored alert"
ep=$(curl -s -H "Authorization: Bearer $VIGIL_TEST_TOK_PAY" "$base/api/v1/alerts?owner=payments" |
	python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["episode"])')
kill "$vpid"
wait "$vpid" 2>/dev/null
: >"$tmp/empty.log"
rm -f "$tmp/port"
"$VIGIL" replay -c "$tmp/cfg.yaml" --state "$tmp/state" --serve 127.0.0.1:0 --port-file "$tmp/port" \
	"$tmp/empty.log" >"$tmp/out2.log" 2>"$tmp/err2.log" &
RT_PIDS+=($!)
wait_for 30 test -s "$tmp/port" || { fail "no port file after the restart"; cat "$tmp/err2.log"; }
base=http://127.0.0.1:$(cat "$tmp/port")
wait_for 60 ready || fail "not ready after the restart"
got=$(curl -s -o "$tmp/restored.png" -w '%{http_code} %{content_type}' \
	-H "Authorization: Bearer $VIGIL_TEST_TOK_PAY" "$base/api/v1/alerts/$ep/chart.png")
[ "$got" = "200 image/png" ] || fail "restored chart.png of $ep: $got"
pts=$(curl -s -H "Authorization: Bearer $VIGIL_TEST_TOK_PAY" "$base/api/v1/alerts/$ep" |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["chart"]["points"])')
[ "$pts" = 120 ] || fail "restored alert's window: '$pts' points, want 120"

if grep -q "$VIGIL_TEST_TOK_PAY\|$VIGIL_TEST_PD_KEY" "$tmp/err.log" "$tmp/out.log"; then
	fail "a secret in the log"
fi
[ "$fails" -eq 0 ] && echo "PASS e2e_chart" || echo "e2e_chart: $fails failed"
[ "$fails" -eq 0 ]
