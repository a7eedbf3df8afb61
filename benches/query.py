#!/usr/bin/env python3
"""Issue 5's query benchmark, every engine side by side in one run, results checked equal.

1. group-by over generated gauge readings (per station, per month) — allmende vs DuckDB;
2. bbox filter returning ~1 % of 1 M generated points — allmende vs DuckDB;
3. point-in-polygon join, the points × the 400 BKG districts (VG2500 Kreise), count per
   district — allmende vs SedonaDB vs GeoPandas `sjoin`;
4. `/api/sql` round trip of a small query at 50 concurrent clients (wrk, loopback) — p50/p99.

The data is generated here (never committed) and published with `allmende ingest`; DuckDB,
SedonaDB and GeoPandas read the very Parquet files allmende serves. allmende is timed as a
client sees it: an HTTP request to `allmende serve` on loopback, the whole result as CSV.
Each timing is the median of RUNS runs after one warm-up run.

Usage: benches/query.py [--readings N] [--points N] [--bin target/release/allmende]
Needs: a release build; pip duckdb sedonadb geoarrow-pyarrow geopandas pyarrow; wrk (apt).
"""
import argparse
import csv
import io
import json
import math
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared" / "datasets"
RUNS = 5
GERMANY = (5.9, 47.3, 15.0, 55.1)
# ~1 % of the points' area: 0.91° × 0.78°.
BOX = (10.5, 50.5, 11.41, 51.28)


# wrk script: the small query with a distinct `AND <n> > 0` per request, so none is cached.
WRK_DISTINCT = """
local threads = 0
function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end
local n = 0
function request()
  n = n + 1
  local q = 'QUERY AND ' .. (n * 16 + tid) .. ' > 0'
  q = q:gsub("([^%w])", function(c) return string.format("%%%02X", string.byte(c)) end)
  return wrk.format("GET", "/api/sql?format=json&q=" .. q)
end
"""


def median_time(fn, runs=RUNS):
    fn()  # warm-up (page cache, metadata caches)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def generate(work: Path, readings: int, points: int) -> Path:
    """Dataset folders under work/in; returns that folder."""
    src = work / "in"
    # Readings: 500 stations, every 15 minutes from 2020 on, as the LANUV export has them.
    d = src / "messwerte"
    d.mkdir(parents=True)
    (d / "dataset.toml").write_text('title = "Messwerte"\npublisher = "Bench"\n')
    rng = random.Random(7)
    stations = [f"{2_000_000 + i * 37}" for i in range(500)]
    with open(d / "messwerte.csv", "w", newline="") as f:
        f.write("station;zeit;wasserstand_cm\n")
        steps = math.ceil(readings / len(stations))
        base = 1_577_836_800  # 2020-01-01T00:00:00Z
        for step in range(steps):
            t = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(base + step * 900))
            f.write("".join(f"{s};{t};{rng.randint(20, 900)}\n" for s in stations))
    # Points: uniform over Germany's extent.
    d = src / "punkte"
    d.mkdir()
    (d / "dataset.toml").write_text(
        'title = "Punkte"\npublisher = "Bench"\n\n[geometry]\nx = "lon"\ny = "lat"\n'
    )
    rng = random.Random(11)
    with open(d / "punkte.csv", "w") as f:
        f.write("id,lon,lat\n")
        for i in range(points):
            f.write(
                f"{i},{rng.uniform(GERMANY[0], GERMANY[2]):.6f},"
                f"{rng.uniform(GERMANY[1], GERMANY[3]):.6f}\n"
            )
    # Districts: the BKG VG2500 Kreise Shapefile (UTM 32N; ingest reprojects to WGS 84).
    d = src / "kreise"
    d.mkdir()
    (d / "dataset.toml").write_text('title = "Kreise"\npublisher = "BKG"\n')
    for f in (SHARED / "maps" / "bkg_vg2500_utm32_shp").glob("VG2500_KRS.*"):
        shutil.copy(f, d / f.name)
    return src


