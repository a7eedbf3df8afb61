//! Row-group pruning by the GeoParquet 1.1 bbox covering column.
//!
//! Every spatial GeoParquet file we write has a `bbox` struct column (`xmin`, `ymin`, `xmax`,
//! `ymax`) named in the `geo` metadata as the geometry's covering, and its row groups are in
//! Hilbert order, so each group's statistics on those four leaves describe a small box.
//! DataFusion 55 prunes only on top-level columns (`get_field(bbox, 'xmin') >= 7` and
//! `ST_Intersects(geometry, <box>)` prune nothing), so [`CoveringTable`] wraps the dataset's
//! listing table: it reads the leaves' statistics once, derives bounds from the scan's filters,
//! hands the Parquet reader a `ParquetAccessPlan` that skips the row groups outside them, and
//! puts a `CoveringPruneExec` above the scan that shows in `EXPLAIN` how many it skipped.
//!
//! Filters that give bounds: comparisons of a covering field with a number
//! (`bbox['xmin'] >= 7.1`), and topological predicates (`ST_Intersects`, `ST_Within`,
//! `ST_Contains`, `ST_Covers`, `ST_CoveredBy`, `ST_Touches`, `ST_Equals`) between the geometry
//! column and a constant geometry (`ST_MakeEnvelope(…)`, which planning folds into WKB). The
//! filters themselves are still applied to every row read; pruning only skips reading.

use std::fmt::Formatter;
use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use arrow::datatypes::{DataType, SchemaRef};
use async_trait::async_trait;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::tree_node::{Transformed, TransformedResult, TreeNode, TreeNodeRecursion};
use datafusion::common::{Result, ScalarValue};
use datafusion::config::ConfigOptions;
use datafusion::datasource::TableType;
use datafusion::datasource::physical_plan::parquet::ParquetAccessPlan;
use datafusion::datasource::physical_plan::{FileGroup, FileScanConfig, FileScanConfigBuilder};
use datafusion::datasource::source::DataSourceExec;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::utils::split_conjunction;
use datafusion::logical_expr::{BinaryExpr, Expr, Operator, TableProviderFilterPushDown};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_plan::filter_pushdown::{
    ChildPushdownResult, FilterDescription, FilterPushdownPhase, FilterPushdownPropagation,
};
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties, ReplaceChildrenOptions,
};
use geo::BoundingRect;
use geozero::ToGeo;
use parquet::file::metadata::ParquetMetaDataReader;
use parquet::file::statistics::Statistics;

/// The four covering fields, in this order everywhere below.
const FIELDS: [&str; 4] = ["xmin", "ymin", "xmax", "ymax"];

/// The covering of one file: its column names and each row group's `(min, max)` per field.
struct Covering {
    geometry: String,
    bbox: String,
    row_groups: Vec<[Option<(f64, f64)>; 4]>,
}

/// Names the columns and counts the row groups: the plan's `Debug` text (a cache key of OGC
/// counts, built per request) need not carry every group's statistics.
impl std::fmt::Debug for Covering {
    fn fmt(&self, f: &mut Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Covering")
            .field("geometry", &self.geometry)
            .field("bbox", &self.bbox)
            .field("row_groups", &self.row_groups.len())
            .finish()
    }
}

/// A bound from a filter: covering field `field` (index into [`FIELDS`]) `<=` or `>=` a value.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Bound {
    AtMost(usize, f64),
    AtLeast(usize, f64),
}

impl Covering {
    /// Reads the covering from a GeoParquet file's `geo` metadata and row-group statistics;
    /// `None` when the file has none (a table without geometry) or it cannot be read.
    fn read(path: &Path) -> Option<Covering> {
        let file = File::open(path).ok()?;
        let metadata = ParquetMetaDataReader::new().parse_and_finish(&file).ok()?;
        let kv = metadata.file_metadata().key_value_metadata()?;
        let geo = kv.iter().find(|kv| kv.key == "geo")?.value.as_ref()?;
        let geo: serde_json::Value = serde_json::from_str(geo).ok()?;
        let geometry = geo["primary_column"].as_str()?.to_string();
        let bbox = &geo["columns"][&geometry]["covering"]["bbox"];
        let mut leaves = [0usize; 4];
        let mut bbox_column = None;
        for (n, field) in FIELDS.iter().enumerate() {
            let path: Vec<&str> = bbox[field]
                .as_array()?
                .iter()
                .filter_map(|p| p.as_str())
                .collect();
            let [column, leaf] = path.as_slice() else {
                return None;
            };
            bbox_column = Some(column.to_string());
            leaves[n] = metadata
                .file_metadata()
                .schema_descr()
                .columns()
                .iter()
                .position(|c| c.path().parts() == [column.to_string(), leaf.to_string()])?;
        }
        let row_groups = metadata
            .row_groups()
            .iter()
            .map(|rg| {
                leaves.map(|leaf| match rg.column(leaf).statistics() {
                    Some(Statistics::Double(s)) => Some((*s.min_opt()?, *s.max_opt()?)),
                    Some(Statistics::Float(s)) => {
                        Some((f64::from(*s.min_opt()?), f64::from(*s.max_opt()?)))
                    }
                    _ => None,
                })
            })
            .collect();
        Some(Covering {
            geometry,
            bbox: bbox_column?,
            row_groups,
        })
    }

