//! The DataFusion plan of an items request: the collection's table read in file order, then
//! `bbox`, `datetime` and `filter` as filter expressions (pushed into the Parquet scan by the
//! optimizer), `sortby`, `offset`/`limit`, and the projection of `properties` with the
//! geometry reprojected to `crs` by `ST_Transform`.

use allmende_query::QueryEngine;
use allmende_query::datafusion::arrow::array::{Array, AsArray};
use allmende_query::datafusion::arrow::datatypes::{DataType, Int64Type};
use allmende_query::datafusion::common::{Column, ScalarValue};
use allmende_query::datafusion::functions_aggregate::expr_fn::count;
use allmende_query::datafusion::prelude::{DataFrame, Expr, lit};

use super::collections::Collection;
use super::cql2;
use super::crs::Supported;
use super::params::{Instant, Interval, Params};
use crate::error::ApiError;

fn column(name: &str) -> Expr {
    Expr::Column(Column::new_unqualified(name))
}

/// A DataFusion error while building a plan from validated input: the input still did not
/// fit (a type mismatch the checks missed), so the client's to fix.
fn plan_error(e: impl std::fmt::Display) -> ApiError {
    ApiError::bad_request(format!("the request cannot be planned: {e}"))
}

/// The collection's table.
pub async fn table(engine: &QueryEngine, c: &Collection<'_>) -> Result<DataFrame, ApiError> {
    engine
        .ordered_table(&c.table)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no collection '{}'", c.id())))
}

/// The table with the request's `bbox`, `datetime` and `filter` applied.
pub fn filtered(
    engine: &QueryEngine,
    c: &Collection<'_>,
    mut df: DataFrame,
    params: &Params,
) -> Result<DataFrame, ApiError> {
    if let Some(b) = params.bbox()? {
        let expr = bbox_filter(engine, c, &df, b)?;
        df = df.filter(expr).map_err(plan_error)?;
    }
    // `datetime` is checked always; on a collection without a date or time column it then
    // selects everything, as in pygeoapi (its features have no temporal extent to test).
    if let Some(interval) = params.datetime()?
        && let Some(time) = c.time_column()
    {
        let field = df
            .schema()
            .field_with_unqualified_name(&time.name)
            .map_err(ApiError::internal)?;
        let t = field.data_type().clone();
        df = df
            .filter(interval_filter(&time.name, &t, &interval)?)
            .map_err(plan_error)?;
    }
    if let Some(filter) = params.get("filter") {
        let lang = params.get("filter-lang").unwrap_or("cql2-text");
        let node = cql2::parse(filter, lang).map_err(|e| ApiError::bad_request(e.to_string()))?;
        let cx = cql2::Context {
            schema: df.schema(),
            engine,
            crs: params.crs("filter-crs")?,
        };
        let expr = cql2::to_expr(&node, &cx).map_err(|e| ApiError::bad_request(e.to_string()))?;
        df = df.filter(expr).map_err(plan_error)?;
    } else if params.get("filter-lang").is_some() || params.get("filter-crs").is_some() {
        return Err(ApiError::bad_request(
            "filter-lang and filter-crs need a filter",
        ));
    }
    for column in c.filter_properties() {
        let Some(value) = params.get(&column.name) else {
            continue;
        };
        let node = cql2::Node::Compare(
            cql2::Comparison::Eq,
            cql2::Operand::Property(column.name.clone()),
            cql2::Operand::Text(value.to_owned()),
        );
        let cx = cql2::Context {
            schema: df.schema(),
            engine,
            crs: super::crs::Supported::CRS84,
        };
        let expr = cql2::to_expr(&node, &cx)
            .map_err(|e| ApiError::bad_request(format!("{}: {e}", column.name)))?;
        df = df.filter(expr).map_err(plan_error)?;
    }
    Ok(df)
}

