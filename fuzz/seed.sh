#!/bin/sh
# Seeds fuzz/corpus/<target>/ from the shared fixtures (see ../../shared/datasets/MANIFEST.tsv)
# instead of committing copies of them. Safe to run again: it only adds files.
#   fuzz/seed.sh [DATASETS_DIR]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
datasets=${1:-$here/../../shared/datasets}
fixtures=$datasets/fixtures
corpus=$here/corpus
mkdir -p "$corpus/csv_sniff" "$corpus/dbf" "$corpus/shapefile"

# Large files are cut: the fuzzers mutate small inputs far faster, and 4 KiB reaches every
# branch of the sniffer that a longer file does.
for f in "$fixtures"/csv_*/*.csv "$fixtures"/csv_*/*/*.csv "$datasets"/budgets/*.csv; do
    [ -f "$f" ] && head -c 4096 "$f" > "$corpus/csv_sniff/$(basename "$f")"
done

for f in "$fixtures"/shapefile_*/*.dbf; do
    cp "$f" "$corpus/dbf/$(basename "$(dirname "$f")")-$(basename "$f")"
done

# The shapefile target's input: u32 LE length of the .shp, u32 LE length of the .shx, the
# .shp, the .shx, then the .dbf (allmende_ingest::fuzzing::split_shapefile).
le32() {
    printf "$(printf '\\%03o\\%03o\\%03o\\%03o' \
        $(($1 & 255)) $(($1 >> 8 & 255)) $(($1 >> 16 & 255)) $(($1 >> 24 & 255)))"
}
size() { if [ -f "$1" ]; then wc -c < "$1" | tr -d ' '; else echo 0; fi; }
for shp in "$fixtures"/shapefile_*/*.shp; do
    base=${shp%.shp}
    out="$corpus/shapefile/$(basename "$(dirname "$shp")")-$(basename "$base")"
    {
        le32 "$(size "$shp")"
        le32 "$(size "$base.shx")"
        cat "$shp"
        [ -f "$base.shx" ] && cat "$base.shx"
        [ -f "$base.dbf" ] && cat "$base.dbf"
        true
    } > "$out"
done

for t in csv_sniff dbf shapefile; do
    echo "$t: $(ls "$corpus/$t" | wc -l) seeds"
done
