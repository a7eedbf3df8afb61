#!/usr/bin/env bash
# Times `allmende ingest` on a generated budget CSV against DuckDB reading the same CSV and
# writing Parquet (the peer tool for this work), and prints the ratio.
# Usage: benches/ingest.sh [ROWS] [BINARY]   (defaults: 1000000, target/release/allmende)
# Needs: python3, and duckdb for the comparison (pip install duckdb).
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-1000000}
bin=${2:-target/release/allmende}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

python3 benches/gen_budget.py "$rows" "$work/budget.csv"
printf 'input: %s rows, %s bytes\n' "$rows" "$(stat -c %s "$work/budget.csv")"

start=$(date +%s.%N)
"$bin" ingest "$work/budget.csv" --id bench --data "$work/data" >/dev/null
end=$(date +%s.%N)
ours=$(echo "$end - $start" | bc)
printf 'allmende ingest (Parquet, CSV, report, whole-column inference): %.2f s\n' "$ours"

if python3 -c 'import duckdb' 2>/dev/null; then
  start=$(date +%s.%N)
  python3 - "$work/budget.csv" "$work/duck.parquet" <<'PY'
import sys, duckdb
src, dst = sys.argv[1], sys.argv[2]
# DuckDB's CSV reader leaves German amounts (1.234,56) as text, so it gets, by hand, the
# conversion Allmende detects: same typed result, same work.
def amount(c):
    return "CAST(replace(replace(\"%s\", '.', ''), ',', '.') AS DOUBLE) AS \"%s\"" % (c, c)
cols = ", ".join(['"Produkt"', '"Bezeichnung"', '"Kostenart"'] + [amount(c) for c in ["Ist 2022", "Plan 2023", "Plan 2024", "Plan 2025"]])
duckdb.sql(f"""COPY (SELECT {cols} FROM read_csv('{src}', delim=';', encoding='latin-1',
                header=true, all_varchar=true))
               TO '{dst}' (FORMAT parquet)""")
PY
  end=$(date +%s.%N)
  duck=$(echo "$end - $start" | bc)
  printf 'duckdb read_csv + typed amounts → Parquet: %.2f s\n' "$duck"
  printf 'ratio allmende/duckdb: %.2f\n' "$(echo "$ours / $duck" | bc -l)"
else
  echo "duckdb not installed: pip install duckdb for the comparison"
fi
