#!/usr/bin/env bash
# End to end: run the bundled demo (data/demo) through the whole pipeline,
# twice — `vigil replay` on the file, and the Kafka deployment (embedded
# broker, two members in one group, the central gateway) — and assert that exactly the expected alerts reach exactly the expected
# owners: one firing + one resolved notification per injected incident, each
# in its owner's file, firing inside the incident window, carrying the why.
set -euo pipefail
cd "$(dirname "$0")/.."
export VIGIL=${VIGIL:-bin/vigil}
out=$(bash data/demo/run-demo.sh 2>&1)
grep -q 'rejected=3 ' <<<"$out" || { echo "FAIL: expected 3 rejected demo lines"; echo "$out"; exit 1; }
grep -q 'points=40320 ' <<<"$out" || { echo "FAIL: expected 40320 points"; exit 1; }
kout=$(bash data/demo/run-kafka-demo.sh 2>&1) || { echo "FAIL: kafka demo"; echo "$kout"; exit 1; }
grep -q 'members: 40323 records, 3 poison' <<<"$kout" || { echo "FAIL: kafka demo counts"; echo "$kout"; exit 1; }
python3 - <<'PY'
import json, sys
from datetime import datetime, timezone

def t(s):
    return datetime.strptime(s, "%Y-%m-%d %H:%M").replace(tzinfo=timezone.utc).timestamp()

# owner -> [(rule, series, earliest firing, latest firing)]; each must fire
# once and resolve once, and nothing else may arrive.
expected = {
    "payments": [
        ("checkout-traffic", "api.requests{app=checkout,region=eu}", t("2026-03-04 03:00"), t("2026-03-04 04:00")),
        ("checkout-latency", "api.latency_ms{app=checkout,region=eu}", t("2026-03-04 09:00"), t("2026-03-04 09:06")),
    ],
    "search": [
        ("search-errors", "api.errors{app=search,region=eu}", t("2026-03-04 13:00"), t("2026-03-04 13:10")),
    ],
    "storage": [
        ("replication-lag", "db.replication_lag_s{cluster=main,host=db2}", t("2026-03-04 02:00"), t("2026-03-04 06:00")),
    ],
}
fails = 0
def fail(msg):
    global fails
    fails += 1
    print("FAIL: " + msg)

for outdir, owner, incidents in [(d, o, i) for d in ("data/demo/out", "data/demo/out-kafka")
                                 for o, i in expected.items()]:
    alerts = [json.loads(l) for l in open("%s/%s.jsonl" % (outdir, owner)) if l.strip()]
    seen = {}
    for a in alerts:
        if a["owner"] != owner:
            fail("%s received an alert for owner %s" % (owner, a["owner"]))
        seen.setdefault((a["rule"], a["series"]), []).append(a)
    keys = {(r, s) for r, s, _, _ in incidents}
    for k in seen:
        if k not in keys:
            fail("%s: unexpected alert %s on %s: %s" % (owner, k[0], k[1], [x["status"] + "@" + x["ts"] for x in seen[k]]))
    for rule, series, lo, hi in incidents:
        got = seen.get((rule, series), [])
        st = [a["status"] for a in got]
        if st != ["firing", "resolved"]:
            fail("%s/%s: want firing then resolved, got %s" % (owner, rule, st))
            continue
        f, r = got
        ts = f["why"] and datetime.strptime(f["ts"][:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc).timestamp()
        if not (lo <= ts <= hi):
            fail("%s/%s fired at %s, outside the incident window" % (owner, rule, f["ts"]))
        if f["episode"] != r["episode"] or f["fingerprint"] != r["fingerprint"]:
            fail("%s/%s: resolve does not carry the firing episode" % (owner, rule))
        w = f["why"]
        for key in ("observed", "expected", "lower", "upper", "score", "detector"):
            if w.get(key) is None:
                fail("%s/%s: why.%s missing" % (owner, rule, key))
        if not (w["observed"] > w["upper"] or w["observed"] < w["lower"]):
            fail("%s/%s: observed %s inside its band [%s, %s]" % (owner, rule, w["observed"], w["lower"], w["upper"]))
        if f["action"] not in ("page", "notify") or f["severity"] != f["action"]:
            fail("%s/%s: bad action/severity" % (owner, rule))
        # the series window for the chart, through either path (Kafka: the alerts topic)
        for x in (f, r):
            win = x.get("window") or {}
            if len(win.get("ts_ms", [])) != 120 or not win.get("anomalies"):
                fail("%s/%s %s: want a 120-point window with anomalies, got %s points" %
                     (owner, rule, x["status"], len(win.get("ts_ms", []))))
        if f.get("window") and f["window"]["anomalies"][-1] != 119:
            fail("%s/%s: the firing point is not the newest anomaly of its window" % (owner, rule))
print("e2e_demo: %d failed" % fails)
sys.exit(1 if fails else 0)
PY
