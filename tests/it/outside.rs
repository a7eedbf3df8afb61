//! Outside readers check our files: pyarrow reads every Parquet file the demo wrote, and its
//! row counts and GeoParquet `geo` metadata must agree with what the API says.
//!
//! Skips with a message when pyarrow is missing, unless `ALLMENDE_REQUIRE_TOOLS=1` (CI sets
//! it, after installing pyarrow).

use std::process::Command;

use crate::{BUNDLED, demo, get_json};

fn have_pyarrow() -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import pyarrow.parquet"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var("ALLMENDE_REQUIRE_TOOLS").is_err(),
            "ALLMENDE_REQUIRE_TOOLS is set but pyarrow is missing"
        );
        eprintln!("SKIPPED: pyarrow is not installed (pip install pyarrow)");
    }
    ok
}

#[test]
fn pyarrow_reads_every_parquet_file_and_agrees_with_the_api() {
    if !have_pyarrow() {
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
