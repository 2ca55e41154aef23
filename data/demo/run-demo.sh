#!/usr/bin/env bash
# make demo: replay the bundled demo data (four days of one-minute metrics for
# three teams, four injected incidents, three bad lines) through the whole
# pipeline and print the notifications each team received.
set -euo pipefail
cd "$(dirname "$0")/../.."
vigil=${VIGIL:-bin/vigil}
out=data/demo/out
rm -rf "$out"
mkdir -p "$out"
echo "\$ vigil replay --rules data/demo/rules --owners data/demo/owners.yaml data/demo/metrics.log"
"$vigil" replay --rules data/demo/rules --owners data/demo/owners.yaml data/demo/metrics.log
echo
python3 data/demo/pages.py "$out"/*.jsonl
