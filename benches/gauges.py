#!/usr/bin/env python3
"""Live gauges at the scale of issue 9: one year of 15-minute readings for 500 stations
(17.52 M rows) stored, then

  1. a 500-reading push: commit latency (p50, p90, p99 over PUSHES pushes, one at a time),
  2. the time until a push is visible in SQL,
  3. GET /latest at 50 concurrent clients over loopback (wrk),
  4. a 31-day chart query for one station: SQL over <table>__observations, and the
     PEGELONLINE measurements.json the station page reads,
  5. the same append with the storage not chosen: Delta Lake (the `deltalake` package, the
     delta-rs engine that the Rust `deltalake` crate is), as a plain append and as the MERGE
     on (station, time) that our duplicate and correction semantics need,

plus the history import, the series' first open, compaction, and the server's memory (RSS).

Usage: benches/gauges.py [--stations 500] [--days 365] [--pushes 200] [--work DIR]
Needs target/release/allmende (cargo build --release) and wrk; pyarrow and deltalake for
step 5 (pip install pyarrow deltalake; skipped with a message when missing). Run it on a quiet
machine: every figure is wall-clock time."""
import argparse
import json
import math
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BINARY = Path(os.environ.get("ALLMENDE_BIN", REPO / "target" / "release" / "allmende"))
TOKEN = "bench-gauges-token-0123456789"
ID = "bench-pegel"
TABLE = ID.replace("-", "_")
START = datetime(2025, 1, 1, tzinfo=timezone.utc)
STEP = timedelta(minutes=15)


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def summary(values):
    return (
        f"p50 {percentile(values, 50):.2f} ms, p90 {percentile(values, 90):.2f} ms, "
        f"p99 {percentile(values, 99):.2f} ms (n={len(values)})"
    )


