#!/usr/bin/env python3
"""Push latency of a live time series (issue 9): times POST /api/datasets/{id}/observations
with batches of readings against a running server, and how long until a batch is visible in
SQL. Standard library only.

Usage: push.py BASE_URL DATASET TOKEN [BATCHES] [BATCH_SIZE]

The dataset must be `kind = "timeseries"` over the LANUV stations with `station = "Name"` (see
README, "Live gauges"); the station ids are read from its SQL table. Each batch carries
BATCH_SIZE readings at a new 15-minute step, so every push stores new rows (none is a
duplicate). Run it against a release build (`cargo build --release`)."""
import json
import statistics
import sys
import time
import urllib.parse
import urllib.request
from datetime import datetime, timedelta, timezone

base, dataset, token = sys.argv[1].rstrip("/"), sys.argv[2], sys.argv[3]
batches = int(sys.argv[4]) if len(sys.argv) > 4 else 200
size = int(sys.argv[5]) if len(sys.argv) > 5 else 500
table = dataset.replace("-", "_")


def sql(q):
    url = f"{base}/api/sql?" + urllib.parse.urlencode({"q": q})
    with urllib.request.urlopen(url) as r:
        return json.load(r)["rows"]


stations = [row[0] for row in sql(f'SELECT "Name" FROM {table} ORDER BY "Name"')]
start = datetime(2030, 1, 1, tzinfo=timezone.utc) + timedelta(minutes=15 * int(time.time() % 100000))
push_ms, visible_ms = [], []
for b in range(batches):
    t = start + timedelta(minutes=15 * b)
    readings = [
        {
            "station": stations[i % len(stations)],
            "time": (t + timedelta(seconds=i // len(stations))).isoformat(),
            "value": 100.0 + (b * 7 + i) % 300,
        }
        for i in range(size)
    ]
    body = json.dumps(readings).encode()
    request = urllib.request.Request(
        f"{base}/api/datasets/{dataset}/observations",
        data=body,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    began = time.perf_counter()
    with urllib.request.urlopen(request) as r:
        outcome = json.load(r)
    pushed = time.perf_counter()
    assert outcome["accepted"] == size, outcome
    push_ms.append((pushed - began) * 1000)
    if b % 20 == 0:
        # Visible in SQL: the next query sees the batch's last reading.
        last = readings[-1]
        q = (
            f"SELECT count(*) FROM {table}__observations WHERE station = '{last['station']}' "
            f"AND time = TIMESTAMP '{last['time']}'"
        )
        while sql(q) != [[1]]:
            pass
        visible_ms.append((time.perf_counter() - pushed) * 1000)

q = statistics.quantiles(push_ms, n=100)
print(f"{batches} pushes of {size} readings: p50 {q[49]:.1f} ms, p95 {q[94]:.1f} ms, max {max(push_ms):.1f} ms")
print(f"visible in SQL after the answer: p50 {statistics.median(visible_ms):.1f} ms over {len(visible_ms)} samples")