class Server:
    def __init__(self, binary: str, data: Path):
        self.proc = subprocess.Popen(
            [binary, "serve", "--data", str(data), "--listen", "127.0.0.1:0",
             "--stop-on-stdin-eof", "--sql-timeout", "120"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            env={**os.environ, "ALLMENDE_LOG": "warn"},
        )
        for line in self.proc.stdout:
            if "http://" in line:
                self.base = line[line.index("http://"):].strip().rstrip("/")
                break
        else:
            sys.exit("allmende serve exited before it served")
        # Keep draining stdout so the server never blocks on a full pipe.
        threading.Thread(target=lambda: [None for _ in self.proc.stdout], daemon=True).start()

    def sql_url(self, query: str, fmt: str = "csv") -> str:
        return f"{self.base}/api/sql?" + urllib.parse.urlencode({"q": query, "format": fmt})

    def csv(self, query: str):
        with urllib.request.urlopen(self.sql_url(query), timeout=300) as r:
            return list(csv.reader(io.StringIO(r.read().decode())))[1:]

    def stop(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def same(name, a, b, key=lambda r: r):
    """Asserts two row lists are equal after normalising each row with key."""
    a, b = sorted(map(key, a)), sorted(map(key, b))
    if a != b:
        diff = [(x, y) for x, y in zip(a, b) if x != y][:5]
        sys.exit(f"{name}: results differ ({len(a)} vs {len(b)} rows), e.g. {diff}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--readings", type=int, default=10_000_000)
    ap.add_argument("--points", type=int, default=1_000_000)
    ap.add_argument("--bin", default=str(REPO / "target/release/allmende"))
    ap.add_argument("--wrk-seconds", type=int, default=10)
    args = ap.parse_args()

    import duckdb
    import geopandas
    import sedonadb

    work = Path(tempfile.mkdtemp(prefix="allmende-bench-"))
    try:
        src = generate(work, args.readings, args.points)
        data = work / "data"
        for name in ("messwerte", "punkte", "kreise"):
            subprocess.run([args.bin, "ingest", str(src / name), "--data", str(data)],
                           check=True, stdout=subprocess.DEVNULL,
                           env={**os.environ, "ALLMENDE_LOG": "warn"})
        parquet = {n: str(data / "datasets" / n / "v1" / "data.parquet")
                   for n in ("messwerte", "punkte", "kreise")}
        server = Server(args.bin, data)
        duck = duckdb.connect()
        duck.execute("SET TimeZone = 'UTC'")
        rows = []

        # 1. Group-by per station and month.
        ours_q = ("SELECT station, date_trunc('month', zeit) AS monat, count(*) AS n, "
                  "sum(wasserstand_cm) AS summe FROM messwerte GROUP BY 1, 2")
        duck_q = ("SELECT station, date_trunc('month', zeit) AS monat, count(*) AS n, "
                  f"sum(wasserstand_cm) AS summe FROM '{parquet['messwerte']}' GROUP BY 1, 2")
        ours = server.csv(ours_q)
        theirs = duck.execute(duck_q).fetchall()
        same("group-by", ours, theirs,
             key=lambda r: (str(r[0]), str(r[1])[:7], int(r[2]), int(r[3])))
        n_readings = duck.execute(f"SELECT count(*) FROM '{parquet['messwerte']}'").fetchone()[0]
        t_ours = median_time(lambda: server.csv(ours_q))
        t_duck = median_time(lambda: duck.execute(duck_q).fetchall())
        rows.append((f"1. group-by, {n_readings:,} readings → {len(ours)} groups",
                     t_ours, {"DuckDB": t_duck}))

        # 2. Bbox filter on the covering column (both read the same bbox struct).
        bounds = ((">=", "xmin", BOX[0]), ("<=", "xmax", BOX[2]),
                  (">=", "ymin", BOX[1]), ("<=", "ymax", BOX[3]))
        ours_q = "SELECT id, lon, lat FROM punkte WHERE " + " AND ".join(
            f"bbox['{f}'] {op} {v}" for op, f, v in bounds)
        duck_q = f"SELECT id, lon, lat FROM '{parquet['punkte']}' WHERE " + " AND ".join(
            f"bbox.{f} {op} {v}" for op, f, v in bounds)
        ours = server.csv(ours_q)
        theirs = duck.execute(duck_q).fetchall()
        same("bbox", ours, theirs, key=lambda r: (int(r[0]), float(r[1]), float(r[2])))
        t_ours = median_time(lambda: server.csv(ours_q))
        t_duck = median_time(lambda: duck.execute(duck_q).fetchall())
        rows.append((f"2. bbox filter, {args.points:,} points → {len(ours):,} rows",
                     t_ours, {"DuckDB": t_duck}))

        # 3. Point in polygon, count per district.
        ours_q = ('SELECT k."AGS", count(*) FROM kreise k JOIN punkte p '
                  "ON ST_Contains(k.geometry, p.geometry) GROUP BY 1")
        ours = server.csv(ours_q)
        sd = sedonadb.connect()
        sd.read_parquet(parquet["kreise"]).to_view("kreise")
        sd.read_parquet(parquet["punkte"]).to_view("punkte")
        sedona_q = ('SELECT k."AGS", count(*) AS n FROM kreise k JOIN punkte p '
                    "ON ST_Contains(k.geometry, p.geometry) GROUP BY 1")
        theirs = sd.sql(sedona_q).to_pandas().itertuples(index=False)
        same("pip vs SedonaDB", ours, list(theirs), key=lambda r: (str(r[0]), int(r[1])))

        def geopandas_pip():
            k = geopandas.read_parquet(parquet["kreise"], columns=["AGS", "geometry"])
            p = geopandas.read_parquet(parquet["punkte"], columns=["geometry"])
            j = geopandas.sjoin(p, k, predicate="within", how="inner")
            return j.groupby("AGS").size().reset_index().itertuples(index=False)

        same("pip vs GeoPandas", ours, list(geopandas_pip()), key=lambda r: (str(r[0]), int(r[1])))
        t_ours = median_time(lambda: server.csv(ours_q))
        t_sedona = median_time(lambda: sd.sql(sedona_q).to_pandas())
        t_gpd = median_time(geopandas_pip, runs=3)
        rows.append((f"3. point in polygon, {args.points:,} points × 400 districts",
                     t_ours, {"SedonaDB": t_sedona, "GeoPandas sjoin": t_gpd}))

        # 4. Small queries at 50 concurrent clients.
        # The same query every time (answered from the result cache after the first), and a
        # different one every time (`AND <n> > 0`, never cached: planned and run each time).
        small = 'SELECT "GEN", "AGS" FROM kreise WHERE "AGS" = \'05314\''
        lua = work / "distinct.lua"
        lua.write_text(WRK_DISTINCT.replace("QUERY", small.replace("'", "\\'")))
        wrk = ["wrk", "-t2", "-c50", f"-d{args.wrk_seconds}s", "--latency"]
        same_out = subprocess.run(wrk + [server.sql_url(small, fmt="json")],
                                  check=True, capture_output=True, text=True).stdout
        distinct_out = subprocess.run(wrk + ["-s", str(lua), server.base + "/"],
                                      check=True, capture_output=True, text=True).stdout
        server.stop()

        print(f"\nmachine: {os.cpu_count()} cores; median of {RUNS} runs after a warm-up\n")
        print("| benchmark | allmende | other | ratio (other / allmende) |")
        print("| --- | ---: | ---: | ---: |")
        for name, ours_t, others in rows:
            for other, t in others.items():
                print(f"| {name} | {ours_t * 1000:.0f} ms | {other} {t * 1000:.0f} ms "
                      f"| {t / ours_t:.2f}× |")
        print(f"\n4. /api/sql `{small}`, wrk -t2 -c50 --latency, the same query:\n")
        print("```\n" + same_out.strip() + "\n```")
        print("\n   … and a different query each time (`AND <n> > 0`, no cache):\n")
        print("```\n" + distinct_out.strip() + "\n```")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