def stamp(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def write_stations(folder, n):
    """n stations on a grid over North Rhine-Westphalia, warning levels 300/400/500 cm."""
    features = []
    for i in range(n):
        lon = 6.0 + (i % 25) * 0.12
        lat = 50.4 + (i // 25) * 0.08
        features.append({
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [round(lon, 5), round(lat, 5)]},
            "properties": {"id": f"S{i:03d}", "name": f"Pegel {i:03d}", "water": f"Fluss {i % 40}",
                           "stufe1": 300.0, "stufe2": 400.0, "stufe3": 500.0},
        })
    (folder / "stations.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    (folder / "dataset.toml").write_text(
        f'id = "{ID}"\ntitle = "Benchmark gauges"\nlicence = "dl-by-de/2.0"\nkind = "timeseries"\n'
        '[source]\npath = "stations.geojson"\n'
        '[timeseries]\nstation = "id"\nname = "name"\nwater = "water"\nunit = "cm"\n'
        'levels = ["stufe1", "stufe2", "stufe3"]\nhysteresis = 5.0\n'
    )
    return [f["properties"]["id"] for f in features]


def value(i, k):
    """A smooth daily cycle per station, below every warning level."""
    return round(150 + 60 * math.sin((k / 96 + i / 50) * 2 * math.pi) + (i % 7), 1)


def write_history(path, stations, steps):
    with open(path, "w", encoding="utf-8") as f:
        f.write("station,time,value\n")
        for k in range(steps):
            t = stamp(START + k * STEP)
            f.write("".join(f"{s},{t},{value(i, k)}\n" for i, s in enumerate(stations)))


def run(args, **kw):
    began = time.perf_counter()
    out = subprocess.run(args, capture_output=True, text=True, **kw)
    if out.returncode != 0:
        sys.exit(f"{' '.join(map(str, args))} failed:\n{out.stdout}{out.stderr}")
    return time.perf_counter() - began, out.stdout


class Server:
    def __init__(self, data):
        env = dict(os.environ, ALLMENDE_ADMIN_TOKENS=TOKEN, ALLMENDE_LOG="warn")
        self.proc = subprocess.Popen(
            [BINARY, "serve", "--data", data, "--listen", "127.0.0.1:0", "--stop-on-stdin-eof"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
        line = self.proc.stdout.readline()
        self.base = re.search(r"http://[\d.:]+", line).group(0)

    def rss_mib(self):
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def peak_mib(self):
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def get(self, path):
        with urllib.request.urlopen(self.base + path, timeout=600) as r:
            return r.read()

    def sql(self, q):
        return json.loads(self.get("/api/sql?" + urllib.parse.urlencode({"q": q})))["rows"]

    def push(self, readings):
        request = urllib.request.Request(
            f"{self.base}/api/datasets/{ID}/observations", data=json.dumps(readings).encode(),
            headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=600) as r:
            return json.load(r)

    def stop(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=120)


def parts(data):
    manifest = Path(data) / "datasets" / ID / "observations" / "parts.json"
    return len(json.loads(manifest.read_text())["parts"])


def wrk_p50(url, clients):
    out = subprocess.run(["wrk", "-t2", f"-c{clients}", "-d10s", "--latency", url],
                         capture_output=True, text=True).stdout
    p50 = re.search(r"50%\s+([\d.]+)(us|ms|s)\b", out)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", out)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    return (float(p50.group(1)) * scale[p50.group(2)], float(p99.group(1)) * scale[p99.group(2)],
            float(rps.group(1)))


def delta_lake(history, stations, steps, pushes):
    try:
        import pyarrow as pa
        import pyarrow.csv as pacsv
        from deltalake import DeltaTable, write_deltalake
    except ImportError as e:
        print(f"Delta Lake: SKIPPED ({e}; pip install pyarrow deltalake)")
        return
    folder = Path(history).parent / "delta"
    shutil.rmtree(folder, ignore_errors=True)
    table = pacsv.read_csv(history, convert_options=pacsv.ConvertOptions(
        column_types={"station": pa.string(), "time": pa.timestamp("ms", tz="UTC"), "value": pa.float64()}))
    began = time.perf_counter()
    write_deltalake(folder, table)
    print(f"Delta Lake: wrote {table.num_rows} rows in {time.perf_counter() - began:.1f} s")
    appends, merges = [], []
    for b in range(pushes):
        t = START + (steps + 10_000 + b) * STEP
        batch = pa.table({"station": stations, "time": pa.array([t] * len(stations), pa.timestamp("ms", tz="UTC")),
                          "value": [float(100 + i % 50) for i in range(len(stations))]})
        began = time.perf_counter()
        write_deltalake(folder, batch, mode="append")
        appends.append((time.perf_counter() - began) * 1000)
    print(f"Delta Lake append of {len(stations)} rows (no duplicate check): {summary(appends)}")
    for b in range(min(pushes, 20)):
        t = START + (steps + 20_000 + b) * STEP
        batch = pa.table({"station": stations, "time": pa.array([t] * len(stations), pa.timestamp("ms", tz="UTC")),
                          "value": [float(100 + i % 50) for i in range(len(stations))]})
        began = time.perf_counter()
        (DeltaTable(folder).merge(batch, "t.station = s.station AND t.time = s.time", source_alias="s", target_alias="t")
         .when_matched_update_all().when_not_matched_insert_all().execute())
        merges.append((time.perf_counter() - began) * 1000)
    print(f"Delta Lake MERGE of {len(stations)} rows on (station, time) (duplicates and corrections as ours): {summary(merges)}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--stations", type=int, default=500)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--pushes", type=int, default=200)
    parser.add_argument("--work", default=str(REPO / "target" / "bench-gauges"))
    args = parser.parse_args()
    if not BINARY.exists():
        sys.exit("build first: cargo build --release")
    work = Path(args.work)
    shutil.rmtree(work, ignore_errors=True)
    (work / "source").mkdir(parents=True)
    data = str(work / "data")
    stations = write_stations(work / "source", args.stations)
    steps = args.days * 96
    history = work / "history.csv"
    began = time.perf_counter()
    write_history(history, stations, steps)
    print(f"generated {len(stations) * steps} readings ({history.stat().st_size / 1e6:.0f} MB CSV) "
          f"in {time.perf_counter() - began:.0f} s")
    run([BINARY, "ingest", work / "source", "--data", data])
    seconds, out = run([BINARY, "ingest", work / "source", "--append", "--source", history, "--data", data])
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"history import (then compacted under the 1 M-row budget): {seconds:.1f} s, "
          f"peak RSS {peak:.0f} MiB, {parts(data)} parts; {out.strip()}")

    server = Server(data)
    began = time.perf_counter()
    latest = json.loads(server.get(f"/api/datasets/{ID}/latest"))
    print(f"first /latest (opens the series: reads every stored reading): {time.perf_counter() - began:.1f} s, "
          f"{len(latest['stations'])} stations; server RSS {server.rss_mib():.0f} MiB")

    def batch(b):
        t = stamp(START + (steps + b) * STEP)
        return t, [{"station": s, "time": t, "value": value(i, steps + b)} for i, s in enumerate(stations)]

    _, readings = batch(0)
    server.push(readings)
    push_ms, visible_ms = [], []
    for b in range(1, args.pushes + 1):
        t, readings = batch(b)
        began = time.perf_counter()
        outcome = server.push(readings)
        push_ms.append((time.perf_counter() - began) * 1000)
        assert outcome["accepted"] == len(stations), outcome
        if b % 20 == 0:
            q = f"SELECT count(*) FROM {TABLE}__observations WHERE time = TIMESTAMP '{t}'"
            while server.sql(q)[0][0] != len(stations):
                pass
            visible_ms.append((time.perf_counter() - began) * 1000)
    print(f"push of {len(stations)} readings, answered after fsync: {summary(push_ms)}")
    print(f"push until visible in SQL (push + first SQL that sees it): {summary(visible_ms)}")
    print(f"{parts(data)} parts after the pushes; server RSS {server.rss_mib():.0f} MiB")

    p50, p99, rps = wrk_p50(f"{server.base}/api/datasets/{ID}/latest", 50)
    print(f"/latest at 50 clients (wrk -t2 -c50 -d10s): p50 {p50:.2f} ms, p99 {p99:.2f} ms, {rps:.0f} req/s")

    end = START + (steps - 1) * STEP
    begin = end - timedelta(days=31)
    sql_ms, pegel_ms = [], []
    for i, s in enumerate(stations[:50]):
        q = (f"SELECT time, value FROM {TABLE}__observations WHERE station = '{s}' "
             f"AND time > TIMESTAMP '{stamp(begin)}' AND time <= TIMESTAMP '{stamp(end)}' ORDER BY time")
        began = time.perf_counter()
        rows = server.sql(q)
        sql_ms.append((time.perf_counter() - began) * 1000)
        assert len(rows) == 31 * 96, (s, len(rows))
        url = (f"/pegelonline/rest-api/v2/stations/{s}/W/measurements.json?"
               + urllib.parse.urlencode({"start": stamp(begin + STEP), "end": stamp(end)}))
        began = time.perf_counter()
        measured = json.loads(server.get(url))
        pegel_ms.append((time.perf_counter() - began) * 1000)
        assert len(measured) == 31 * 96, (s, len(measured))
    print(f"31-day chart of one station, SQL (2976 rows, JSON): {summary(sql_ms)}")
    print(f"31-day chart of one station, PEGELONLINE measurements.json: {summary(pegel_ms)}")
    print(f"server RSS at the end {server.rss_mib():.0f} MiB, peak {server.peak_mib():.0f} MiB")
    server.stop()

    delta_lake(history, stations, steps, min(args.pushes, 50))


if __name__ == "__main__":
    main()
