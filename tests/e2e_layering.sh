#!/usr/bin/env bash
# The layout contract (README "Architecture"): a folder includes only from
# its own layer or the layers below it, sinks/ never includes engine/, and no
# source file outside tests/ is over 800 lines. Fails naming file:line.
set -u
cd "$(dirname "$0")/.."
declare -A layer=([core]=1 [detectors]=2 [rules]=3 [engine]=4 [sinks]=5 [consumers]=6 [cli]=7)
bad=0
for dir in "${!layer[@]}"; do
	for f in "$dir"/*.[ch]; do
		[ -e "$f" ] || continue
		while IFS=: read -r line inc; do
			to=${inc%%/*}
			[ -n "${layer[$to]:-}" ] || continue
			if [ "${layer[$to]}" -gt "${layer[$dir]}" ]; then
				echo "$f:$line: includes \"$inc\": $to/ is a layer above $dir/"
				bad=1
			elif [ "$dir" = sinks ] && [ "$to" = engine ]; then
				echo "$f:$line: includes \"$inc\": sinks/ never includes engine/"
				bad=1
			fi
		done < <(grep -n '^#include "' "$f" | sed 's/^\([0-9]*\):#include "\([^"]*\)".*/\1:\2/')
	done
done
# folders outside the layers must not hold sources
for f in *.c *.h; do
	[ -e "$f" ] && { echo "$f: source file outside the layer folders"; bad=1; }
done
while read -r n f; do
	[ "$f" = total ] && continue
	if [ "$n" -gt 800 ]; then
		echo "$f: $n lines (limit 800 outside tests/)"
		bad=1
	fi
done < <(wc -l core/*.[ch] detectors/*.[ch] rules/*.[ch] engine/*.[ch] sinks/*.[ch] consumers/*.[ch] cli/*.[ch])
if [ $bad -ne 0 ]; then
	echo "layering check: FAILED"
	exit 1
fi
echo "layering check: ok"