    /// The bounds the filters put on the covering fields.
    fn bounds(&self, filters: &[Expr]) -> Vec<Bound> {
        let mut bounds = Vec::new();
        for expr in filters.iter().flat_map(split_conjunction) {
            match expr {
                Expr::BinaryExpr(BinaryExpr { left, op, right }) => {
                    if let (Some(field), Some(value)) = (self.field_of(left), number(right)) {
                        push_comparison(&mut bounds, field, *op, value);
                    } else if let (Some(value), Some(field), Some(op)) =
                        (number(left), self.field_of(right), op.swap())
                    {
                        push_comparison(&mut bounds, field, op, value);
                    }
                }
                Expr::ScalarFunction(call) if is_bbox_predicate(call.func.name()) => {
                    if let [a, b] = call.args.as_slice() {
                        let window = match (a, b) {
                            (Expr::Column(c), other) | (other, Expr::Column(c))
                                if c.name == self.geometry =>
                            {
                                literal_rect(other)
                            }
                            _ => None,
                        };
                        if let Some(w) = window {
                            // The boxes intersect: xmin <= w.xmax, ymin <= w.ymax, …
                            bounds.push(Bound::AtMost(0, w.max().x));
                            bounds.push(Bound::AtMost(1, w.max().y));
                            bounds.push(Bound::AtLeast(2, w.min().x));
                            bounds.push(Bound::AtLeast(3, w.min().y));
                        }
                    }
                }
                _ => {}
            }
        }
        bounds
    }

    /// Which covering field an expression reads: `get_field(bbox, 'xmin')` and the like.
    fn field_of(&self, expr: &Expr) -> Option<usize> {
        let Expr::ScalarFunction(call) = expr else {
            return None;
        };
        match (call.func.name(), call.args.as_slice()) {
            (
                "get_field",
                [
                    Expr::Column(c),
                    Expr::Literal(ScalarValue::Utf8(Some(f)), _),
                ],
            ) if c.name == self.bbox => FIELDS.iter().position(|x| x == f),
            _ => None,
        }
    }

    /// Which row groups may hold rows within the bounds.
    fn row_groups_to_read(&self, bounds: &[Bound]) -> Vec<bool> {
        self.row_groups
            .iter()
            .map(|stats| {
                bounds.iter().all(|bound| match *bound {
                    Bound::AtMost(f, v) => stats[f].is_none_or(|(min, _)| min <= v),
                    Bound::AtLeast(f, v) => stats[f].is_none_or(|(_, max)| max >= v),
                })
            })
            .collect()
    }
}

fn push_comparison(bounds: &mut Vec<Bound>, field: usize, op: Operator, value: f64) {
    match op {
        Operator::Lt | Operator::LtEq => bounds.push(Bound::AtMost(field, value)),
        Operator::Gt | Operator::GtEq => bounds.push(Bound::AtLeast(field, value)),
        Operator::Eq => {
            bounds.push(Bound::AtMost(field, value));
            bounds.push(Bound::AtLeast(field, value));
        }
        _ => {}
    }
}

/// Predicates that hold only when the two bounding boxes intersect.
fn is_bbox_predicate(name: &str) -> bool {
    matches!(
        name,
        "st_intersects"
            | "st_within"
            | "st_contains"
            | "st_covers"
            | "st_coveredby"
            | "st_touches"
            | "st_equals"
    )
}

/// A numeric literal as `f64`.
fn number(expr: &Expr) -> Option<f64> {
    let Expr::Literal(value, _) = expr else {
        return None;
    };
    match value.cast_to(&DataType::Float64).ok()? {
        ScalarValue::Float64(Some(v)) if !v.is_nan() => Some(v),
        _ => None,
    }
}

/// The bounding box of a constant WKB geometry.
fn literal_rect(expr: &Expr) -> Option<geo::Rect<f64>> {
    let bytes = match expr {
        Expr::Literal(ScalarValue::Binary(Some(b)), _)
        | Expr::Literal(ScalarValue::LargeBinary(Some(b)), _)
        | Expr::Literal(ScalarValue::BinaryView(Some(b)), _) => b,
        _ => return None,
    };
    geozero::wkb::Wkb(bytes.as_slice())
        .to_geo()
        .ok()?
        .bounding_rect()
}

