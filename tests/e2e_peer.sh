#!/usr/bin/env bash
# End to end: a peer group through `vigil replay`. Eight hosts of one app
# follow a shared pattern at very different magnitudes; h5 stops reporting
# at tick 400 (its group's ticks then close by the deadline); h3 triples from
# tick 600. Exactly one notification must arrive: firing, for h3, at/after
# tick 600, to the rule's owner (fleet), and nothing to the other owner.
# $VIGIL is the binary under test.
set -uo pipefail
VIGIL=${VIGIL:-bin/vigil}
cd "$(dirname "$0")/.." || exit 1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 - "$tmp/data.lp" <<'PY'
import math, random, sys
random.seed(7)
T0, N, P, T_ROGUE = 1767225600, 900, 240, 600
with open(sys.argv[1], "w") as f:
    for t in range(N):
        for k in range(8):
            i = (k + t) % 8
            if i == 5 and t >= 400:
                continue
            b = 1.0 + 7.0 * i
            v = b * (10 + 4 * math.sin(2 * math.pi * t / P) + 1.5 * math.sin(2 * math.pi * t / 37.0))
            v += 0.02 * b * 10 * random.gauss(0, 1)
            if i == 3 and t >= T_ROGUE:
                v *= 3
            f.write("cpu,app=web,host=h%d value=%.6f %d\n" % (i, v, (T0 + t * 60 + 1 + 5 * i) * 10**9))
PY
cat >"$tmp/rules.yaml" <<EOF
owners:
  - name: fleet
    destinations: [{type: file, path: $tmp/fleet.jsonl}]
  - name: other
    destinations: [{type: file, path: $tmp/other.jsonl}]
rules:
  - name: cpu-peers
    series: cpu
    detector: peerpca
    peer_group:
      by: [app]
      step: 1m
      deadline: 2m
      min_members: 3
    keep_firing_for: 6h
    owner: fleet
  - name: cpu-other
    series: disk
    owner: other
EOF
"$VIGIL" replay --rules "$tmp/rules.yaml" "$tmp/data.lp" >"$tmp/stdout" 2>"$tmp/stderr"
rc=$?
[ $rc -eq 0 ] || { echo "FAIL: replay exit $rc"; cat "$tmp/stderr"; exit 1; }
python3 - "$tmp" <<'PY'
import json, os, sys
d = sys.argv[1]
fails = 0
def check(name, cond):
    global fails
    print(("ok   " if cond else "FAIL ") + name)
    fails += 0 if cond else 1
path = os.path.join(d, "fleet.jsonl")
lines = open(path).read().splitlines() if os.path.exists(path) else []
other = os.path.join(d, "other.jsonl")
check("exactly one notification to the owner", len(lines) == 1)
check("nothing to the other owner", not os.path.exists(other) or os.path.getsize(other) == 0)
if lines:
    ev = json.loads(lines[0])
    check("firing", ev["status"] == "firing")
    check("the rogue member", ev["series"] == "cpu{app=web,host=h3}")
    check("rule and owner", ev["rule"] == "cpu-peers" and ev["owner"] == "fleet")
    check("at/after the drift", 1767225600 + 600 * 60 <= ev["ts_epoch"] < 1767225600 + 610 * 60)
    check("why: peerpca, score >= threshold", ev["why"]["detector"] == "peerpca" and ev["why"]["score"] >= 0.5)
    check("observed above the band", ev["why"]["observed"] > ev["why"]["upper"])
sys.exit(1 if fails else 0)
PY
ok=$?
grep -q 'points=6700 ' "$tmp/stderr" || { echo "FAIL: expected 6700 points"; cat "$tmp/stderr"; ok=1; }
echo "e2e_peer: $([ $ok -eq 0 ] && echo passed || echo failed)"
exit $ok