/// `bbox` as a cheap test of the `bbox` covering column (when the file has one) followed by
/// `ST_Intersects` with the box's polygon.
pub(super) fn bbox_filter(
    engine: &QueryEngine,
    c: &Collection<'_>,
    df: &DataFrame,
    ring: Vec<(f64, f64)>,
) -> Result<Expr, ApiError> {
    let intersects = engine
        .udf("st_intersects")
        .ok_or_else(|| ApiError::internal("st_intersects is not registered"))?;
    let b = super::crs::envelope(&ring);
    let mut polygon = vec![1u8, 3, 0, 0, 0, 1, 0, 0, 0];
    polygon.extend_from_slice(&(ring.len() as u32).to_le_bytes());
    for &(x, y) in &ring {
        polygon.extend_from_slice(&x.to_le_bytes());
        polygon.extend_from_slice(&y.to_le_bytes());
    }
    let exact = intersects.call(vec![
        column(c.geometry_column()),
        lit(ScalarValue::Binary(Some(polygon))),
    ]);
    let covering = df
        .schema()
        .field_with_unqualified_name("bbox")
        .is_ok_and(|f| matches!(f.data_type(), DataType::Struct(_)));
    if !covering {
        return Ok(exact);
    }
    use allmende_query::datafusion::functions::core::expr_ext::FieldAccessor;
    let part = |name: &str| column("bbox").field(name);
    let boxes_meet = part("xmin")
        .lt_eq(lit(b[2]))
        .and(part("xmax").gt_eq(lit(b[0])))
        .and(part("ymin").lt_eq(lit(b[3])))
        .and(part("ymax").gt_eq(lit(b[1])));
    // A point's box is the point: for a box in lon/lat (the ring is its envelope) over a
    // dataset of points only, the covering test is already exact.
    let only_points = c
        .version
        .geometry
        .as_ref()
        .is_some_and(|g| !g.types.is_empty() && g.types.iter().all(|t| t == "Point"));
    if only_points && is_envelope(&ring, b) {
        return Ok(boxes_meet);
    }
    Ok(boxes_meet.and(exact))
}

/// Whether a closed ring is exactly the rectangle `b` (`[xmin, ymin, xmax, ymax]`).
fn is_envelope(ring: &[(f64, f64)], b: [f64; 4]) -> bool {
    ring.len() == 5
        && ring.first() == ring.last()
        && ring
            .iter()
            .all(|&(x, y)| (x == b[0] || x == b[2]) && (y == b[1] || y == b[3]))
}

/// A literal instant in the type of a date or time column.
fn instant_literal(i: &Instant, t: &DataType) -> Result<Expr, ApiError> {
    let text = match (i, t) {
        (Instant::Timestamp(ts), DataType::Date32 | DataType::Date64) => {
            ts.date_naive().to_string()
        }
        (Instant::Date(d), _) => d.to_string(),
        (Instant::Timestamp(ts), _) => ts.to_rfc3339(),
    };
    ScalarValue::Utf8(Some(text))
        .cast_to(t)
        .map(lit)
        .map_err(ApiError::internal)
}

/// `datetime` on a column: an instant matches its day (dates) or moment; an interval
/// includes its ends, and an end given as a date includes that whole day.
fn interval_filter(name: &str, t: &DataType, i: &Interval) -> Result<Expr, ApiError> {
    let mut expr = lit(true);
    let is_date_column = matches!(t, DataType::Date32 | DataType::Date64);
    if let Some(s) = &i.start {
        expr = expr.and(column(name).gt_eq(instant_literal(s, t)?));
    }
    if let Some(e) = &i.end {
        expr = match e {
            Instant::Date(d) if !is_date_column => {
                let next = d.succ_opt().unwrap_or(*d);
                expr.and(column(name).lt(instant_literal(&Instant::Date(next), t)?))
            }
            _ => expr.and(column(name).lt_eq(instant_literal(e, t)?)),
        };
    }
    Ok(expr)
}

/// `sortby=+a,-b`: validated column names, then the id column so that pages are stable.
pub fn sorted(
    c: &Collection<'_>,
    id_column: Option<&str>,
    df: DataFrame,
    params: &Params,
) -> Result<DataFrame, ApiError> {
    let Some(text) = params.get("sortby") else {
        return Ok(df);
    };
    let mut keys = Vec::new();
    for part in text.split(',').map(str::trim) {
        let (ascending, name) = match part.as_bytes().first() {
            Some(b'-') => (false, &part[1..]),
            Some(b'+') => (true, &part[1..]),
            _ => (true, part),
        };
        if name.is_empty()
            || df.schema().field_with_unqualified_name(name).is_err()
            || name == c.geometry_column()
            || name == "bbox"
        {
            return Err(ApiError::bad_request(format!(
                "sortby: '{name}' is not a sortable property (see /queryables)"
            )));
        }
        keys.push(column(name).sort(ascending, false));
    }
    if let Some(id) = id_column {
        keys.push(column(id).sort(true, false));
    }
    df.sort(keys).map_err(plan_error)
}

