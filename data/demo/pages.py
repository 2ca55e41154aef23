#!/usr/bin/env python3
"""Print what each team received in the demo, as an on-call engineer reads it.

  python3 data/demo/pages.py data/demo/out/*.jsonl

Each argument is one team's JSON-lines destination file written by vigil's
`file` destination. Standard library only."""
import json
import os
import sys


def num(v):
    return "?" if v is None else ("%.4g" % v)


def main(paths):
    for path in paths:
        team = os.path.splitext(os.path.basename(path))[0]
        with open(path) as f:
            alerts = [json.loads(line) for line in f if line.strip()]
        print("== %s: %d notification%s" % (team, len(alerts), "" if len(alerts) == 1 else "s"))
        for a in alerts:
            why = a.get("why", {})
            when = a.get("ts", "")[:16].replace("T", " ")
            print("  %-6s %-8s %s  %s  %s" % (a.get("action", "").upper(), a.get("status", "").upper(),
                                            when, a.get("rule"), a.get("series")))
            if a.get("status") == "firing":
                print("         observed %s, expected %s (band %s..%s), score %s, detector %s" % (
                    num(why.get("observed")), num(why.get("expected")), num(why.get("lower")),
                    num(why.get("upper")), num(why.get("score")), why.get("detector")))
                if a.get("summary"):
                    print("         %s" % a["summary"])
                if a.get("runbook_url"):
                    print("         runbook: %s" % a["runbook_url"])
            else:
                print("         episode %s started %s" % (a.get("episode"),
                                                          a.get("startsAt", "")[:16].replace("T", " ")))
        print()


if __name__ == "__main__":
    main(sys.argv[1:])
