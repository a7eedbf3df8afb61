//! `--append` on the LANUV daily gauge values: the 2013 rows first, then the whole file as a
//! batch. Expected counts come from the raw CSV lines, counted here without our reader.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::Path;

use allmende_catalog::Catalog;
use allmende_ingest::{DatasetSpec, IngestError, IngestOptions, Outcome, ingest};

use super::shared;

const TOML: &str = r#"
title = "Pegel Tageswerte"
key = ["Name", "Datum"]
[source]
path = "batch.csv"
null = ["999.999"]
"#;

fn append() -> IngestOptions {
    IngestOptions {
        append: true,
        ..IngestOptions::default()
    }
}

/// Writes `lines` (after the header) as the dataset's batch file and ingests it.
fn ingest_lines(
    dir: &Path,
    root: &Path,
    header: &str,
    lines: &[&str],
    options: IngestOptions,
) -> Outcome {
    let mut text = format!("{header}\n");
    for l in lines {
        text.push_str(l);
        text.push('\n');
    }
    fs::write(dir.join("batch.csv"), text).expect("write batch");
    let spec = DatasetSpec::resolve(dir, Some("pegel")).expect("resolve");
    ingest(&spec, root, options).expect("ingest")
}

#[test]
fn append_adds_new_keys_skips_repeats_and_keeps_corrections() {
    let raw = fs::read_to_string(shared("sensors/lanuv_nrw_gauge_values_daily_2013ff.csv"))
        .expect("LANUV values");
    let mut lines = raw.lines();
    let header = lines.next().expect("header");
    assert_eq!(header, "Name,Datum,Minimum,Maximum,Mittelwert");
    let rows: Vec<&str> = lines.collect();
    let key = |l: &str| {
        let mut f = l.split(',');
        (
            f.next().unwrap_or("").to_owned(),
            f.next().unwrap_or("").to_owned(),
        )
    };
    let first: Vec<&str> = rows
        .iter()
        .copied()
        .filter(|l| key(l).1.starts_with("2013"))
        .collect();
    let first_keys: HashSet<_> = first.iter().map(|l| key(l)).collect();
    assert_eq!(
        first_keys.len(),
        first.len(),
        "the 2013 rows have unique keys"
    );
    let all_keys: HashSet<_> = rows.iter().map(|l| key(l)).collect();
    assert!(
        all_keys.len() > first_keys.len() + 10_000,
        "2014 brings many new days"
    );

    let dir = tempfile::tempdir().expect("tempdir");
    let root = tempfile::tempdir().expect("root");
    fs::write(dir.path().join("dataset.toml"), TOML).expect("toml");
    match ingest_lines(
        dir.path(),
        root.path(),
        header,
        &first,
        IngestOptions::default(),
    ) {
        Outcome::Published {
            version: 1, report, ..
        } => {
            assert_eq!(report.rows_published, first.len() as u64)
        }
        other => panic!("first ingest: {other:?}"),
    }

    // The whole file, with one 2013 reading corrected and one 2014 reading sent twice.
    let corrected = first[100];
    let (name, date) = key(corrected);
    let fixed = format!("{name},{date},1,2,1234.5");
    let mut batch: Vec<&str> = rows.iter().copied().filter(|l| *l != corrected).collect();
    batch.push(&fixed);
    let repeated = *rows
        .iter()
        .find(|l| key(l).1.starts_with("2014"))
        .expect("a 2014 row");
    batch.push(repeated);
    let added = (all_keys.len() - first_keys.len()) as u64;
    match ingest_lines(dir.path(), root.path(), header, &batch, append()) {
        Outcome::Published {
            version: 2,
            report,
            manifest,
        } => {
            let a = report.append.expect("append report");
            assert_eq!(a.rows_before, first.len() as u64);
            assert_eq!(a.rows_added, added);
            assert_eq!(a.rows_changed, 1);
            // The 2013 rows sent again (less the corrected one), the 2014 row we repeated, and
            // the keys the LANUV file itself has twice (2014-04-09 of 197 gauges).
            let in_file = (rows.len() - all_keys.len()) as u64;
            assert_eq!(in_file, 197, "python's csv module counts 197 repeated keys");
            assert_eq!(a.rows_duplicate, (first.len() as u64 - 1) + 1 + in_file);
            assert_eq!(report.rows_published, all_keys.len() as u64);
            let v2 = manifest.latest().expect("v2");
            assert_eq!(v2.row_count, all_keys.len() as u64);
            let changes = v2.changes.as_ref().expect("changes");
            assert_eq!(
                (
                    changes.previous,
                    changes.rows_added,
                    changes.rows_changed,
                    changes.rows_removed
                ),
                (1, added, 1, 0)
            );
        }
        other => panic!("append: {other:?}"),
    }

    // The published CSV has every key once and the corrected value.
    let catalog = Catalog::open(root.path()).expect("catalog");
    let csv = catalog.file_path("pegel", 2, allmende_catalog::Format::Csv);
    let published = fs::read_to_string(&csv).expect("csv download");
    let mut seen: HashMap<(String, String), String> = HashMap::new();
    for line in published.lines().skip(1) {
        let k = key(line);
        assert!(seen.insert(k, line.to_owned()).is_none(), "{line} twice");
    }
    assert_eq!(seen.len(), all_keys.len());
    let row = &seen[&(name.clone(), date.clone())];
    assert!(row.ends_with(",1234.5"), "corrected row: {row}");

    // The same batch again changes nothing.
    match ingest_lines(dir.path(), root.path(), header, &batch, append()) {
        Outcome::Unchanged { version: 2 } => {}
        other => panic!("re-append: {other:?}"),
    }
}

/// Publishes one Ahlen reading with `toml`, then appends the CSV text `batch`: the error.
fn append_error(toml: &str, batch: &str) -> (IngestError, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = tempfile::tempdir().expect("root");
    fs::write(dir.path().join("dataset.toml"), toml).expect("toml");
    ingest_lines(
        dir.path(),
        root.path(),
        "Name,Datum,Minimum,Maximum,Mittelwert",
        &["Ahlen,2013-01-01,52.0,62.0,55.53"],
        IngestOptions::default(),
    );
    fs::write(dir.path().join("batch.csv"), batch).expect("batch");
    let spec = DatasetSpec::resolve(dir.path(), Some("pegel")).expect("resolve");
    let err = ingest(&spec, root.path(), append()).expect_err("append refused");
    (err, root)
}

#[test]
fn append_without_a_key_says_what_to_add() {
    let (err, _root) = append_error(
        &TOML.replace("key = [\"Name\", \"Datum\"]\n", ""),
        "Name,Datum,Minimum,Maximum,Mittelwert\nAhlen,2013-01-02,53.0,60.0,54.89\n",
    );
    assert!(err.to_string().contains("key = ["), "{err}");
}

#[test]
fn append_refuses_a_column_the_published_version_lacks() {
    let (err, root) = append_error(
        TOML,
        "Name,Datum,Minimum,Maximum,Mittelwert,Qualitaet\nAhlen,2013-01-02,53.0,60.0,54.89,gut\n",
    );
    assert!(
        err.to_string().contains("'Qualitaet' is not in version 1"),
        "{err}"
    );
    // Nothing new was published.
    let catalog = Catalog::open(root.path()).expect("catalog");
    assert_eq!(catalog.get("pegel").expect("pegel").versions.len(), 1);
}