/// A dataset's table: its listing table, with covering pruning when the file has a covering.
#[derive(Debug)]
pub(crate) struct CoveringTable {
    inner: Arc<dyn TableProvider>,
    covering: Option<Covering>,
}

impl CoveringTable {
    /// Wraps `inner`, the listing table over the single GeoParquet file at `path`.
    pub(crate) fn new(inner: Arc<dyn TableProvider>, path: &Path) -> CoveringTable {
        CoveringTable {
            inner,
            covering: Covering::read(path),
        }
    }
}

#[async_trait]
impl TableProvider for CoveringTable {
    fn schema(&self) -> SchemaRef {
        self.inner.schema()
    }

    fn table_type(&self) -> TableType {
        self.inner.table_type()
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> Result<Vec<TableProviderFilterPushDown>> {
        self.inner.supports_filters_pushdown(filters)
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let plan = self.inner.scan(state, projection, filters, limit).await?;
        let Some(covering) = &self.covering else {
            return Ok(plan);
        };
        let bounds = covering.bounds(filters);
        if bounds.is_empty() {
            return Ok(plan);
        }
        let read = covering.row_groups_to_read(&bounds);
        let access = ParquetAccessPlan::new(
            read.iter()
                .map(|&r| {
                    if r {
                        datafusion::datasource::physical_plan::parquet::RowGroupAccess::Scan
                    } else {
                        datafusion::datasource::physical_plan::parquet::RowGroupAccess::Skip
                    }
                })
                .collect(),
        );
        let plan = plan
            .transform_up(|node| {
                let Some(config) = node
                    .downcast_ref::<DataSourceExec>()
                    .and_then(|d| d.data_source().downcast_ref::<FileScanConfig>())
                else {
                    return Ok(Transformed::no(node));
                };
                let groups = config
                    .file_groups
                    .iter()
                    .map(|group| {
                        FileGroup::new(
                            group
                                .iter()
                                .map(|f| f.clone().with_extension(access.clone()))
                                .collect(),
                        )
                    })
                    .collect();
                let config = FileScanConfigBuilder::from(config.clone())
                    .with_file_groups(groups)
                    .build();
                Ok(Transformed::new(
                    DataSourceExec::from_data_source(config) as Arc<dyn ExecutionPlan>,
                    true,
                    TreeNodeRecursion::Stop,
                ))
            })
            .data()?;
        Ok(Arc::new(CoveringPruneExec {
            properties: Arc::clone(plan.properties()),
            input: plan,
            column: covering.bbox.clone(),
            total: read.len(),
            read: read.iter().filter(|r| **r).count(),
        }))
    }
}

/// Passes its input through; shows in `EXPLAIN` how many row groups the covering skipped.
#[derive(Debug)]
struct CoveringPruneExec {
    input: Arc<dyn ExecutionPlan>,
    properties: Arc<PlanProperties>,
    column: String,
    total: usize,
    read: usize,
}

impl DisplayAs for CoveringPruneExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut Formatter) -> std::fmt::Result {
        write!(
            f,
            "CoveringPruneExec: covering={}, row_groups_pruned_covering={} total → {} matched",
            self.column, self.total, self.read
        )
    }
}

impl ExecutionPlan for CoveringPruneExec {
    fn name(&self) -> &str {
        "CoveringPruneExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn maintains_input_order(&self) -> Vec<bool> {
        vec![true]
    }

    fn supports_limit_pushdown(&self) -> bool {
        true
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn replace_children(
        self: Arc<Self>,
        mut children: Vec<Arc<dyn ExecutionPlan>>,
        _options: ReplaceChildrenOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let input = children.swap_remove(0);
        Ok(Arc::new(CoveringPruneExec {
            properties: Arc::clone(input.properties()),
            input,
            column: self.column.clone(),
            total: self.total,
            read: self.read,
        }))
    }

    #[allow(deprecated)]
    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        self.replace_children(
            children,
            ReplaceChildrenOptions::new(
                datafusion::physical_plan::ChildrenPropertiesMode::Recompute,
            ),
        )
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        self.input.execute(partition, context)
    }

    fn gather_filters_for_pushdown(
        &self,
        _phase: FilterPushdownPhase,
        parent_filters: Vec<Arc<dyn PhysicalExpr>>,
        _config: &ConfigOptions,
    ) -> Result<FilterDescription> {
        FilterDescription::from_children(parent_filters, &self.children())
    }

    fn handle_child_pushdown_result(
        &self,
        _phase: FilterPushdownPhase,
        child_pushdown_result: ChildPushdownResult,
        _config: &ConfigOptions,
    ) -> Result<FilterPushdownPropagation<Arc<dyn ExecutionPlan>>> {
        Ok(FilterPushdownPropagation::if_all(child_pushdown_result))
    }
}
