#!/usr/bin/env bash
# Kafka e2e: `vigil run` (single mode) reloads its rules when the rules file
# changes: each partition's engine moves to the new set at its next point,
# the unchanged rule keeps its models (a spike right after the reload
# fires, which needs 20 points of warm-up), the new rule is still warming up,
# the removed rule's open episode resolves with resolve_reason=rule_removed;
# an invalid change is logged with file:line:column, counted, and the running
# set stays; the member logs its rule-set version at start and in its stats.
source "$(dirname "$0")/fixtures/kafka/lib.sh"
kt_timeout 120
kt_broker 2
kt_config s1 "mode: single"
mkdir -p "$KT_DIR/rules"
mad() { # mad NAME Z [EXTRA]
	printf '  - name: %s\n    series: kt.load\n    detector: mad\n    params: {window: 20, min_points: 20, z_threshold: %s}\n    action: page\n    owner: kt-team\n%s' "$1" "$2" "${3:-}"
}
put_rules() { { echo "rules:"; cat; } >"$KT_DIR/next.yaml" && mv "$KT_DIR/next.yaml" "$KT_DIR/rules/r.yaml"; }
{ mad keep 6; mad gone 6 "    keep_firing_for: 1d
"; } | put_rules
sed -i "s|^rules: .*|rules: [$KT_DIR/rules]|" "$KT_DIR/s1.yaml"
kt_member s1
two() { [ "$(kt_nowned s1)" -eq 2 ]; }
kt_wait 30 "s1 owning both partitions" two
grep -qE 'event=rules_loaded version=[0-9a-f]{16} rules=2' "$KT_DIR/s1.log" || kt_fail "no rules_loaded line with the version"
v1=$(grep -oE 'event=rules_loaded version=[0-9a-f]{16}' "$KT_DIR/s1.log" | cut -d= -f3)

t0=1700000000
gen() { # gen FROM TO [SERIES VALUE]: points k in [FROM, TO) for h00 and h01; one override
	python3 - "$@" >"$KT_DIR/batch.txt" <<'PY'
import sys
a, b = int(sys.argv[1]), int(sys.argv[2])
ov = (sys.argv[3], sys.argv[4]) if len(sys.argv) > 4 else None
for k in range(a, b):
    for h in ("h00", "h01"):
        v = 100 + k % 3
        if ov and ov[0] == h and k == b - 1:
            v = float(ov[1])
        print("kt.load;host=%s %s %d" % (h, v, 1700000000 + 60 * k))
PY
}
notified() { # notified RULE SERIES STATUS [REASON]
	python3 - "$KT_DIR/alerts-s1.jsonl" "$@" <<'PY'
import sys, json
try:
    ev = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
except FileNotFoundError:
    sys.exit(1)
rule, series, status = sys.argv[2:5]
reason = sys.argv[5] if len(sys.argv) > 5 else None
sys.exit(0 if any(e["rule"] == rule and e["series"] == series and e["status"] == status and
                  (reason is None or e["labels"].get("resolve_reason") == reason) for e in ev) else 1)
PY
}
gen 0 31 h00 5000 # warm-up, then a spike on h00: keep and gone fire
kt_produce "$KT_DIR/batch.txt"
kt_wait 30 "gone firing on h00" notified gone "kt.load{host=h00}" firing

# a valid change: gone removed, fresh added, keep unchanged
{ mad keep 6; mad fresh 7; } | put_rules
kt_wait 10 "the reload validated" grep -qE "event=rules_reloaded version=[0-9a-f]{16} rules=2 reloads=1" "$KT_DIR/s1.log"
gen 31 32 h01 5000 # h00 normal (its engine moves and resolves gone), h01 spikes
kt_produce "$KT_DIR/batch.txt"
kt_wait 30 "keep firing on h01 right after the reload" notified keep "kt.load{host=h01}" firing
kt_wait 30 "gone resolved on h00 as rule_removed" notified gone "kt.load{host=h00}" resolved rule_removed
notified fresh "kt.load{host=h01}" firing && kt_fail "the new rule fired without its warm-up"
v2=$(grep -oE 'event=rules_reloaded version=[0-9a-f]{16}' "$KT_DIR/s1.log" | tail -1 | cut -d= -f3)
[ "$v1" != "$v2" ] || kt_fail "the version did not change"

# an invalid change: logged with its position, counted, the running set stays
{ mad keep 6; printf '  - name: broken\n    series: kt.load\n    treshold: 0.5\n    owner: kt-team\n'; } | put_rules
kt_wait 10 "the invalid set refused" grep -qE "event=rules_reload_failed version=$v2 reload_errors=1 error=\"$KT_DIR/rules/r.yaml:[0-9]+:[0-9]+: unknown key 'treshold'" "$KT_DIR/s1.log"
counted() { grep -E "event=stats_rules rules_version=$v2 rules_reloads=1 rules_reload_errors=1" "$KT_DIR/s1.log" >/dev/null; }
kt_wait 10 "the stats line with the running version and the counters" counted
kt_log "PASS: reload in a Kafka member: version $v1 -> $v2, models kept for the unchanged rule, rule_removed resolved, invalid set refused and counted"