/// The columns to return: `properties` (validated) or all, the id column when there is one,
/// and the geometry, in the output CRS.
pub fn projected(
    engine: &QueryEngine,
    c: &Collection<'_>,
    id_column: Option<&str>,
    df: DataFrame,
    params: &Params,
    crs: Supported,
) -> Result<(DataFrame, bool), ApiError> {
    let geometry = c.geometry_column();
    let all: Vec<String> = df
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .filter(|n| n != geometry && n != "bbox")
        .collect();
    let mut wanted: Vec<String> = match params.get("properties") {
        None => all.clone(),
        Some(list) => {
            let mut names = Vec::new();
            for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
                if !all.iter().any(|a| a == name) {
                    return Err(ApiError::bad_request(format!(
                        "properties: unknown property '{name}' (see /queryables)"
                    )));
                }
                names.push(name.to_owned());
            }
            names
        }
    };
    let mut id_hidden = false;
    if let Some(id) = id_column
        && !wanted.iter().any(|w| w == id)
    {
        wanted.push(id.to_owned());
        id_hidden = true;
    }
    let mut exprs: Vec<Expr> = wanted.iter().map(|n| column(n)).collect();
    let geometry_expr = if crs.projected() {
        let transform = engine
            .udf("st_transform")
            .ok_or_else(|| ApiError::internal("st_transform is not registered"))?;
        let code = crs
            .epsg
            .map_or("EPSG:4326".to_owned(), |c| format!("EPSG:{c}"));
        transform.call(vec![column(geometry), lit(code)])
    } else {
        column(geometry)
    };
    exprs.push(geometry_expr.alias("geometry"));
    Ok((df.select(exprs).map_err(plan_error)?, id_hidden))
}

/// The number of rows a plan gives, counted by the engine under its limits (and remembered).
pub async fn count_rows(engine: &QueryEngine, df: DataFrame) -> Result<u64, ApiError> {
    let df = df
        .aggregate(vec![], vec![count(lit(1)).alias("n")])
        .map_err(plan_error)?;
    // Cached per plan: paging through one request counts its matches once.
    let mut n = 0;
    for batch in engine.collect_frame_cached(df).await? {
        if batch.num_rows() > 0 {
            let column = batch.column(0);
            if let Some(values) = column.as_primitive_opt::<Int64Type>()
                && !values.is_null(0)
            {
                n = values.value(0).max(0) as u64;
            }
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use allmende_catalog::Catalog;
    use allmende_ingest::{DatasetSpec, IngestOptions, ingest};
    use allmende_query::datafusion::physical_plan::displayable;
    use allmende_query::{Limits, build_session};

    use super::*;

    /// The physical plan of an items request on the Karlsruhe districts.
    async fn physical_plan(query: &str) -> String {
        let root = tempfile::tempdir().expect("tempdir");
        let folder =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../datasets/wahlbezirke-karlsruhe");
        let spec = DatasetSpec::resolve(&folder, None).expect("resolve");
        ingest(&spec, root.path(), IngestOptions::default()).expect("ingest");
        let catalog = Catalog::open(root.path()).expect("catalog");
        let engine = build_session(&catalog, Limits::default())
            .await
            .expect("engine");
        let c = Collection::find_in(&catalog, "wahlbezirke-karlsruhe").expect("collection");
        let params = Params::parse(Some(query), super::super::items::ITEMS_PARAMS).expect("params");
        let df = table(&engine, &c).await.expect("table");
        let df = filtered(&engine, &c, df, &params).expect("filtered");
        let df = df.limit(5, Some(7)).expect("limit");
        let plan = df.create_physical_plan().await.expect("plan");
        displayable(plan.as_ref()).indent(true).to_string()
    }

    #[tokio::test]
    async fn filters_and_limits_are_in_the_scan_not_after_it() {
        let plan = physical_plan(
            "bbox=8.3,49.0,8.4,49.05&filter=Wahlkreisnummer%20%3D%2027%20AND%20S_INTERSECTS(geometry,%20POINT(8.4%2049.01))",
        )
        .await;
        // The Parquet scan gets the predicate (row-group pruning on statistics), reads one
        // partition in file order and stops after offset + limit rows.
        let scan = plan
            .lines()
            .find(|l| l.contains("DataSourceExec"))
            .unwrap_or_else(|| panic!("no scan in\n{plan}"));
        assert!(scan.contains("predicate="), "{plan}");
        assert!(scan.contains("Wahlkreisnummer"), "{plan}");
        assert!(scan.contains("st_intersects"), "{plan}");
        assert!(
            plan.contains("skip=5, fetch=7") || plan.contains("fetch=12"),
            "{plan}"
        );
        assert!(!plan.contains("RepartitionExec"), "{plan}");
    }
}
