#!/usr/bin/env bash
# The speed-and-memory benchmark of issue 3, in one run:
#  1. a generated gauge-readings CSV (default 1000 MB; semicolons, decimal commas) → our
#     Parquet vs DuckDB's `COPY (SELECT * FROM read_csv(...)) TO '…parquet'`;
#  2. a generated GeoJSON (default 1 000 000 polygons) → our FlatGeobuf vs `ogr2ogr`.
# Wall time and peak RSS come from GNU time. Usage: benches/large.sh [MB] [FEATURES] [BINARY]
# Needs: python3, duckdb (pip), gdal-bin (ogr2ogr), /usr/bin/time; a release build.
set -euo pipefail
cd "$(dirname "$0")/.."
mb=${1:-1000}
features=${2:-1000000}
bin=$(realpath "${3:-target/release/allmende}")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
measure() { # label, command…: prints "label: S s, M MB peak"
  local label=$1; shift
  /usr/bin/time -f "%e %M" -o "$work/time" "$@" >/dev/null
  read -r secs kb <"$work/time"
  printf '%-58s %8.2f s %8.0f MB peak\n' "$label" "$secs" "$(echo "$kb / 1024" | bc -l)"
}

python3 benches/gen_gauges.py "$mb" "$work/pegel.csv"
printf 'gauge CSV: %s bytes, %s lines\n' "$(stat -c %s "$work/pegel.csv")" "$(wc -l <"$work/pegel.csv")"
measure "allmende ingest (Parquet + CSV download + report)" \
  "$bin" ingest "$work/pegel.csv" --id pegel --data "$work/data"
cat >"$work/duck.py" <<'PY'
import sys, duckdb
duckdb.sql(f"""COPY (SELECT * FROM read_csv('{sys.argv[1]}', delim=';', decimal_separator=','))
               TO '{sys.argv[2]}' (FORMAT parquet)""")
PY
measure "duckdb COPY (SELECT * FROM read_csv(...)) TO parquet" \
  python3 "$work/duck.py" "$work/pegel.csv" "$work/duck.parquet"
rm -rf "$work/pegel.csv" "$work/data" "$work/duck.parquet"

python3 benches/gen_features.py "$features" "$work/parcels.geojson"
printf 'GeoJSON: %s bytes, %s features\n' "$(stat -c %s "$work/parcels.geojson")" "$features"
measure "allmende ingest (GeoParquet, FlatGeobuf, GeoJSON, CSV)" \
  "$bin" ingest "$work/parcels.geojson" --id parcels --data "$work/data"
measure "ogr2ogr -f FlatGeobuf" \
  ogr2ogr -f FlatGeobuf "$work/ogr.fgb" "$work/parcels.geojson"
