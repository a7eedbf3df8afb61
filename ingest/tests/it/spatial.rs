//! Shapefiles and reprojection, checked against GDAL/PROJ (`ogr2ogr`). The ogr2ogr tests skip
//! with a message when it is missing, unless `ALLMENDE_REQUIRE_TOOLS=1` (CI installs gdal-bin).

use std::collections::HashMap;
use std::fs;
use std::path::Path;
use std::process::Command;

use allmende_ingest::{DatasetSpec, IngestOptions, Outcome, ingest};
use serde_json::Value;

use crate::shared;

fn have_ogr2ogr() -> bool {
    let ok = Command::new("ogr2ogr")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var("ALLMENDE_REQUIRE_TOOLS").is_err(),
            "ALLMENDE_REQUIRE_TOOLS is set but ogr2ogr is missing"
        );
        eprintln!("SKIPPED: ogr2ogr is not installed (apt-get install gdal-bin)");
    }
    ok
}

fn ogr2ogr(args: &[&str]) {
    let out = Command::new("ogr2ogr")
        .args(args)
        .output()
        .expect("run ogr2ogr");
    assert!(
        out.status.success(),
        "ogr2ogr {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Ingests `source` as dataset `t` and returns the published GeoJSON and the manifest's
/// source CRS.
fn publish_geojson(source: &Path, root: &Path) -> (Value, String) {
    let spec = DatasetSpec::resolve(source, Some("t")).expect("resolve");
    let Outcome::Published { manifest, .. } =
        ingest(&spec, root, IngestOptions::default()).expect("ingest")
    else {
        panic!("{}: not published", source.display());
    };
    let crs = manifest
        .latest()
        .and_then(|v| v.geometry.as_ref())
        .map(|g| g.source_crs.clone())
        .unwrap_or_default();
    let text = fs::read(root.join("datasets/t/v1/data.geojson")).expect("geojson");
    (serde_json::from_slice(&text).expect("json"), crs)
}

/// Every vertex of every feature, keyed by the feature's `key` property.
fn vertices_by(collection: &Value, key: &str) -> HashMap<String, Vec<(f64, f64)>> {
    fn walk(v: &Value, out: &mut Vec<(f64, f64)>) {
        match v.as_array() {
            Some(a) if a.len() >= 2 && a[0].is_number() => {
                out.push((
                    a[0].as_f64().unwrap_or(f64::NAN),
                    a[1].as_f64().unwrap_or(f64::NAN),
                ));
            }
            Some(a) => a.iter().for_each(|x| walk(x, out)),
            None => {}
        }
    }
    let mut map = HashMap::new();
    for f in collection["features"].as_array().expect("features") {
        let mut pts = Vec::new();
        walk(&f["geometry"]["coordinates"], &mut pts);
        let id = f["properties"][key]
            .as_str()
            .expect("key property")
            .to_owned();
        map.insert(id, pts);
    }
    map
}

/// The largest distance in metres from a vertex of ours to the nearest vertex of GDAL's
/// version of the same feature (order-independent, since we orient rings per RFC 7946).
fn max_deviation_m(ours: &Value, gdal: &Value, key: &str) -> f64 {
    let (ours, gdal) = (vertices_by(ours, key), vertices_by(gdal, key));
    assert_eq!(ours.len(), gdal.len(), "feature count");
    let mut worst = 0.0_f64;
    for (id, pts) in &ours {
        let theirs = gdal
            .get(id)
            .unwrap_or_else(|| panic!("GDAL has no feature {id}"));
        assert_eq!(pts.len(), theirs.len(), "vertex count of {id}");
        for &(x, y) in pts {
            let metres_per_deg_x = 111_320.0 * y.to_radians().cos();
            let nearest = theirs
                .iter()
                .map(|&(tx, ty)| {
                    (((x - tx) * metres_per_deg_x).powi(2) + ((y - ty) * 110_540.0).powi(2)).sqrt()
                })
                .fold(f64::INFINITY, f64::min);
            worst = worst.max(nearest);
        }
    }
    worst
}

fn reference(source: &Path, dir: &Path) -> Value {
    let out = dir.join("gdal.geojson");
    ogr2ogr(&[
        "-f",
        "GeoJSON",
        "-t_srs",
        "EPSG:4326",
        "-lco",
        "COORDINATE_PRECISION=10",
        out.to_str().expect("utf-8 path"),
        source.to_str().expect("utf-8 path"),
    ]);
    serde_json::from_slice(&fs::read(&out).expect("gdal output")).expect("json")
}

#[test]
fn bkg_districts_in_utm32_match_ogr2ogr_within_a_centimetre() {
    if !have_ogr2ogr() {
        return;
    }
    let shp = shared("maps/bkg_vg2500_utm32_shp/VG2500_KRS.shp");
    let root = tempfile::tempdir().expect("tempdir");
    let (ours, crs) = publish_geojson(&shp, root.path());
    assert_eq!(crs, "EPSG:25832");
    let gdal = reference(&shp, root.path());
    let worst = max_deviation_m(&ours, &gdal, "ARS");
    eprintln!("EPSG:25832: worst vertex {worst:.4} m from ogr2ogr");
    assert!(worst < 0.01, "UTM: worst vertex {worst} m from ogr2ogr");
}

/// The districts in Gauß-Krüger zone 3 and Web Mercator, written by GDAL with its own `.prj`
/// (ESRI WKT without TOWGS84), then brought back to WGS 84 by us and by ogr2ogr.
#[test]
fn gauss_krueger_and_web_mercator_match_ogr2ogr() {
    if !have_ogr2ogr() {
        return;
    }
    let shp = shared("maps/bkg_vg2500_utm32_shp/VG2500_KRS.shp");
    for (code, tolerance) in [("EPSG:31467", 3.0), ("EPSG:3857", 0.01)] {
        let dir = tempfile::tempdir().expect("tempdir");
        let projected = dir.path().join("krs.shp");
        ogr2ogr(&[
            "-t_srs",
            code,
            projected.to_str().expect("utf-8"),
            shp.to_str().expect("utf-8"),
        ]);
        let root = dir.path().join("data");
        let (ours, _) = publish_geojson(&projected, &root);
        let gdal = reference(&projected, dir.path());
        let worst = max_deviation_m(&ours, &gdal, "ARS");
        eprintln!("{code}: worst vertex {worst:.4} m from ogr2ogr");
        assert!(
            worst < tolerance,
            "{code}: worst vertex {worst} m from ogr2ogr"
        );
    }
}

/// Köln's Stadtbezirke: UTM zone 32 with a false easting of 2 500 000 m and no EPSG code in the
/// `.prj`; read by its parameters, they must land in Köln (by hand: 6.77–7.17° E, 50.83–51.09° N).
#[test]
fn prj_without_epsg_code_lands_in_koeln() {
    let shp = shared("maps/koeln_stadtbezirk_shp/Stadtbezirk.shp");
    let root = tempfile::tempdir().expect("tempdir");
    let spec = DatasetSpec::resolve(&shp, Some("t")).expect("resolve");
    let Outcome::Published { report, .. } =
        ingest(&spec, root.path(), IngestOptions::default()).expect("ingest")
    else {
        panic!("not published")
    };
    let bbox = report.geometry.as_ref().and_then(|g| g.bbox).expect("bbox");
    assert!(
        bbox[0] > 6.7 && bbox[2] < 7.2 && bbox[1] > 50.8 && bbox[3] < 51.1,
        "{bbox:?}"
    );
    assert_eq!(report.rows_published, 9, "Köln has nine Stadtbezirke");
}

/// GDAL reads the pyshp and shapefile.js fixtures (MANIFEST.tsv lists its counts); we keep
/// every feature, null shapes as rows without geometry.
#[test]
fn fixture_shapefiles_keep_every_feature() {
    for (name, features) in [
        ("shapefile_pyshp/NullTest.shp", 3),
        ("shapefile_pyshp/MyPolyZ.shp", 1),
        ("shapefile_pyshp/linez.shp", 1),
        ("shapefile_pyshp/multipatch.shp", 1),
        ("shapefile_pyshp/corrupt_too_long.shp", 10),
        ("shapefile_mbostock/null.shp", 9),
        ("shapefile_mbostock/polygons.shp", 3),
        ("shapefile_mbostock/multipointm.shp", 1),
    ] {
        let path = shared(&format!("fixtures/{name}"));
        let spec = DatasetSpec::resolve(&path, Some("t")).expect("resolve");
        let report = allmende_ingest::validate(&spec).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            report.rows_published,
            features,
            "{name}: {}",
            report.to_text()
        );
    }
}

/// pyshp's latin1.dbf has no `.cpg` and no language driver: the encoding is detected.
#[test]
fn dbf_encoding_is_detected_without_cpg() {
    let path = shared("fixtures/shapefile_pyshp/latin1.shp");
    let spec = DatasetSpec::resolve(&path, Some("t")).expect("resolve");
    let report = allmende_ingest::validate(&spec).expect("validate");
    let file = &report.files[0];
    assert_eq!(file.encoding.as_deref(), Some("windows-1252"), "{file:?}");
    // The file holds "Ñandú" in Latin-1 (by hand: bytes D1 and FA).
    let found = report
        .columns
        .iter()
        .flat_map(|c| c.examples.iter())
        .any(|e| e == "Ñandú");
    assert!(found, "{}", report.to_text());
}

/// The same source ingested into two data roots gives byte-identical files.
#[test]
fn ingest_is_deterministic() {
    let shp = shared("maps/koeln_stadtbezirk_shp/Stadtbezirk.shp");
    let (a, b) = (
        tempfile::tempdir().expect("tempdir"),
        tempfile::tempdir().expect("tempdir"),
    );
    publish_geojson(&shp, a.path());
    publish_geojson(&shp, b.path());
    for file in [
        "data.parquet",
        "data.csv",
        "data.geojson",
        "data.fgb",
        "report.json",
    ] {
        let read = |root: &Path| fs::read(root.join("datasets/t/v1").join(file)).expect(file);
        assert!(
            read(a.path()) == read(b.path()),
            "{file} differs between runs"
        );
    }
}
