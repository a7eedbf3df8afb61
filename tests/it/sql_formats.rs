//! `/api/sql`'s streamed formats against the demo server: GeoJSON, Parquet (read by pyarrow),
//! the Arrow IPC stream (read by arrow's `StreamReader`), and JSON's `next`.

use std::process::Command;

use serde_json::Value;

use crate::outside::have_python;
use crate::{demo, http, scratch};

const DISTRICTS: &str = "SELECT * FROM wahlbezirke_karlsruhe";

/// GET /api/sql with `format`; status, content type, content disposition and body.
fn fetch(q: &str, format: &str) -> (u16, String, String, Vec<u8>) {
    let response = http()
        .get(demo().url("/api/sql"))
        .query(&[("q", q), ("format", format)])
        .send()
        .expect("GET /api/sql");
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().expect("ASCII header").to_owned())
            .unwrap_or_default()
    };
    let (status, content_type, disposition) = (
        response.status().as_u16(),
        header("content-type"),
        header("content-disposition"),
    );
    let body = response.bytes().expect("body").to_vec();
    (status, content_type, disposition, body)
}

fn json_rows(q: &str) -> usize {
    let (status, _, _, body) = fetch(q, "json");
    assert_eq!(status, 200);
    let v: Value = serde_json::from_slice(&body).expect("JSON");
    assert_eq!(v["truncated"], false, "{q}");
    assert!(v["next"].is_null(), "{v}");
    v["rows"].as_array().expect("rows").len()
}

#[test]
fn sql_geojson_has_a_feature_with_geometry_per_row() {
    let (status, content_type, disposition, body) =
        fetch(&format!("{DISTRICTS} LIMIT 3"), "geojson");
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert_eq!(content_type, "application/geo+json");
    assert_eq!(disposition, "attachment; filename=\"query.geojson\"");
    let v: Value = serde_json::from_slice(&body).expect("GeoJSON is JSON");
    assert_eq!(v["type"], "FeatureCollection");
    let features = v["features"].as_array().expect("features");
    assert_eq!(features.len(), 3);
    for f in features {
        assert_eq!(f["type"], "Feature");
        assert!(
            matches!(
                f["geometry"]["type"].as_str(),
                Some("Polygon" | "MultiPolygon")
            ),
            "{f}"
        );
        assert!(f["properties"].is_object());
        assert!(f["properties"].get("geometry").is_none());
    }

    // An empty result is still a valid collection.
    let (status, _, _, body) = fetch(&format!("{DISTRICTS} WHERE false"), "geojson");
    assert_eq!(status, 200);
    let v: Value = serde_json::from_slice(&body).expect("empty GeoJSON is JSON");
    assert_eq!(v["features"].as_array().map(Vec::len), Some(0));

    // No geometry column: a clear 400 before any body.
    let (status, _, _, body) = fetch("SELECT 1 AS n", "geojson");
    assert_eq!(status, 400);
    let text = String::from_utf8_lossy(&body);
    assert!(text.contains("geometry column"), "{text}");
}

#[test]
fn sql_parquet_is_read_by_pyarrow_with_the_rows_of_the_json_result() {
    let (status, content_type, disposition, body) = fetch(DISTRICTS, "parquet");
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert_eq!(content_type, "application/vnd.apache.parquet");
    assert_eq!(disposition, "attachment; filename=\"query.parquet\"");
    assert!(body.starts_with(b"PAR1") && body.ends_with(b"PAR1"));
    if !have_python("pyarrow.parquet", "pip install pyarrow") {
        return;
    }
    let path = scratch("sql_parquet").join("query.parquet");
    std::fs::write(&path, &body).expect("write");
    let out = Command::new("python3")
        .args([
            "-c",
            "import sys, pyarrow.parquet as pq; print(pq.read_table(sys.argv[1]).num_rows)",
        ])
        .arg(&path)
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: usize = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("a count");
    assert!(rows > 0);
    assert_eq!(rows, json_rows(DISTRICTS));
}

#[test]
fn sql_arrow_stream_is_read_by_arrows_stream_reader() {
    let (status, content_type, disposition, body) = fetch(DISTRICTS, "arrow");
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert_eq!(content_type, "application/vnd.apache.arrow.stream");
    assert_eq!(disposition, "attachment; filename=\"query.arrows\"");
    let reader = arrow::ipc::reader::StreamReader::try_new(std::io::Cursor::new(body), None)
        .expect("an Arrow IPC stream");
    assert!(reader.schema().field_with_name("geometry").is_ok());
    let rows: usize = reader.map(|b| b.expect("batch").num_rows()).sum();
    assert_eq!(rows, json_rows(DISTRICTS));
}

#[test]
fn sql_json_next_points_at_the_complete_result() {
    let q = "SELECT \"Name\" FROM pegel_nrw_tageswerte";
    let (_, _, _, body) = fetch(q, "json");
    let v: Value = serde_json::from_slice(&body).expect("JSON");
    assert_eq!(v["truncated"], true);
    let next = v["next"].as_str().expect("next is a URL");
    assert!(next.starts_with("/api/sql?format=csv&q="), "{next}");
    let csv = http()
        .get(demo().url(next))
        .send()
        .expect("GET next")
        .text()
        .expect("text");
    assert_eq!(csv.lines().count(), 103_384 + 1);
}
