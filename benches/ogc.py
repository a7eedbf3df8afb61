#!/usr/bin/env python3
"""Issue 6's benchmark: OGC API – Features items and vector tiles, side by side in one run.

- items: `items?bbox=…&limit=1000` on 1 M generated points under 32 concurrent clients (wrk,
  loopback) against pygeoapi (PyPI) serving the very GeoParquet allmende publishes through its
  best-suited file provider, `Parquet` (pyarrow dataset scan with the bbox as a filter on the
  lon/lat columns), run by gunicorn with one worker per core. Both answers are compared first:
  the same numberMatched and the same feature ids on the page.
- tiles: p50 of a cold z12 tile (every tile requested once, in a fresh server) and of a hot one
  (wrk on one tile) for the points and the 400 BKG districts.

Usage: benches/ogc.py [--points N] [--bin target/release/allmende] [--wrk-seconds S]
Needs: a release build; pip pygeoapi gunicorn s3fs geopandas pyarrow; wrk (apt).
"""
import argparse
import importlib.util
import json
import math
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# About 1 % of Germany: ~10 000 of 1 M points, so a page of 1 000 is full.
BOX = (10.5, 50.5, 11.41, 51.28)


def load_query_bench():
    spec = importlib.util.spec_from_file_location("query_bench", REPO / "benches" / "query.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get_json(url: str):
    with urllib.request.urlopen(url, timeout=120) as r:
        return json.load(r)


def wait_for(url: str, seconds=60):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url, timeout=5).read()
            return
        except Exception:
            time.sleep(0.2)
    sys.exit(f"{url} did not come up")


def wrk(url: str, seconds: int, connections: int) -> dict:
    out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", url],
                         check=True, capture_output=True, text=True).stdout
    stats = {"raw": out.strip()}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] in ("50%", "99%"):
            stats[parts[0]] = parts[1]
        if line.startswith("Requests/sec:"):
            stats["rps"] = float(line.split()[1])
        if "Non-2xx" in line:
            stats["errors"] = line.strip()
    return stats


