//! `SpatialJoinExec`: an inner join on a spatial predicate through an R-tree over the build
//! (left) side's bounding boxes. The left input is collected once (under the memory pool) and
//! parsed into shapes; every batch of the right input is probed row by row: the R-tree gives
//! the rows whose boxes meet, the exact predicate decides, and any other join conditions are
//! evaluated on the matched pairs only.

use std::fmt::Formatter;
use std::sync::Arc;

use arrow::array::{ArrayRef, AsArray, RecordBatch, RecordBatchOptions, UInt32Array};
use arrow::compute::{concat_batches, filter, take};
use arrow::datatypes::SchemaRef;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{JoinSide, JoinType, Result, internal_err};
use datafusion::error::DataFusionError;
use datafusion::execution::memory_pool::{MemoryConsumer, MemoryReservation};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_plan::joins::NestedLoopJoinExec;
use datafusion::physical_plan::joins::utils::JoinFilter;
use datafusion::physical_plan::metrics::{
    BaselineMetrics, Count, ExecutionPlanMetricsSet, MetricBuilder, MetricsSet,
};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, Distribution, ExecutionPlan, ExecutionPlanProperties,
    PlanProperties, ReplaceChildrenOptions,
};
use futures::{StreamExt, TryStreamExt};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{AABB, RTree};

use super::predicate::Predicate;
use super::shape::Shape;
use crate::spatial::WkbColumn;

/// Which columns carry the geometries and how the predicate reads them.
#[derive(Debug, Clone)]
pub(super) struct SpatialCondition {
    pub predicate: Predicate,
    /// Geometry column in the left input's schema.
    pub left_geometry: usize,
    /// Geometry column in the right input's schema.
    pub right_geometry: usize,
    /// Whether the predicate's first argument is the left side's geometry.
    pub left_first: bool,
    /// The join filter's other conjuncts, over the filter's intermediate schema.
    pub residual: Option<Arc<dyn PhysicalExpr>>,
}

type Entry = GeomWithData<Rectangle<[f64; 2]>, u32>;

/// The collected left input, its shapes and their R-tree.
struct BuildSide {
    batch: RecordBatch,
    shapes: Vec<Option<Shape>>,
    rtree: RTree<Entry>,
    _reservation: MemoryReservation,
}

#[derive(Debug)]
pub(crate) struct SpatialJoinExec {
    left: Arc<dyn ExecutionPlan>,
    right: Arc<dyn ExecutionPlan>,
    filter: JoinFilter,
    projection: Option<Vec<usize>>,
    condition: SpatialCondition,
    properties: Arc<PlanProperties>,
    build: Arc<tokio::sync::OnceCell<Arc<BuildSide>>>,
    metrics: ExecutionPlanMetricsSet,
}

impl std::fmt::Debug for BuildSide {
    fn fmt(&self, f: &mut Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BuildSide")
            .field("rows", &self.batch.num_rows())
            .finish_non_exhaustive()
    }
}

impl SpatialJoinExec {
    /// Replaces an inner nested-loop join whose filter has a spatial conjunct; the join's own
    /// properties (schema, partitioning of the right side) carry over unchanged.
    pub(super) fn new(
        join: &NestedLoopJoinExec,
        filter: JoinFilter,
        condition: SpatialCondition,
    ) -> SpatialJoinExec {
        SpatialJoinExec {
            left: Arc::clone(join.left()),
            right: Arc::clone(join.right()),
            filter,
            projection: join.projection().as_ref().map(|p| p.to_vec()),
            condition,
            properties: Arc::clone(join.properties()),
            build: Arc::default(),
            metrics: ExecutionPlanMetricsSet::new(),
        }
    }

    fn column_name(plan: &Arc<dyn ExecutionPlan>, index: usize) -> String {
        plan.schema().field(index).name().clone()
    }
}

impl DisplayAs for SpatialJoinExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut Formatter) -> std::fmt::Result {
        let c = &self.condition;
        let left = format!("left.{}", Self::column_name(&self.left, c.left_geometry));
        let right = format!("right.{}", Self::column_name(&self.right, c.right_geometry));
        let (a, b) = if c.left_first {
            (left, right)
        } else {
            (right, left)
        };
        write!(
            f,
            "SpatialJoinExec: join_type=Inner, predicate={}({a}, {b}), index=R-tree over left (build side) bounding boxes",
            c.predicate.name()
        )?;
        if let Some(residual) = &c.residual {
            write!(f, ", residual_filter={residual}")?;
        }
        if let Some(projection) = &self.projection {
            write!(f, ", projection={projection:?}")?;
        }
        Ok(())
    }
}

