//! The CLI on temp data roots: bad input gets a clear error, loses nothing, and leaves the
//! published version untouched; ingests are reproducible; `sql` prints a table.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

use crate::{allmende, demo, repo, scratch, sha256_hex};

const KONTENRAHMEN: &str = "../shared/datasets/budgets/wesel_kontenrahmen_latin1.csv";

fn run(args: &[&str], data: &Path) -> Output {
    allmende()
        .args(args)
        .arg("--data")
        .arg(data)
        .output()
        .expect("run allmende")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Hashes of every file of a version folder.
fn version_files(data: &Path, id: &str, n: u32) -> Vec<(String, String)> {
    let dir = data.join("datasets").join(id).join(format!("v{n}"));
    let mut files: Vec<(String, String)> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| {
            let p = e.expect("entry").path();
            (
                p.file_name().expect("name").to_string_lossy().into_owned(),
                sha256_hex(&fs::read(&p).expect("read")),
            )
        })
        .collect();
    files.sort();
    files
}

fn manifest(data: &Path, id: &str) -> serde_json::Value {
    serde_json::from_slice(
        &fs::read(data.join("datasets").join(id).join("manifest.json")).expect("manifest"),
    )
    .expect("json")
}

fn kontenrahmen() -> PathBuf {
    let p = repo().join(KONTENRAHMEN);
    assert!(p.is_file(), "{} is part of ../shared/datasets", p.display());
    p
}

#[test]
fn a_ragged_row_is_rejected_with_its_line_and_the_published_version_stays() {
    let work = scratch("cli-ragged");
    let data = work.join("data");
    let source = work.join("konten.csv");
    fs::copy(kontenrahmen(), &source).expect("copy");
    let first = run(
        &["ingest", source.to_str().expect("path"), "--id", "konten"],
        &data,
    );
    assert!(first.status.success(), "{}", text(&first));
    let before = version_files(&data, "konten", 1);
    let manifest_before = fs::read(data.join("datasets/konten/manifest.json")).expect("manifest");

    // Break line 5: drop its last two fields.
    let bytes = fs::read(&source).expect("read");
    let mut lines: Vec<Vec<u8>> = bytes.split(|&b| b == b'\n').map(<[u8]>::to_vec).collect();
    let broken = &mut lines[4];
    for _ in 0..2 {
        let cut = broken.iter().rposition(|&b| b == b';').expect("a field");
        broken.truncate(cut);
    }
    fs::write(&source, lines.join(&b'\n')).expect("write");

    let second = run(
        &["ingest", source.to_str().expect("path"), "--id", "konten"],
        &data,
    );
    assert_eq!(second.status.code(), Some(1), "{}", text(&second));
    let out = text(&second);
    assert!(
        out.contains("konten.csv: line 5") && out.contains("expected 7 fields, found 5"),
        "{out}"
    );
    assert!(out.contains("nothing published"), "{out}");

    // The published version is untouched and still the latest.
    assert_eq!(version_files(&data, "konten", 1), before);
    assert_eq!(
        fs::read(data.join("datasets/konten/manifest.json")).expect("manifest"),
        manifest_before
    );
    // The readable rows and the report are kept for the steward.
    let held = data.join("datasets/konten/unpublished-v2");
    let report: serde_json::Value =
        serde_json::from_slice(&fs::read(held.join("report.json")).expect("report")).expect("json");
    assert_eq!(report["published"], false);
    assert_eq!(report["rows_published"], 48);
    assert_eq!(report["rejected"][0]["line"], 5);
    assert!(held.join("data.parquet").is_file());

    // Accepting the rejects publishes version 2 with the 48 good rows.
    let third = run(
        &[
            "ingest",
            source.to_str().expect("path"),
            "--id",
            "konten",
            "--accept-rejects",
        ],
        &data,
    );
    assert!(third.status.success(), "{}", text(&third));
    let m = manifest(&data, "konten");
    assert_eq!(m["versions"][1]["number"], 2);
    assert_eq!(m["versions"][1]["row_count"], 48);
    assert_eq!(m["versions"][1]["rejected_rows"], 1);
    assert_eq!(version_files(&data, "konten", 1), before);
}

