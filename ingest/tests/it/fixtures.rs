//! Every file under `../shared/datasets/fixtures/` goes through ingest: it is published, or it
//! fails with a message naming the file (and, for parse errors, the position). Never a panic,
//! never a half-written version.

use std::fs;
use std::path::{Path, PathBuf};

use allmende_ingest::{DatasetSpec, IngestError, IngestOptions, ingest};

use crate::shared;

/// Sidecar files of a shapefile, read through their `.shp`.
const SIDECARS: &[&str] = &["dbf", "shx", "prj", "cpg"];

/// Fixtures in formats we read that GDAL reads too (MANIFEST.tsv's verification column).
const MUST_PUBLISH: &[(&str, &str)] = &[
    ("shapefile_", ".shp"),
    ("gpkg_pyogrio", ".gpkg"),
    ("csv_", ".csv"),
    #[cfg(feature = "gdal")]
    ("flatgeobuf", ".fgb"),
];

/// GeoPackage curves (CompoundCurve, CurvePolygon, MultiSurface): GeoParquet has no such
/// types, so their features are refused with a message, not published.
const CURVES: &[&str] = &["curve.gpkg", "curvepolygon.gpkg", "multisurface.gpkg"];

/// FlatGeobuf GDAL refuses too (MANIFEST.tsv: "GDAL read FAILED"), and a Triangle, which
/// GeoParquet has no type for either.
const NOT_FOR_US: &[&str] = &[
    "clusterfuzz-minimized-fgb_fuzzer-4642513358553088.fgb",
    "topp_states.fgb",
    "triangle.fgb",
];

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("fixture folder") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            walk(&path, out);
        } else {
            out.push(path);
        }
    }
}

fn is_sidecar(path: &Path) -> bool {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    SIDECARS.contains(&ext.as_str()) && path.with_extension("shp").is_file()
}

#[test]
fn every_fixture_is_published_or_refused_with_its_place() {
    let mut files = Vec::new();
    walk(&shared("fixtures"), &mut files);
    files.sort();
    files.retain(|f| !is_sidecar(f));
    assert!(files.len() > 100, "found only {} fixtures", files.len());
    let (mut published, mut refused) = (0, 0);
    for file in &files {
        let root = tempfile::tempdir().expect("tempdir");
        let name = file
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        let outcome = std::panic::catch_unwind(|| {
            DatasetSpec::resolve(file, Some("t"))
                .and_then(|spec| ingest(&spec, root.path(), IngestOptions::default()))
        });
        let result = outcome.unwrap_or_else(|_| panic!("{}: ingest panicked", file.display()));
        let rel = file
            .strip_prefix(shared("fixtures"))
            .expect("inside")
            .to_string_lossy()
            .into_owned();
        let must_publish = !CURVES
            .iter()
            .chain(NOT_FOR_US)
            .any(|c| rel.ends_with(&format!("/{c}")))
            && MUST_PUBLISH
                .iter()
                .any(|(dir, ext)| rel.starts_with(dir) && rel.ends_with(ext));
        match result {
            Ok(_) => published += 1,
            Err(e) if must_publish => panic!("{rel}: GDAL reads it, but we refused: {e}"),
            Err(e) => {
                refused += 1;
                eprintln!("refused: {e}");
                let message = e.to_string();
                assert!(
                    message.contains(&name),
                    "{}: the error does not name the file: {message}",
                    file.display()
                );
                if let IngestError::Parse { line, .. } = &e {
                    assert!(*line >= 1, "{message}");
                }
                // Nothing half-written: no version directory is visible.
                let versions = root.path().join("datasets/t");
                let visible = fs::read_dir(&versions)
                    .map(|d| {
                        d.filter_map(|e| e.ok())
                            .filter(|e| e.file_name().to_string_lossy().starts_with('v'))
                            .count()
                    })
                    .unwrap_or(0);
                assert_eq!(
                    visible,
                    0,
                    "{}: a version is visible after: {message}",
                    file.display()
                );
            }
        }
    }
    eprintln!("fixtures: {published} published, {refused} refused with a message");
}