def tile_of(lon, lat, z):
    n = 2 ** z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def pygeoapi_config(work: Path, parquet: str, port: int) -> Path:
    config = f"""
server:
  bind: {{host: 127.0.0.1, port: {port}}}
  url: http://127.0.0.1:{port}
  mimetype: application/json; charset=UTF-8
  encoding: utf-8
  languages: [en-US]
  limits: {{default_items: 10, max_items: 10000}}
  map: {{url: 'http://127.0.0.1/{{z}}/{{x}}/{{y}}.png', attribution: none}}
logging: {{level: ERROR}}
metadata:
  identification:
    title: {{en: bench}}
    description: {{en: bench}}
    keywords: {{en: [bench]}}
    keywords_type: theme
    terms_of_service: http://127.0.0.1/
    url: http://127.0.0.1/
  license: {{name: CC-BY 4.0, url: http://127.0.0.1/}}
  provider: {{name: bench, url: http://127.0.0.1/}}
  contact: {{name: bench, position: bench, address: bench, city: bench,
            stateorprovince: bench, postalcode: '0', country: DE, phone: '0', fax: '0',
            email: bench@example.org, url: http://127.0.0.1/, hours: always,
            instructions: none, role: pointOfContact}}
resources:
  punkte:
    type: collection
    title: punkte
    description: punkte
    keywords: [punkte]
    extents:
      spatial: {{bbox: [5.9, 47.3, 15.0, 55.1], crs: 'http://www.opengis.net/def/crs/OGC/1.3/CRS84'}}
    providers:
      - type: feature
        name: Parquet
        data: {{source: '{parquet}'}}
        id_field: id
        x_field: lon
        y_field: lat
"""
    path = work / "pygeoapi.yml"
    path.write_text(config)
    return path


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--points", type=int, default=1_000_000)
    ap.add_argument("--bin", default=str(REPO / "target/release/allmende"))
    ap.add_argument("--wrk-seconds", type=int, default=10)
    args = ap.parse_args()
    qb = load_query_bench()
    work = Path(tempfile.mkdtemp(prefix="allmende-ogc-bench-"))
    procs = []
    try:
        src = qb.generate(work, 1000, args.points)
        data = work / "data"
        for name in ("punkte", "kreise"):
            subprocess.run([args.bin, "ingest", str(src / name), "--data", str(data)],
                           check=True, stdout=subprocess.DEVNULL,
                           env={**os.environ, "ALLMENDE_LOG": "warn"})
        parquet = str(data / "datasets" / "punkte" / "v1" / "data.parquet")
        ours = qb.Server(args.bin, data)
        port = free_port()
        config = pygeoapi_config(work, parquet, port)
        openapi = work / "openapi.yml"
        env = {**os.environ, "PYGEOAPI_CONFIG": str(config), "PYGEOAPI_OPENAPI": str(openapi)}
        subprocess.run(["pygeoapi", "openapi", "generate", str(config), "--output-file",
                        str(openapi)], check=True, env=env, capture_output=True)
        theirs = subprocess.Popen(
            ["gunicorn", "-w", str(os.cpu_count()), "-b", f"127.0.0.1:{port}",
             "pygeoapi.flask_app:APP"], env=env, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        procs.append(theirs)
        theirs_base = f"http://127.0.0.1:{port}"
        wait_for(theirs_base + "/collections/punkte?f=json")

        query = f"bbox={BOX[0]},{BOX[1]},{BOX[2]},{BOX[3]}&limit=1000&f=json"
        ours_url = f"{ours.base}/ogc/collections/punkte/items?{query}"
        theirs_url = f"{theirs_base}/collections/punkte/items?{query}"
        # Correctness on every match (the page order of the two may differ): limit 10 000.
        everything = query.replace("limit=1000", "limit=10000")
        a = get_json(f"{ours.base}/ogc/collections/punkte/items?{everything}")
        b = get_json(f"{theirs_base}/collections/punkte/items?{everything}")
        # pygeoapi's Parquet provider numbers features by row; the `id` property is the key.
        ids = lambda fc: sorted(f["properties"]["id"] for f in fc["features"])
        if (a["numberMatched"] != b["numberMatched"] or ids(a) != ids(b)
                or a["numberMatched"] != len(a["features"])):
            sys.exit(f"items differ: matched {a['numberMatched']} vs {b['numberMatched']}, "
                     f"first ids {ids(a)[:3]} vs {ids(b)[:3]}")
        ours_items = wrk(ours_url, args.wrk_seconds, 32)
        theirs_items = wrk(theirs_url, args.wrk_seconds, 32)

        # Tiles: cold (each z12 tile over the box once) and hot (one tile, again and again).
        rows = []
        for collection in ("punkte", "kreise"):
            x0, y1 = tile_of(BOX[0], BOX[1], 12)
            x1, y0 = tile_of(BOX[2], BOX[3], 12)
            cold = []
            for x in range(x0, x1 + 1):
                for y in range(y0, y1 + 1):
                    url = f"{ours.base}/ogc/collections/{collection}/tiles/WebMercatorQuad/12/{y}/{x}"
                    start = time.perf_counter()
                    with urllib.request.urlopen(url, timeout=60) as r:
                        r.read()
                    cold.append(time.perf_counter() - start)
            x, y = tile_of(11.0, 50.9, 12)
            hot = wrk(f"{ours.base}/ogc/collections/{collection}/tiles/WebMercatorQuad/12/{y}/{x}",
                      args.wrk_seconds, 32)
            rows.append((collection, len(cold), statistics.median(cold) * 1000, hot))
        ours.stop()

        print(f"\nmachine: {os.cpu_count()} cores\n")
        print(f"items?{query}, wrk -t2 -c32 -d{args.wrk_seconds}s; "
              f"numberMatched {a['numberMatched']} in both, the same features (ids)\n")
        print("| server | requests/s | p50 | p99 |")
        print("| --- | ---: | ---: | ---: |")
        for name, s in (("allmende", ours_items), ("pygeoapi 0.21 Parquet, gunicorn", theirs_items)):
            print(f"| {name} | {s.get('rps', 0):.0f} | {s.get('50%')} | {s.get('99%')} | "
                  f"{s.get('errors', '')}")
        ratio = ours_items.get("rps", 0) / max(theirs_items.get("rps", 1e-9), 1e-9)
        print(f"\nthroughput ratio allmende / pygeoapi: {ratio:.1f}×\n")
        print("| tiles (z12) | cold tiles | cold p50 | hot p50 (wrk -c32) | hot requests/s |")
        print("| --- | ---: | ---: | ---: | ---: |")
        for collection, n, cold_p50, hot in rows:
            print(f"| {collection} | {n} | {cold_p50:.1f} ms | {hot.get('50%')} | "
                  f"{hot.get('rps', 0):.0f} |")
    finally:
        for p in procs:
            p.terminate()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