#[test]
fn a_file_in_an_unknown_encoding_is_refused_and_publishes_nothing() {
    let work = scratch("cli-encoding");
    let data = work.join("data");
    // UTF-16 without a byte order mark, as some exports write it.
    let source = work.join("utf16.csv");
    let utf16: Vec<u8> = "Name;Wert\nKöln;1\n"
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    fs::write(&source, utf16).expect("write");
    let out = run(&["ingest", source.to_str().expect("path")], &data);
    assert_eq!(out.status.code(), Some(1));
    let msg = text(&out);
    assert!(
        msg.contains("utf16.csv") && msg.contains("unknown encoding") && msg.contains("line 1"),
        "{msg}"
    );
    assert!(!data.join("datasets/utf16/manifest.json").exists());
    assert!(
        !data.join("datasets/utf16/v1").exists(),
        "no half-written version"
    );
}

#[test]
fn a_geojson_that_is_not_geojson_names_line_and_column() {
    let work = scratch("cli-geojson");
    let data = work.join("data");
    let source = work.join("kaputt.geojson");
    fs::write(&source, "{\"type\": \"FeatureCollection\",\n \"features\": [\n  {\"type\": \"Feature\", \"geometry\": null,, }\n]}\n").expect("write");
    let out = run(&["ingest", source.to_str().expect("path")], &data);
    assert_eq!(out.status.code(), Some(1));
    let msg = text(&out);
    assert!(msg.contains("kaputt.geojson:3:"), "{msg}");
    assert!(msg.contains("not GeoJSON"), "{msg}");

    let csv_as_geojson = work.join("table.geojson");
    fs::write(&csv_as_geojson, "a;b\n1;2\n").expect("write");
    let out = run(&["ingest", csv_as_geojson.to_str().expect("path")], &data);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("table.geojson:1:"), "{}", text(&out));
}

#[test]
fn ingesting_twice_is_reproducible() {
    let work = scratch("cli-twice");
    let data = work.join("data");
    let input = repo().join("datasets/wahlbezirke-karlsruhe");
    let input = input.to_str().expect("path");
    assert!(run(&["ingest", input], &data).status.success());
    let again = run(&["ingest", input], &data);
    assert!(again.status.success());
    assert!(text(&again).contains("unchanged"), "{}", text(&again));
    let forced = run(&["ingest", input, "--force"], &data);
    assert!(forced.status.success(), "{}", text(&forced));
    let mut v1 = version_files(&data, "wahlbezirke-karlsruhe", 1);
    let mut v2 = version_files(&data, "wahlbezirke-karlsruhe", 2);
    // The reports name their version; every data file is byte-identical.
    v1.retain(|(n, _)| n != "report.json");
    v2.retain(|(n, _)| n != "report.json");
    assert_eq!(v1, v2);
    assert_eq!(v1.len(), 4);
}

#[test]
fn validate_reports_and_writes_nothing() {
    let work = scratch("cli-validate");
    let out = allmende()
        .current_dir(&work)
        .arg("validate")
        .arg(repo().join("datasets/haushalt-wesel-2017"))
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", text(&out));
    let msg = text(&out);
    assert!(
        msg.contains("windows-1252") && msg.contains("5972 rows, 0 rejected"),
        "{msg}"
    );
    assert!(msg.contains("German notation"), "{msg}");
    assert_eq!(fs::read_dir(&work).expect("dir").count(), 0);
}

#[test]
fn sql_prints_a_table() {
    let data = &demo().data;
    let out = run(
        &[
            "sql",
            r#"SELECT "Name", "Informationsstufe 3" FROM pegel_nrw_stationen WHERE "Name" = 'Ahlen'"#,
        ],
        data,
    );
    assert!(out.status.success(), "{}", text(&out));
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("| Name  | Informationsstufe 3 |"), "{table}");
    assert!(table.contains("| Ahlen | 250.0               |"), "{table}");
    let refused = run(&["sql", "DROP TABLE pegel_nrw_stationen"], data);
    assert_eq!(refused.status.code(), Some(1));
    assert!(text(&refused).contains("read-only"));
    let usage = allmende().arg("sql").output().expect("run");
    assert_eq!(usage.status.code(), Some(2));
}
