//! Outside readers check our files: pyarrow reads every Parquet file the demo wrote and GDAL
//! (bundled in pyogrio's wheel) every FlatGeobuf and GeoJSON; what they see must agree with
//! each other and with the API.
//!
//! Each test skips with a message when its tool is missing, unless `ALLMENDE_REQUIRE_TOOLS=1`
//! (CI sets it, after installing pyarrow and pyogrio).

use std::process::Command;

use crate::{BUNDLED, demo, get_json};

/// Whether python3 can import `modules`; skips with a message, or fails under CI.
pub fn have_python(modules: &str, install: &str) -> bool {
    let ok = Command::new("python3")
        .args(["-c", &format!("import {modules}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var("ALLMENDE_REQUIRE_TOOLS").is_err(),
            "ALLMENDE_REQUIRE_TOOLS is set but {modules} is missing"
        );
        eprintln!("SKIPPED: {modules} is not installed ({install})");
    }
    ok
}

#[test]
fn pyarrow_reads_every_parquet_file_and_agrees_with_the_api() {
    if !have_python("pyarrow.parquet", "pip install pyarrow") {
        return;
    }
    let script = r#"
import json, sys
import pyarrow.parquet as pq
for path in sys.argv[1:]:
    f = pq.ParquetFile(path)
    table = f.read()
    # geopandas reads `geo` from the Arrow schema metadata, so that is where it must show.
    meta = f.schema_arrow.metadata or {}
    geo = json.loads(meta[b"geo"]) if b"geo" in meta else None
    print(json.dumps({"path": path, "rows": table.num_rows, "columns": table.column_names, "geo": geo}))
"#;
    let mut paths = Vec::new();
    for (id, _, _) in BUNDLED {
        paths.push(
            demo()
                .data
                .join("datasets")
                .join(id)
                .join("v1/data.parquet"),
        );
    }
    let out = Command::new("python3")
        .args(["-c", script])
        .args(&paths)
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "pyarrow failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let results: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert_eq!(results.len(), BUNDLED.len());
    for ((id, _, kind), read) in BUNDLED.iter().zip(&results) {
        let api = get_json(&demo().url(&format!("/api/datasets/{id}")), 200);
        assert_eq!(read["rows"], api["row_count"], "{id}: rows");
        let geo = &read["geo"];
        if *kind == "geojson" {
            assert_eq!(geo["version"], "1.1.0", "{id}");
            assert_eq!(geo["primary_column"], "geometry");
            let column = &geo["columns"]["geometry"];
            assert_eq!(column["encoding"], "WKB");
            assert_eq!(
                column["bbox"], api["extent"]["spatial"]["bbox"],
                "{id}: bbox"
            );
            assert_eq!(
                column["geometry_types"], api["geometry"]["types"],
                "{id}: types"
            );
            assert_eq!(
                column["covering"]["bbox"]["xmin"],
                serde_json::json!(["bbox", "xmin"])
            );
            let columns = read["columns"].as_array().expect("columns");
            assert!(columns.contains(&"bbox".into()) && columns.contains(&"geometry".into()));
        } else {
            assert!(geo.is_null(), "{id}: plain Parquet has no geo metadata");
        }
    }
}

/// GDAL (through pyogrio's wheel) reads our FlatGeobuf and GeoJSON, pyarrow our GeoParquet; all
/// three hold the same features (geometry WKB byte for byte, every property), the FlatGeobuf
/// has its spatial index, and the counts and bounds are what the API says.
#[test]
fn gdal_and_pyarrow_see_the_same_features_in_every_format() {
    if !have_python("pyogrio, pyarrow.parquet", "pip install pyogrio pyarrow") {
        return;
    }
    let script = r#"
import json, math, sys
import pyogrio, pyogrio.raw, pyarrow.parquet as pq

def norm(v):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None  # numpy gives null doubles as NaN
    return str(v)

def rows_gdal(path):
    meta, _, geoms, fields = pyogrio.raw.read(path)
    names = list(meta["fields"])
    return sorted(((bytes(g).hex() if g is not None else None,
                    tuple(sorted((n, norm(f[i])) for n, f in zip(names, fields))))
                   for i, g in enumerate(geoms)), key=repr)

def rows_parquet(path):
    out = []
    for r in pq.read_table(path).to_pylist():
        g = r.pop("geometry"); r.pop("bbox", None)
        out.append((g.hex() if g is not None else None, tuple(sorted((k, norm(v)) for k, v in r.items()))))
    return sorted(out, key=repr)

d = sys.argv[1]
fgb, gj, pa = rows_gdal(d + "/data.fgb"), rows_gdal(d + "/data.geojson"), rows_parquet(d + "/data.parquet")
info = pyogrio.read_info(d + "/data.fgb")
print(json.dumps({"fgb_equals_geojson": fgb == gj, "geojson_equals_parquet": gj == pa, "features": len(fgb),
                  "indexed": bool(info["capabilities"]["fast_spatial_filter"]), "crs": info["crs"],
                  "bounds": list(info["total_bounds"])}))
"#;
    for (id, _, kind) in BUNDLED {
        if *kind != "geojson" {
            continue;
        }
        let dir = demo().data.join("datasets").join(id).join("v1");
        let out = Command::new("python3")
            .args(["-c", script])
            .arg(&dir)
            .output()
            .expect("python3");
        assert!(
            out.status.success(),
            "{id}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let seen: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        let api = get_json(&demo().url(&format!("/api/datasets/{id}")), 200);
        assert_eq!(seen["fgb_equals_geojson"], true, "{id}");
        assert_eq!(seen["geojson_equals_parquet"], true, "{id}");
        assert_eq!(seen["features"], api["row_count"], "{id}");
        assert_eq!(seen["indexed"], true, "{id}: FlatGeobuf spatial index");
        assert_eq!(seen["crs"], "EPSG:4326", "{id}");
        let bbox = api["extent"]["spatial"]["bbox"].as_array().expect("bbox");
        for (a, b) in seen["bounds"].as_array().expect("bounds").iter().zip(bbox) {
            let (a, b) = (a.as_f64().expect("f64"), b.as_f64().expect("f64"));
            assert!((a - b).abs() < 1e-9, "{id}: bounds {a} vs {b}");
        }
    }
}

/// geopandas (`read_parquet`) and DuckDB read our GeoParquet files: the same row count as the
/// API, and for spatial datasets a GeoDataFrame in OGC:CRS84 whose total bounds are the API's
/// bbox.
#[test]
fn geopandas_and_duckdb_read_our_geoparquet() {
    if !have_python("geopandas, duckdb", "pip install geopandas duckdb") {
        return;
    }
    let script = r#"
import json, sys
import duckdb, geopandas
for path in sys.argv[1:]:
    rows = duckdb.connect().execute(f"SELECT count(*) FROM read_parquet('{path}')").fetchall()[0][0]
    out = {"duckdb_rows": rows}
    try:
        gdf = geopandas.read_parquet(path)
        out.update(geopandas_rows=len(gdf), crs=gdf.crs.to_string() if gdf.crs else None,
                   bounds=[float(v) for v in gdf.total_bounds])
    except ValueError as e:  # plain Parquet without `geo` metadata
        out.update(geopandas_error=str(e))
    print(json.dumps(out))
"#;
    let paths: Vec<_> = BUNDLED
        .iter()
        .map(|(id, _, _)| {
            demo()
                .data
                .join("datasets")
                .join(id)
                .join("v1/data.parquet")
        })
        .collect();
    let out = Command::new("python3")
        .args(["-c", script])
        .args(&paths)
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "geopandas/duckdb failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    for ((id, _, kind), line) in BUNDLED.iter().zip(stdout.lines()) {
        let read: serde_json::Value = serde_json::from_str(line).expect("json line");
        let api = get_json(&demo().url(&format!("/api/datasets/{id}")), 200);
        assert_eq!(read["duckdb_rows"], api["row_count"], "{id}: DuckDB rows");
        if *kind == "geojson" {
            assert_eq!(
                read["geopandas_rows"], api["row_count"],
                "{id}: geopandas rows"
            );
            // GeoParquet's default CRS, which our files use: lon/lat WGS 84.
            assert_eq!(read["crs"], "OGC:CRS84", "{id}: crs");
            let ours = api["extent"]["spatial"]["bbox"].as_array().expect("bbox");
            for (a, b) in ours.iter().zip(read["bounds"].as_array().expect("bounds")) {
                let (a, b) = (a.as_f64().expect("f64"), b.as_f64().expect("f64"));
                assert!((a - b).abs() < 1e-9, "{id}: bounds {a} vs {b}");
            }
        }
    }
}