impl ExecutionPlan for SpatialJoinExec {
    fn name(&self) -> &str {
        "SpatialJoinExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn required_input_distribution(&self) -> Vec<Distribution> {
        vec![
            Distribution::SinglePartition,
            Distribution::UnspecifiedDistribution,
        ]
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.left, &self.right]
    }

    fn apply_expressions(
        &self,
        f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        f(self.filter.expression())
    }

    fn replace_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
        _options: ReplaceChildrenOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let [left, right]: [Arc<dyn ExecutionPlan>; 2] = children
            .try_into()
            .map_err(|_| DataFusionError::Internal("SpatialJoinExec has two children".into()))?;
        // Properties follow from the children exactly as for the nested-loop join replaced.
        let join = NestedLoopJoinExec::try_new(
            left,
            right,
            Some(self.filter.clone()),
            &JoinType::Inner,
            self.projection.clone(),
        )?;
        Ok(Arc::new(SpatialJoinExec::new(
            &join,
            self.filter.clone(),
            self.condition.clone(),
        )))
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
        if self.left.output_partitioning().partition_count() != 1 {
            return internal_err!("SpatialJoinExec needs a single-partition left input");
        }
        let probe = self.right.execute(partition, Arc::clone(&context))?;
        let (once, left) = (Arc::clone(&self.build), Arc::clone(&self.left));
        let geometry = self.condition.left_geometry;
        let prober = Arc::new(Prober {
            condition: self.condition.clone(),
            filter: self.filter.clone(),
            projection: self.projection.clone(),
            left_columns: self.left.schema().fields().len(),
            schema: self.schema(),
            baseline: BaselineMetrics::new(&self.metrics, partition),
            candidates: MetricBuilder::new(&self.metrics).counter("candidate_pairs", partition),
        });
        let stream = futures::stream::once(async move {
            let build = once
                .get_or_try_init(|| collect_build_side(left, context, geometry))
                .await
                .cloned()?;
            Ok::<_, DataFusionError>(
                probe.and_then(move |batch| futures::future::ready(prober.probe(&build, &batch))),
            )
        })
        .try_flatten();
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            self.schema(),
            stream,
        )))
    }

    fn metrics(&self) -> Option<MetricsSet> {
        Some(self.metrics.clone_inner())
    }
}

/// Collects the left input, parses its geometries and bulk-loads the R-tree.
async fn collect_build_side(
    left: Arc<dyn ExecutionPlan>,
    context: Arc<TaskContext>,
    geometry: usize,
) -> Result<Arc<BuildSide>> {
    let reservation = MemoryConsumer::new("SpatialJoinExec[build]").register(context.memory_pool());
    let schema = left.schema();
    let mut stream = left.execute(0, context)?;
    let mut batches = Vec::new();
    while let Some(batch) = stream.next().await {
        let batch = batch?;
        reservation.try_grow(batch.get_array_memory_size())?;
        batches.push(batch);
    }
    let batch = concat_batches(&schema, &batches)?;
    drop(batches);
    let column = WkbColumn::new(
        "spatial join",
        batch.column(geometry),
        schema.field(geometry),
    )?;
    let mut shapes = Vec::with_capacity(batch.num_rows());
    let mut entries = Vec::new();
    for row in 0..batch.num_rows() {
        let shape = match column.bytes(row) {
            None => None,
            Some(bytes) => Shape::from_wkb(bytes)
                .map_err(|e| invalid_wkb("left", schema.field(geometry).name(), row, &e))?
                .map(Shape::with_edges),
        };
        if let Some(s) = &shape {
            let (min, max) = (s.rect.min(), s.rect.max());
            entries.push(Entry::new(
                Rectangle::from_corners([min.x, min.y], [max.x, max.y]),
                row as u32,
            ));
            // The parsed shape and its edge index, roughly three times its WKB.
            reservation.try_grow(3 * column.bytes(row).map_or(0, <[u8]>::len))?;
        }
        shapes.push(shape);
    }
    Ok(Arc::new(BuildSide {
        batch,
        shapes,
        rtree: RTree::bulk_load(entries),
        _reservation: reservation,
    }))
}

