//! Helpers the query tests share: publishing a folder, generating points, reading results.

#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};

use allmende_catalog::Catalog;
use allmende_ingest::{DatasetSpec, IngestOptions, Outcome, ingest};
use allmende_query::{Limits, QueryEngine, build_session};
use arrow::util::display::array_value_to_string;
use futures::StreamExt;

/// A file of `../shared/datasets`.
pub fn shared(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/datasets")
        .join(rel)
}

/// A tiny seeded PRNG (xorshift64*), so the tests need no `rand`.
pub struct Rng(pub u64);

impl Rng {
    /// A float in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// `count` random points in `(xmin, ymin, xmax, ymax)`, rounded to 6 decimals as written to
/// the CSV `id,lon,lat` they are returned with.
pub fn random_points(
    seed: u64,
    count: usize,
    area: (f64, f64, f64, f64),
) -> (String, Vec<(f64, f64)>) {
    use std::fmt::Write as _;
    let mut rng = Rng(seed);
    let mut csv = String::from("id,lon,lat\n");
    let mut points = Vec::with_capacity(count);
    for i in 0..count {
        let lon = format!("{:.6}", area.0 + rng.unit() * (area.2 - area.0));
        let lat = format!("{:.6}", area.1 + rng.unit() * (area.3 - area.1));
        points.push((lon.parse().expect("lon"), lat.parse().expect("lat")));
        writeln!(csv, "{i},{lon},{lat}").expect("write");
    }
    (csv, points)
}

/// Publishes the folder `dir` (with its dataset.toml) as dataset `id` under `root`.
pub fn publish(dir: &Path, root: &Path, id: &str) {
    let spec = DatasetSpec::resolve(dir, Some(id)).expect("resolve");
    match ingest(&spec, root, IngestOptions::default()).expect("ingest") {
        Outcome::Published { .. } => {}
        other => panic!("{id} not published: {other:?}"),
    }
}

/// Publishes a point CSV `id,lon,lat` as dataset `id`.
pub fn publish_points(root: &Path, id: &str, csv: &str) {
    let dir = tempfile::tempdir().expect("dir");
    fs::write(
        dir.path().join("dataset.toml"),
        "title = \"Zufallspunkte\"\npublisher = \"Test\"\n\n[geometry]\nx = \"lon\"\ny = \"lat\"\n",
    )
    .expect("toml");
    fs::write(dir.path().join("points.csv"), csv).expect("csv");
    publish(dir.path(), root, id);
}

/// The engine over everything published under `root`.
pub async fn engine(root: &Path) -> QueryEngine {
    let catalog = Catalog::open(root).expect("catalog");
    build_session(&catalog, Limits::default())
        .await
        .expect("engine")
}

/// All rows of a query, cells as text. Through `stream`, not `collect`: `collect` puts a limit
/// above the plan, and DataFusion refuses an `Analyze` that is not the root.
pub async fn rows(engine: &QueryEngine, sql: &str) -> Vec<Vec<String>> {
    let (_, stream) = engine.stream(sql).await.expect(sql);
    let batches: Vec<_> = stream.collect().await;
    let mut out = Vec::new();
    for b in batches {
        let b = b.expect(sql);
        for r in 0..b.num_rows() {
            out.push(
                b.columns()
                    .iter()
                    .map(|c| array_value_to_string(c, r).expect("display"))
                    .collect(),
            );
        }
    }
    out
}

/// All rows of a query as one text, cells joined by tabs, rows by newlines.
pub async fn text(engine: &QueryEngine, sql: &str) -> String {
    rows(engine, sql)
        .await
        .into_iter()
        .map(|r| r.join("\t") + "\n")
        .collect()
}
