//! What a new version records about the one before: rows added, removed and changed (by key
//! when dataset.toml declares one), columns added and removed, computed column statistics and
//! the temporal coverage. Expectations are counted here from the raw LANUV lines.

use std::fs;
use std::path::Path;

use allmende_catalog::{Changes, Version};
use allmende_ingest::{DatasetSpec, IngestOptions, Outcome, ingest};

use super::shared;

fn publish(dir: &Path, root: &Path, toml: &str, header: &str, rows: &[String]) -> Version {
    fs::write(dir.join("dataset.toml"), toml).expect("toml");
    fs::write(
        dir.join("data.csv"),
        format!("{header}\n{}\n", rows.join("\n")),
    )
    .expect("csv");
    let spec = DatasetSpec::resolve(dir, Some("pegel")).expect("resolve");
    match ingest(&spec, root, IngestOptions::default()).expect("ingest") {
        Outcome::Published { manifest, .. } => manifest.latest().expect("latest").clone(),
        other => panic!("not published: {other:?}"),
    }
}

/// The first 1000 LANUV rows, then: three removed, one value edited, two new days.
fn edited() -> (String, Vec<String>, Vec<String>) {
    let raw = fs::read_to_string(shared("sensors/lanuv_nrw_gauge_values_daily_2013ff.csv"))
        .expect("LANUV values");
    let mut lines = raw.lines();
    let header = lines.next().expect("header").to_owned();
    let before: Vec<String> = lines.take(1000).map(str::to_owned).collect();
    let mut after: Vec<String> = before[3..].to_vec();
    after[10] = {
        let f: Vec<&str> = after[10].split(',').collect();
        format!("{},{},{},{},777.77", f[0], f[1], f[2], f[3])
    };
    after.push("Neuer Pegel,2013-01-01,1.0,2.0,1.5".into());
    after.push("Neuer Pegel,2013-01-02,1.0,2.0,1.5".into());
    (header, before, after)
}

#[test]
fn a_keyed_reingest_counts_added_removed_and_changed_rows() {
    let (header, before, after) = edited();
    let toml = "title = \"Pegel\"\nkey = [\"Name\", \"Datum\"]\n";
    let (dir, root) = (
        tempfile::tempdir().expect("dir"),
        tempfile::tempdir().expect("root"),
    );
    let v1 = publish(dir.path(), root.path(), toml, &header, &before);
    assert!(
        v1.changes.is_none(),
        "a first version has nothing to compare with"
    );
    let v2 = publish(dir.path(), root.path(), toml, &header, &after);
    assert_eq!(
        v2.changes,
        Some(Changes {
            previous: 1,
            rows_added: 2,
            rows_removed: 3,
            rows_changed: 1,
            ..Changes::default()
        })
    );
}

#[test]
fn without_a_key_an_edit_is_one_row_removed_and_one_added() {
    let (header, before, after) = edited();
    let toml = "title = \"Pegel\"\n";
    let (dir, root) = (
        tempfile::tempdir().expect("dir"),
        tempfile::tempdir().expect("root"),
    );
    publish(dir.path(), root.path(), toml, &header, &before);
    let v2 = publish(dir.path(), root.path(), toml, &header, &after);
    let c = v2.changes.expect("changes");
    assert_eq!((c.rows_added, c.rows_removed, c.rows_changed), (3, 4, 0));
}

#[test]
fn columns_added_and_removed_are_named() {
    let (header, before, _) = edited();
    let toml = "title = \"Pegel\"\n";
    let (dir, root) = (
        tempfile::tempdir().expect("dir"),
        tempfile::tempdir().expect("root"),
    );
    publish(dir.path(), root.path(), toml, &header, &before);
    // Drop "Minimum", add "Quelle".
    let reshaped: Vec<String> = before
        .iter()
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            format!("{},{},{},{},LANUV", f[0], f[1], f[3], f[4])
        })
        .collect();
    let v2 = publish(
        dir.path(),
        root.path(),
        toml,
        "Name,Datum,Maximum,Mittelwert,Quelle",
        &reshaped,
    );
    let c = v2.changes.expect("changes");
    assert_eq!(c.columns_added, ["Quelle"]);
    assert_eq!(c.columns_removed, ["Minimum"]);
    // Compared over the common columns, every row is still there.
    assert_eq!((c.rows_added, c.rows_removed), (0, 0));
}

#[test]
fn versions_carry_column_statistics_and_temporal_coverage() {
    let (header, before, _) = edited();
    let (dir, root) = (
        tempfile::tempdir().expect("dir"),
        tempfile::tempdir().expect("root"),
    );
    let v1 = publish(
        dir.path(),
        root.path(),
        "title = \"Pegel\"\n",
        &header,
        &before,
    );
    let dates: Vec<&str> = before
        .iter()
        .map(|l| l.split(',').nth(1).expect("date"))
        .collect();
    let names: std::collections::HashSet<&str> = before
        .iter()
        .map(|l| l.split(',').next().expect("name"))
        .collect();
    let temporal = v1.temporal.expect("temporal coverage");
    assert_eq!(temporal.start, *dates.iter().min().expect("min"));
    assert_eq!(temporal.end, *dates.iter().max().expect("max"));
    let name = v1.columns.iter().find(|c| c.name == "Name").expect("Name");
    // Few distinct values are counted exactly.
    assert_eq!(name.distinct, Some(names.len() as u64));
    let max = v1
        .columns
        .iter()
        .find(|c| c.name == "Maximum")
        .expect("Maximum");
    let top = before
        .iter()
        .filter_map(|l| l.split(',').nth(3)?.parse::<f64>().ok())
        .fold(f64::MIN, f64::max);
    assert_eq!(
        max.max.as_deref().and_then(|m| m.parse::<f64>().ok()),
        Some(top)
    );
}
