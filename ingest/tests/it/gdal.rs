//! Formats read through GDAL (cargo feature `gdal`), checked against what `ogrinfo` says about
//! the same files: feature count, the first vertex of every geometry, attribute values. The
//! ogrinfo comparisons skip with a message when it is missing, unless `ALLMENDE_REQUIRE_TOOLS=1`
//! (CI installs gdal-bin).

use std::fs;
use std::path::Path;
use std::process::Command;

use allmende_ingest::{DatasetSpec, IngestOptions, Outcome, ingest, validate};
use serde_json::Value;

use crate::shared;

fn have_ogrinfo() -> bool {
    let ok = Command::new("ogrinfo")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var("ALLMENDE_REQUIRE_TOOLS").is_err(),
            "ALLMENDE_REQUIRE_TOOLS is set but ogrinfo is missing"
        );
        eprintln!("SKIPPED: ogrinfo is not installed (apt-get install gdal-bin)");
    }
    ok
}

/// One feature as `ogrinfo -al` prints it.
#[derive(Debug)]
struct OgrFeature {
    /// `(name, type, value)` of the fields that are not null.
    fields: Vec<(String, String, String)>,
    first_vertex: Option<(f64, f64)>,
}

/// `ogrinfo -ro -al -q <source> [layer]`, parsed.
fn ogrinfo_features(source: &Path, layer: Option<&str>) -> Vec<OgrFeature> {
    let mut command = Command::new("ogrinfo");
    command.args(["-ro", "-al", "-q"]).arg(source).args(layer);
    let out = command.output().expect("run ogrinfo");
    assert!(
        out.status.success(),
        "ogrinfo {}: {}",
        source.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let mut features: Vec<OgrFeature> = Vec::new();
    for line in text.lines() {
        if line.starts_with("OGRFeature(") {
            features.push(OgrFeature {
                fields: Vec::new(),
                first_vertex: None,
            });
            continue;
        }
        let (Some(feature), Some(body)) = (features.last_mut(), line.strip_prefix("  ")) else {
            continue;
        };
        // `  name (String) = Germany`
        if let Some((head, value)) = body.split_once(" = ")
            && let Some((name, kind)) = head.split_once(" (")
        {
            let kind = kind.trim_end_matches(')').to_owned();
            feature
                .fields
                .push((name.to_owned(), kind, value.to_owned()));
        } else if body.starts_with(|c: char| c.is_ascii_uppercase()) && body.contains('(') {
            // `MULTIPOLYGON (((61.2 35.6,62.2 35.2,…)))`: the coordinates after the last of
            // the opening parentheses.
            let coords = body.trim_start_matches(|c: char| c != '(');
            let coords = coords.trim_start_matches('(');
            let first = coords.split([',', ')']).next().unwrap_or_default();
            let mut numbers = first.split_whitespace().map(|n| n.parse::<f64>());
            if let (Some(Ok(x)), Some(Ok(y))) = (numbers.next(), numbers.next()) {
                feature.first_vertex = Some((x, y));
            }
        }
    }
    features
}

/// Ingests `input` (a file or a dataset folder) as dataset `t` and returns the published
/// GeoJSON and the report's source CRS and format.
fn publish_geojson(input: &Path, root: &Path) -> (Value, String, String) {
    let spec = DatasetSpec::resolve(input, Some("t")).expect("resolve");
    let Outcome::Published { report, .. } =
        ingest(&spec, root, IngestOptions::default()).expect("ingest")
    else {
        panic!("{}: not published", input.display());
    };
    let crs = report
        .geometry
        .as_ref()
        .map(|g| g.source_crs.clone())
        .unwrap_or_default();
    let text = fs::read(root.join("datasets/t/v1/data.geojson")).expect("geojson");
    let json = serde_json::from_slice(&text).expect("json");
    (json, crs, report.files[0].format.clone())
}

fn first_vertex(geometry: &Value) -> Option<(f64, f64)> {
    let mut v = &geometry["coordinates"];
    while v[0].is_array() {
        v = &v[0];
    }
    Some((v[0].as_f64()?, v[1].as_f64()?))
}

/// Our published features against ogrinfo's, one to one: the same number, each of GDAL's
/// matched by its first vertex (our output is in Hilbert order, and neighbours can share one)
/// and its attribute values.
fn assert_same_as_ogrinfo(ours: &Value, gdal: &[OgrFeature], what: &str) {
    let mut pool: Vec<&Value> = ours["features"]
        .as_array()
        .expect("features")
        .iter()
        .collect();
    assert_eq!(pool.len(), gdal.len(), "{what}: feature count");
    assert!(!gdal.is_empty(), "{what}: no features");
    for theirs in gdal {
        let (x, y) = theirs.first_vertex.expect("ogrinfo printed a geometry");
        // ogrinfo prints 15 significant digits.
        let near = |a: f64, b: f64| (a - b).abs() <= 1e-12 * b.abs().max(1.0);
        let starts_here =
            |f: &Value| first_vertex(&f["geometry"]).is_some_and(|(a, b)| near(a, x) && near(b, y));
        let mismatch = |f: &Value| {
            theirs.fields.iter().find_map(|(name, kind, value)| {
                let got = &f["properties"][name];
                let same = match got {
                    Value::String(s) => s == value,
                    Value::Number(n) => value
                        .parse::<f64>()
                        .is_ok_and(|v| near(n.as_f64().unwrap_or(f64::NAN), v)),
                    _ => false,
                };
                (!same).then(|| format!("field {name} ({kind}): ours {got}, ogrinfo {value:?}"))
            })
        };
        let candidates: Vec<usize> = (0..pool.len()).filter(|&i| starts_here(pool[i])).collect();
        assert!(
            !candidates.is_empty(),
            "{what}: no feature of ours starts at ({x}, {y})"
        );
        match candidates.iter().find(|&&i| mismatch(pool[i]).is_none()) {
            Some(&i) => {
                pool.swap_remove(i);
            }
            None => panic!(
                "{what}: at ({x}, {y}): {}",
                mismatch(pool[candidates[0]]).unwrap_or_default()
            ),
        }
    }
}

/// Natural Earth countries as FlatGeobuf: an extension we have no reader of our own for.
#[test]
fn flatgeobuf_by_its_extension_matches_ogrinfo() {
    if !have_ogrinfo() {
        return;
    }
    let fgb = shared("fixtures/flatgeobuf/countries.fgb");
    let root = tempfile::tempdir().expect("tempdir");
    let (ours, crs, format) = publish_geojson(&fgb, root.path());
    assert_eq!((crs.as_str(), format.as_str()), ("EPSG:4326", "gdal"));
    assert_same_as_ogrinfo(&ours, &ogrinfo_features(&fgb, None), "countries.fgb");
}

/// Köln's Stadtbezirke as KML, read by GDAL's LIBKML driver because `format = "gdal"` says so.
#[test]
fn kml_through_format_gdal_matches_ogrinfo() {
    if !have_ogrinfo() {
        return;
    }
    let kml = shared("maps/koeln_stadtbezirke.kml");
    let dir = tempfile::tempdir().expect("tempdir");
    let toml = format!(
        "title = \"Stadtbezirke\"\n[source]\npath = {:?}\nformat = \"gdal\"\n",
        kml.display().to_string()
    );
    fs::write(dir.path().join("dataset.toml"), toml).expect("write");
    let root = dir.path().join("data");
    let (ours, crs, format) = publish_geojson(dir.path(), &root);
    assert_eq!((crs.as_str(), format.as_str()), ("EPSG:4326", "gdal"));
    assert_same_as_ogrinfo(
        &ours,
        &ogrinfo_features(&kml, None),
        "koeln_stadtbezirke.kml",
    );
}

/// A folder of two shapefiles is one GDAL data source with two layers: `layer` picks one, and
/// its `.prj` gives the EPSG code. The count is checked against ogrinfo.
#[test]
fn a_named_layer_of_a_shapefile_folder() {
    if !have_ogrinfo() {
        return;
    }
    let folder = shared("maps/bkg_vg2500_utm32_shp");
    let dir = tempfile::tempdir().expect("tempdir");
    let write = |layer: &str| {
        let toml = format!(
            "[source]\npath = {:?}\nformat = \"gdal\"\n{layer}",
            folder.display().to_string()
        );
        fs::write(dir.path().join("dataset.toml"), toml).expect("write");
        DatasetSpec::resolve(dir.path(), Some("t")).expect("resolve")
    };
    let err = validate(&write("")).expect_err("two layers");
    assert!(err.to_string().contains("\"VG2500_LAN\""), "{err}");
    let report = validate(&write("layer = \"VG2500_LAN\"\n")).expect("validate");
    let gdal = ogrinfo_features(&folder, Some("VG2500_LAN"));
    assert_eq!(report.rows_published, gdal.len() as u64);
    assert!(report.rejected.is_empty(), "{:?}", report.rejected);
    let geometry = report.geometry.expect("spatial");
    assert_eq!(geometry.source_crs, "EPSG:25832");
    // Germany, by hand: 5.8–15.1° E, 47.2–55.1° N.
    let b = geometry.bbox.expect("bbox");
    assert!(
        b[0] > 5.8 && b[2] < 15.1 && b[1] > 47.2 && b[3] < 55.1,
        "{b:?}"
    );
}

/// Köln's Stadtbezirke through GDAL's shapefile driver: a `.prj` without EPSG code reaches us
/// as GDAL's WKT and must still land in Köln (by hand: 6.77–7.17° E, 50.83–51.09° N).
#[test]
fn custom_crs_as_gdal_wkt_lands_in_koeln() {
    let shp = shared("maps/koeln_stadtbezirk_shp/Stadtbezirk.shp");
    let dir = tempfile::tempdir().expect("tempdir");
    let toml = format!(
        "[source]\npath = {:?}\nformat = \"gdal\"\n",
        shp.display().to_string()
    );
    fs::write(dir.path().join("dataset.toml"), toml).expect("write");
    let spec = DatasetSpec::resolve(dir.path(), Some("t")).expect("resolve");
    let report = validate(&spec).expect("validate");
    assert_eq!(report.rows_published, 9, "Köln has nine Stadtbezirke");
    let bbox = report.geometry.and_then(|g| g.bbox).expect("bbox");
    assert!(
        bbox[0] > 6.7 && bbox[2] < 7.2 && bbox[1] > 50.8 && bbox[3] < 51.1,
        "{bbox:?}"
    );
}

/// The fuzzer's FlatGeobuf and a version 2 file GDAL 3.6 does not read: errors naming the file
/// and what GDAL found wrong, never a panic. Attributes-only FlatGeobuf is a table.
#[test]
fn broken_flatgeobuf_is_refused_with_the_reason() {
    for (name, reason) in [
        (
            "clusterfuzz-minimized-fgb_fuzzer-4642513358553088.fgb",
            "Header failed consistency verification",
        ),
        ("topp_states.fgb", "Unsupported FlatGeobuf version 2"),
    ] {
        let file = shared(&format!("fixtures/flatgeobuf/{name}"));
        let result = std::panic::catch_unwind(|| {
            DatasetSpec::resolve(&file, Some("t")).and_then(|spec| validate(&spec))
        })
        .unwrap_or_else(|_| panic!("{name}: panicked"));
        let msg = result.expect_err(name).to_string();
        assert!(msg.contains(name) && msg.contains(reason), "{msg}");
    }
    let table = shared("fixtures/flatgeobuf/countries_nogeo.fgb");
    let report = validate(&DatasetSpec::resolve(&table, Some("t")).expect("resolve")).expect("ok");
    assert_eq!(report.rows_published, 179);
    assert!(report.geometry.is_none());
}
