//! The catalogue through SQL: `datasets`, `columns`, `versions` and `<table>__v<n>`, over a data
//! root built by ingesting the LANUV gauge readings twice. Row counts are counted here from the
//! raw lines.

mod common;

use std::fs;
use std::path::Path;

use allmende_catalog::{Catalog, Format};
use allmende_ingest::{DatasetSpec, IngestOptions, Outcome, ingest};
use allmende_query::{Limits, QueryEngine, build_session};
use common::{rows, shared};

fn publish(dir: &Path, root: &Path, id: &str, header: &str, rows: &[&str]) {
    fs::write(
        dir.join("dataset.toml"),
        "title = \"Pegel NRW\"\npublisher = \"LANUV\"\nkeywords = [\"Pegel\", \"Wasser\"]\n",
    )
    .expect("toml");
    fs::write(
        dir.join("data.csv"),
        format!("{header}\n{}\n", rows.join("\n")),
    )
    .expect("csv");
    let spec = DatasetSpec::resolve(dir, Some(id)).expect("resolve");
    match ingest(&spec, root, IngestOptions::default()).expect("ingest") {
        Outcome::Published { .. } => {}
        other => panic!("not published: {other:?}"),
    }
}

async fn one(engine: &QueryEngine, sql: &str) -> String {
    let rows = rows(engine, sql).await;
    assert_eq!(rows.len(), 1, "{sql}: {rows:?}");
    rows[0][0].clone()
}

#[tokio::test]
async fn catalogue_tables_and_old_versions_are_queryable() {
    let raw = fs::read_to_string(shared("sensors/lanuv_nrw_gauge_values_daily_2013ff.csv"))
        .expect("LANUV values");
    let mut lines = raw.lines();
    let header = lines.next().expect("header");
    let data: Vec<&str> = lines.take(250).collect();
    let (first, second) = (&data[..100], &data[..250]);
    let (dir, root) = (
        tempfile::tempdir().expect("dir"),
        tempfile::tempdir().expect("root"),
    );
    publish(dir.path(), root.path(), "pegel-nrw", header, first);
    publish(dir.path(), root.path(), "pegel-nrw", header, second);

    let catalog = Catalog::open(root.path()).expect("catalog");
    let engine = build_session(&catalog, Limits::default())
        .await
        .expect("engine");
    assert_eq!(one(&engine, "SELECT count(*) FROM datasets").await, "1");
    assert_eq!(
        rows(
            &engine,
            "SELECT id, table_name, title, publisher, keywords, latest_version, row_count \
             FROM catalog.datasets"
        )
        .await,
        vec![vec![
            "pegel-nrw",
            "pegel_nrw",
            "Pegel NRW",
            "LANUV",
            "Pegel, Wasser",
            "2",
            "250"
        ]]
    );
    // The columns of the latest version, in the source's order.
    let columns = rows(
        &engine,
        "SELECT name, type, null_count FROM columns \
         WHERE table_name = 'pegel_nrw' AND version = 2",
    )
    .await;
    let names: Vec<&str> = columns.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(names, header.split(',').collect::<Vec<_>>());
    assert_eq!(columns[1][1], "date", "{columns:?}");
    assert_eq!(
        one(&engine, "SELECT count(*) FROM catalog.columns").await,
        "10",
        "five columns in each of two versions"
    );
    assert_eq!(
        rows(
            &engine,
            "SELECT version, row_count, rejected_rows, rows_added, version_table, \
                    parquet_sha256 IS NOT NULL, csv_sha256 IS NOT NULL \
             FROM versions WHERE dataset_id = 'pegel-nrw' ORDER BY version"
        )
        .await,
        vec![
            vec!["1", "100", "0", "", "pegel_nrw__v1", "true", "true"],
            vec!["2", "250", "0", "150", "pegel_nrw__v2", "true", "true"],
        ]
    );
    assert_eq!(
        one(&engine, "SELECT count(*) FROM pegel_nrw__v1").await,
        "100"
    );
    assert_eq!(
        one(&engine, "SELECT count(*) FROM pegel_nrw__v2").await,
        "250"
    );
    assert_eq!(one(&engine, "SELECT count(*) FROM pegel_nrw").await, "250");
    // Old and new side by side.
    assert_eq!(
        one(
            &engine,
            "SELECT count(*) FROM pegel_nrw n LEFT JOIN pegel_nrw__v1 o \
             ON n.\"Name\" = o.\"Name\" AND n.\"Datum\" = o.\"Datum\" WHERE o.\"Name\" IS NULL"
        )
        .await,
        "150"
    );
    assert!(
        engine
            .collect("SELECT * FROM pegel_nrw__v3", 1)
            .await
            .is_err()
    );

    // Version tables are listed without being opened: with version 1's file gone, the session
    // still builds and lists it; only a query naming it fails.
    fs::remove_file(catalog.file_path("pegel-nrw", 1, Format::Parquet)).expect("remove v1");
    let engine = build_session(&catalog, Limits::default())
        .await
        .expect("engine without v1's file");
    let listed = rows(
        &engine,
        "SELECT table_name FROM information_schema.tables \
         WHERE table_schema = 'public' ORDER BY table_name",
    )
    .await;
    let listed: Vec<&str> = listed.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(
        listed,
        [
            "columns",
            "datasets",
            "pegel_nrw",
            "pegel_nrw__v1",
            "pegel_nrw__v2",
            "versions"
        ]
    );
    assert!(
        engine
            .collect("SELECT * FROM pegel_nrw__v1", 1)
            .await
            .is_err()
    );
}

/// A dataset whose table is called `datasets` keeps the name; the catalogue table stays
/// reachable as `catalog.datasets`.
#[tokio::test]
async fn a_dataset_wins_a_name_clash_with_a_catalogue_table() {
    let raw = fs::read_to_string(shared("sensors/lanuv_nrw_gauge_values_daily_2013ff.csv"))
        .expect("LANUV values");
    let mut lines = raw.lines();
    let header = lines.next().expect("header");
    let data: Vec<&str> = lines.take(7).collect();
    let (dir, root) = (
        tempfile::tempdir().expect("dir"),
        tempfile::tempdir().expect("root"),
    );
    publish(dir.path(), root.path(), "datasets", header, &data);
    let catalog = Catalog::open(root.path()).expect("catalog");
    let engine = build_session(&catalog, Limits::default())
        .await
        .expect("engine");
    assert_eq!(one(&engine, "SELECT count(*) FROM datasets").await, "7");
    assert_eq!(
        one(&engine, "SELECT count(*) FROM catalog.datasets").await,
        "1"
    );
    assert_eq!(one(&engine, "SELECT count(*) FROM versions").await, "1");
}
