#!/usr/bin/env python3
"""Generate vigil's demo data set: three days of one-minute metrics for a few
services owned by three teams, with four injected incidents and a few bad lines.

  python3 data/demo/gen.py > data/demo/metrics.log

Deterministic (fixed seed). Mixed formats on purpose (JSON lines, InfluxDB line
protocol, Graphite plaintext) to show per-line format detection. Incidents, in
data time (UTC, day 3 = 2026-03-04):
  1. spike        checkout  api.latency_ms{app=checkout,region=eu}   day 3 09:00-09:05 (x4)
  2. level shift  search    api.errors{app=search,region=eu}         day 3 13:00 onwards (+40/min)
  3. slow drift   storage   db.replication_lag_s{cluster=main,host=db2} day 3 02:00-06:00 (ramps 2 -> 120)
  4. seasonal break checkout api.requests{app=checkout,region=eu}   day 3 03:00-04:00 (night traffic at day level)
The other series have no incident and must not page anyone.
"""
import json
import math
import random
import sys

START = 1772323200              # 2026-03-01 00:00:00 UTC
STEP = 60
DAYS = 4
rng = random.Random(20260301)


def daily(t, lo, hi, peak_hour=14.0):
    """Smooth daily cycle between lo (night) and hi (peak_hour)."""
    h = (t % 86400) / 3600.0
    return lo + (hi - lo) * 0.5 * (1 + math.cos((h - peak_hour) / 24.0 * 2 * math.pi))


def day_of(t):
    return (t - START) // 86400


def at(t, day, hh, mm=0):
    return START + day * 86400 + hh * 3600 + mm * 60


out = []
for i in range(DAYS * 1440):
    t = START + i * STEP
    # 1. checkout latency (JSON), spike on day 3 09:00-09:05
    lat = daily(t, 80, 140) + rng.gauss(0, 4)
    if at(t, 3, 9) <= t < at(t, 3, 9, 6):
        lat *= 4.0
    out.append(json.dumps({"series": "api.latency_ms", "tags": {"app": "checkout", "region": "eu"},
                           "ts": t, "value": round(lat, 2)}))
    # quiet twin in another region: never pages
    lat_us = daily(t, 70, 120, peak_hour=20) + rng.gauss(0, 4)
    out.append(json.dumps({"series": "api.latency_ms", "tags": {"app": "checkout", "region": "us"},
                           "ts": t, "value": round(lat_us, 2)}))
    # 4. checkout requests (InfluxDB line protocol, ns), seasonal break day 3 03:00-04:00
    req = daily(t, 200, 2000) + rng.gauss(0, 25)
    if at(t, 3, 3) <= t < at(t, 3, 4):
        req = daily(at(t, 3, 14), 200, 2000) + rng.gauss(0, 25)
    out.append("api,app=checkout,region=eu requests=%.1f %d" % (req, t * 1000000000))
    # 2. search errors (JSON, ms timestamps), level shift day 3 13:00
    err = max(0.0, 5 + rng.gauss(0, 1.5))
    if t >= at(t, 3, 13):
        err += 40
    out.append(json.dumps({"series": "api.errors", "tags": {"app": "search", "region": "eu"},
                           "ts": t * 1000, "value": round(err, 2)}))
    # search latency: quiet
    slat = daily(t, 30, 45) + rng.gauss(0, 1.5)
    out.append(json.dumps({"series": "api.latency_ms", "tags": {"app": "search", "region": "eu"},
                           "ts": t, "value": round(slat, 2)}))
    # 3. storage replication lag (Graphite tagged), slow drift day 3 02:00-06:00
    lag = 2 + abs(rng.gauss(0, 0.3))
    if at(t, 3, 2) <= t < at(t, 3, 6):
        lag += (t - at(t, 3, 2)) / (4 * 3600.0) * 118
    out.append("db.replication_lag_s;cluster=main;host=db2 %.3f %d" % (lag, t))
    # storage disk busy: quiet, seasonal
    busy = daily(t, 20, 60, peak_hour=3) + rng.gauss(0, 2)
    out.append("db.disk_busy_pct;cluster=main;host=db1 %.2f %d" % (busy, t))
    if i == 1500:
        out.append('{"series": "api.latency_ms", "ts": 1772413200, "value": "fast"}')   # non-numeric
        out.append("db.replication_lag_s;cluster=main;host=db2 NaN %d" % t)               # non-finite
        out.append("this line is not a metric")                                          # malformed

sys.stdout.write("\n".join(out) + "\n")