fn invalid_wkb(side: &str, column: &str, row: usize, error: &str) -> DataFusionError {
    DataFusionError::Execution(format!(
        "spatial join: invalid geometry in {side} column {column}, row {row}: {error}"
    ))
}

/// What every partition needs to probe its batches.
struct Prober {
    condition: SpatialCondition,
    filter: JoinFilter,
    projection: Option<Vec<usize>>,
    left_columns: usize,
    schema: SchemaRef,
    baseline: BaselineMetrics,
    candidates: Count,
}

impl Prober {
    fn probe(&self, build: &BuildSide, batch: &RecordBatch) -> Result<RecordBatch> {
        let timer = self.baseline.elapsed_compute().timer();
        let c = &self.condition;
        let field = batch.schema_ref().field(c.right_geometry).clone();
        let column = WkbColumn::new("spatial join", batch.column(c.right_geometry), &field)?;
        let (mut left_rows, mut right_rows) = (Vec::<u32>::new(), Vec::<u32>::new());
        let mut candidates = 0;
        for row in 0..batch.num_rows() {
            let Some(bytes) = column.bytes(row) else {
                continue;
            };
            let Some(shape) =
                Shape::from_wkb(bytes).map_err(|e| invalid_wkb("right", field.name(), row, &e))?
            else {
                continue;
            };
            let (min, max) = (shape.rect.min(), shape.rect.max());
            let envelope = AABB::from_corners([min.x, min.y], [max.x, max.y]);
            let mut hits = build
                .rtree
                .locate_in_envelope_intersecting(&envelope)
                .peekable();
            if hits.peek().is_none() {
                continue;
            }
            // A probed polygon tested against many build points gets its edge index once.
            let shape = if shape.point().is_none() {
                shape.with_edges()
            } else {
                shape
            };
            for hit in hits {
                candidates += 1;
                let Some(other) = build.shapes[hit.data as usize].as_ref() else {
                    continue;
                };
                let matched = if c.left_first {
                    c.predicate.eval(other, &shape)
                } else {
                    c.predicate.eval(&shape, other)
                };
                if matched {
                    left_rows.push(hit.data);
                    right_rows.push(row as u32);
                }
            }
        }
        self.candidates.add(candidates);
        let (mut left_rows, mut right_rows) =
            (UInt32Array::from(left_rows), UInt32Array::from(right_rows));
        if let Some(residual) = &c.residual {
            let columns = self
                .filter
                .column_indices()
                .iter()
                .map(|ci| match ci.side {
                    JoinSide::Left => take(build.batch.column(ci.index), &left_rows, None),
                    _ => take(batch.column(ci.index), &right_rows, None),
                })
                .collect::<std::result::Result<Vec<ArrayRef>, _>>()?;
            let pairs = RecordBatch::try_new_with_options(
                Arc::clone(self.filter.schema()),
                columns,
                &RecordBatchOptions::new().with_row_count(Some(left_rows.len())),
            )?;
            let mask = residual.evaluate(&pairs)?.into_array(pairs.num_rows())?;
            let mask = mask.as_boolean();
            left_rows = filter(&left_rows, mask)?.as_primitive().clone();
            right_rows = filter(&right_rows, mask)?.as_primitive().clone();
        }
        let all: Vec<usize>;
        let wanted = match &self.projection {
            Some(p) => p.as_slice(),
            None => {
                all = (0..self.left_columns + batch.num_columns()).collect();
                &all
            }
        };
        let columns = wanted
            .iter()
            .map(|&i| {
                if i < self.left_columns {
                    take(build.batch.column(i), &left_rows, None)
                } else {
                    take(batch.column(i - self.left_columns), &right_rows, None)
                }
            })
            .collect::<std::result::Result<Vec<ArrayRef>, _>>()?;
        let out = RecordBatch::try_new_with_options(
            Arc::clone(&self.schema),
            columns,
            &RecordBatchOptions::new().with_row_count(Some(left_rows.len())),
        )?;
        timer.done();
        self.baseline.record_output(out.num_rows());
        Ok(out)
    }
}
