//! Spatial joins (issue 5): the BKG districts (VG2500 Kreise, 400 polygons, ingested from the
//! Shapefile in UTM 32N) against random points over Germany. The join must run through the
//! R-tree (`SpatialJoinExec` in `EXPLAIN`) and count, per district, what geo's own
//! point-in-polygon test (`Contains`, independent of the join's edge index) counts here.

mod common;

use std::collections::BTreeMap;
use std::fs;

use arrow::array::AsArray;
use common::{engine, publish, publish_points, random_points, rows, shared, text};
use geo::{BoundingRect, Contains, Geometry, Point};
use geozero::ToGeo;

const POINTS: usize = 20_000;
const GERMANY: (f64, f64, f64, f64) = (5.8, 47.2, 15.1, 55.1);

/// Publishes `kreise` and `punkte`; returns the engine, the data dirs and the points.
async fn setup() -> (
    allmende_query::QueryEngine,
    tempfile::TempDir,
    Vec<(f64, f64)>,
) {
    let root = tempfile::tempdir().expect("root");
    let dir = tempfile::tempdir().expect("dir");
    for ext in ["shp", "shx", "dbf", "prj", "cpg"] {
        fs::copy(
            shared(&format!("maps/bkg_vg2500_utm32_shp/VG2500_KRS.{ext}")),
            dir.path().join(format!("VG2500_KRS.{ext}")),
        )
        .expect("copy shapefile");
    }
    fs::write(
        dir.path().join("dataset.toml"),
        "title = \"Kreise\"\npublisher = \"BKG\"\n",
    )
    .expect("toml");
    publish(dir.path(), root.path(), "kreise");
    let (csv, points) = random_points(0x5eed_cafe, POINTS, GERMANY);
    publish_points(root.path(), "punkte", &csv);
    (engine(root.path()).await, root, points)
}

/// Points per district (`AGS`) counted with geo's `Contains`, district geometries read back
/// from the published GeoParquet through the engine.
async fn reference(
    engine: &allmende_query::QueryEngine,
    points: &[(f64, f64)],
    keep: impl Fn(usize) -> bool,
) -> BTreeMap<String, usize> {
    let (_, batches, _) = engine
        .collect("SELECT \"AGS\", geometry FROM kreise", 1000)
        .await
        .expect("districts");
    let mut districts = Vec::new();
    for b in &batches {
        let ags =
            arrow::compute::cast(b.column(0), &arrow::datatypes::DataType::Utf8).expect("ags");
        let ags = ags.as_string::<i32>();
        let geometry = b.column(1);
        let wkb = arrow::compute::cast(geometry, &arrow::datatypes::DataType::Binary).expect("wkb");
        let wkb = wkb.as_binary::<i32>();
        for r in 0..b.num_rows() {
            let g: Geometry<f64> = geozero::wkb::Wkb(wkb.value(r)).to_geo().expect("wkb");
            let rect = g.bounding_rect().expect("not empty");
            districts.push((ags.value(r).to_string(), g, rect));
        }
    }
    assert_eq!(districts.len(), 400, "VG2500 has 400 Kreise");
    let mut counts = BTreeMap::new();
    for (i, &(x, y)) in points.iter().enumerate() {
        if !keep(i) {
            continue;
        }
        let p = Point::new(x, y);
        for (ags, g, rect) in &districts {
            if rect.contains(&p) && g.contains(&p) {
                *counts.entry(ags.clone()).or_insert(0) += 1;
            }
        }
    }
    counts
}

fn counts(rows: Vec<Vec<String>>) -> BTreeMap<String, usize> {
    rows.into_iter()
        .map(|r| (r[0].clone(), r[1].parse().expect("count")))
        .collect()
}

#[tokio::test]
async fn point_in_polygon_join_uses_the_rtree_and_counts_like_geo() {
    let (engine, _root, points) = setup().await;
    let expected = reference(&engine, &points, |_| true).await;
    assert!(
        expected.len() > 300 && expected.values().sum::<usize>() > POINTS / 3,
        "points should fall in most districts: {} districts, {} points",
        expected.len(),
        expected.values().sum::<usize>()
    );

    // JOIN … ON, WHERE with a comma join, and the predicate with its arguments swapped.
    for query in [
        "SELECT k.\"AGS\", count(*) FROM kreise k JOIN punkte p \
         ON ST_Contains(k.geometry, p.geometry) GROUP BY 1",
        "SELECT k.\"AGS\", count(*) FROM punkte p, kreise k \
         WHERE ST_Intersects(p.geometry, k.geometry) GROUP BY 1",
        "SELECT k.\"AGS\", count(*) FROM punkte p JOIN kreise k \
         ON ST_Within(p.geometry, k.geometry) GROUP BY 1",
    ] {
        let plan = text(&engine, &format!("EXPLAIN {query}")).await;
        assert!(
            plan.contains("SpatialJoinExec") && plan.contains("R-tree"),
            "{query}\n{plan}"
        );
        assert!(!plan.contains("NestedLoopJoinExec"), "{query}\n{plan}");
        assert_eq!(counts(rows(&engine, query).await), expected, "{query}");
    }
}

#[tokio::test]
async fn other_join_conditions_apply_to_the_spatial_matches() {
    let (engine, _root, points) = setup().await;
    let expected = reference(&engine, &points, |i| i % 3 == 0).await;
    let query = "SELECT k.\"AGS\", count(*) FROM kreise k JOIN punkte p \
                 ON ST_Contains(k.geometry, p.geometry) AND p.id % 3 = 0 GROUP BY 1";
    let plan = text(&engine, &format!("EXPLAIN {query}")).await;
    assert!(plan.contains("SpatialJoinExec"), "{plan}");
    assert_eq!(counts(rows(&engine, query).await), expected);
}

#[tokio::test]
async fn analyze_reports_candidate_pairs_far_below_the_cross_product() {
    let (engine, _root, _points) = setup().await;
    let plan = text(
        &engine,
        "EXPLAIN ANALYZE SELECT count(*) FROM kreise k JOIN punkte p \
         ON ST_Intersects(k.geometry, p.geometry)",
    )
    .await;
    println!("{plan}");
    // Shown like `candidate_pairs=24.76 K`.
    let at = plan.find("candidate_pairs=").expect("metric") + "candidate_pairs=".len();
    let mut words = plan[at..].split([' ', ',', ']']);
    let number: f64 = words.next().expect("number").parse().expect("number");
    let candidates = match words.next() {
        Some("K") => number * 1e3,
        Some("M") => number * 1e6,
        _ => number,
    } as usize;
    // Every point meets a few district boxes at most; the cross product is 400 × POINTS.
    assert!(
        candidates > 0 && candidates < 10 * POINTS,
        "{candidates}\n{plan}"
    );
}
