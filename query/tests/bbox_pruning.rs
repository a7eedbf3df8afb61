//! Row-group pruning of spatial datasets (issue 5): 200 000 random points over Germany are
//! ingested (Hilbert order, 8192-row groups) and queries over about 1 % of the area are run
//! with `EXPLAIN ANALYZE`; each count must equal the points inside the box counted here.
//!
//! On the flat `lon`/`lat` columns DataFusion skips row groups by their statistics itself
//! (`row_groups_pruned_statistics`). On the `bbox` covering struct and on spatial predicates it
//! does not (DataFusion 55 prunes top-level columns only); our covering table does
//! (`row_groups_pruned_covering`, module `covering`).

mod common;

use allmende_query::QueryEngine;
use common::{engine, publish_points, random_points, text};

const POINTS: usize = 200_000;
/// Germany's extent, roughly: lon 5.9–15.0, lat 47.3–55.1.
const AREA: (f64, f64, f64, f64) = (5.9, 47.3, 15.0, 55.1);
/// About 1 % of that area (0.91° × 0.78°), around Thuringia.
const BOX: (f64, f64, f64, f64) = (10.5, 50.5, 11.41, 51.28);

/// `(total, matched)` of a pruning metric printed as `name=25 total → 3 matched …`.
fn pruning_metric(plan: &str, name: &str) -> (usize, usize) {
    let key = format!("{name}=");
    let start = plan
        .find(&key)
        .unwrap_or_else(|| panic!("no {name} in:\n{plan}"))
        + key.len();
    let words: Vec<&str> = plan[start..].split_whitespace().take(5).collect();
    assert!(
        words.len() == 5 && words[1] == "total" && words[4].starts_with("matched"),
        "unexpected {name} format: {words:?}"
    );
    let n = |s: &str| s.parse::<usize>().expect("count");
    (n(words[0]), n(words[3]))
}

/// Ingests the points; returns the engine, the temp dir that holds the data, and how many
/// points lie inside [`BOX`].
async fn setup() -> (QueryEngine, tempfile::TempDir, usize) {
    let (csv, points) = random_points(0x9e37_79b9_7f4a_7c15, POINTS, AREA);
    let inside = points
        .iter()
        .filter(|(x, y)| *x >= BOX.0 && *x <= BOX.2 && *y >= BOX.1 && *y <= BOX.3)
        .count();
    assert!(inside > 1000, "box too empty: {inside}");
    let root = tempfile::tempdir().expect("root");
    publish_points(root.path(), "punkte", &csv);
    (engine(root.path()).await, root, inside)
}

/// Runs `query` (a `count(*)`), checks its count, and returns `(total, pruned)` row groups by
/// the metric `metric` of its `EXPLAIN ANALYZE`.
async fn count_and_pruning(
    engine: &QueryEngine,
    query: &str,
    inside: usize,
    metric: &str,
) -> (usize, usize) {
    assert_eq!(
        text(engine, query).await.trim(),
        inside.to_string(),
        "{query}"
    );
    let plan = text(engine, &format!("EXPLAIN ANALYZE {query}")).await;
    let (total, matched) = pruning_metric(&plan, metric);
    assert_eq!(total, POINTS.div_ceil(8192), "row groups:\n{plan}");
    println!("{query}: {} of {total} row groups pruned", total - matched);
    if metric == "row_groups_pruned_covering" {
        // The reader really skipped them: its own statistics pass saw only the rest.
        let (considered, _) = pruning_metric(&plan, "row_groups_pruned_statistics");
        assert_eq!(considered, matched, "{plan}");
    }
    (total, total - matched)
}

#[tokio::test]
async fn small_box_on_point_columns_skips_most_row_groups() {
    let (engine, _root, inside) = setup().await;
    let query = format!(
        "SELECT count(*) FROM punkte WHERE lon >= {} AND lon <= {} AND lat >= {} AND lat <= {}",
        BOX.0, BOX.2, BOX.1, BOX.3
    );
    let (total, pruned) =
        count_and_pruning(&engine, &query, inside, "row_groups_pruned_statistics").await;
    assert!(pruned * 10 > total * 8, "only {pruned} of {total} pruned");
}

#[tokio::test]
async fn small_bbox_query_skips_most_row_groups() {
    let (engine, _root, inside) = setup().await;
    let query = format!(
        "SELECT count(*) FROM punkte WHERE bbox['xmin'] >= {} AND bbox['xmax'] <= {} \
         AND bbox['ymin'] >= {} AND bbox['ymax'] <= {}",
        BOX.0, BOX.2, BOX.1, BOX.3
    );
    let (total, pruned) =
        count_and_pruning(&engine, &query, inside, "row_groups_pruned_covering").await;
    assert!(pruned * 10 > total * 8, "only {pruned} of {total} pruned");
}

#[tokio::test]
async fn spatial_predicate_on_an_envelope_skips_most_row_groups() {
    let (engine, _root, inside) = setup().await;
    let query = format!(
        "SELECT count(*) FROM punkte \
         WHERE ST_Intersects(geometry, ST_MakeEnvelope({}, {}, {}, {}))",
        BOX.0, BOX.1, BOX.2, BOX.3
    );
    let (total, pruned) =
        count_and_pruning(&engine, &query, inside, "row_groups_pruned_covering").await;
    assert!(pruned * 10 > total * 8, "only {pruned} of {total} pruned");
}

#[tokio::test]
async fn a_box_around_everything_skips_nothing() {
    let (engine, _root, _) = setup().await;
    let query = "SELECT count(*) FROM punkte WHERE ST_Intersects(geometry, \
                 ST_MakeEnvelope(0, 40, 20, 60))";
    let (_, pruned) = count_and_pruning(&engine, query, POINTS, "row_groups_pruned_covering").await;
    assert_eq!(pruned, 0);
}
