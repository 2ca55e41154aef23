#!/usr/bin/env bash
# make console: replay the bundled demo up to 2026-03-04 03:30 UTC, in the
# middle of two incidents (payments' checkout traffic, storage's replication
# lag), and keep the gateway, its API and the web console running on
# CONSOLE_ADDR (default 127.0.0.1:8080) until Ctrl-C. No tokens are
# configured, so vigil serves read-only and refuses any address that is not
# loopback. CONSOLE_UNTIL (epoch seconds) moves the cut; CONSOLE_UNTIL=all
# replays the whole file (every incident has resolved by its end).
set -euo pipefail
cd "$(dirname "$0")/../.."
vigil=${VIGIL:-bin/vigil}
addr=${CONSOLE_ADDR:-127.0.0.1:8080}
until=${CONSOLE_UNTIL:-1772595000}
out=data/demo/out
rm -rf "$out"
mkdir -p "$out"
input=data/demo/metrics.log
if [ "$until" != all ]; then
	# the file is in time order: keep the lines before the first of that minute
	n=$(grep -n -m1 -E "(^|[^0-9])${until}([0-9]{9})?([^0-9]|\$)" "$input" | cut -d: -f1 || true)
	if [ -z "$n" ]; then
		echo "make console: no line of $input has time $until (CONSOLE_UNTIL)" >&2
		exit 1
	fi
	head -n $((n - 1)) "$input" >"$out/metrics-until.log"
	input=$out/metrics-until.log
	echo "replaying the demo up to $(date -u -d "@$until" '+%Y-%m-%d %H:%M UTC') ($((n - 1)) lines)"
fi
echo "web console: http://$addr/  (read-only: no tokens configured, loopback only; Ctrl-C stops it)"
echo "\$ vigil replay --rules data/demo/rules --owners data/demo/owners.yaml --serve $addr $input"
exec "$vigil" replay --rules data/demo/rules --owners data/demo/owners.yaml --serve "$addr" "$input"
