//! Spatial joins through an R-tree instead of a nested loop.
//!
//! DataFusion plans `a JOIN b ON ST_Intersects(a.geometry, b.geometry)` (or the same in
//! `WHERE`) as a `NestedLoopJoinExec`: every pair of rows is tested, 400 districts × 1 M points
//! = 400 M predicate calls. [`SpatialJoinRule`] runs after DataFusion's physical optimizer and
//! replaces such an inner join, when one conjunct of its filter is a topological predicate
//! (`ST_Intersects`, `ST_Contains`, `ST_Within`, `ST_Covers`, `ST_CoveredBy`, `ST_Touches`,
//! `ST_Equals`) on one geometry column of each side, by a `SpatialJoinExec` (module `exec`),
//! which `EXPLAIN` shows. Other join types and predicates stay nested loops.

mod exec;
mod predicate;
mod shape;

use std::sync::Arc;

use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TransformedResult, TreeNode};
use datafusion::common::{JoinSide, JoinType, Result};
use datafusion::physical_expr::ScalarFunctionExpr;
use datafusion::physical_expr::expressions::Column;
use datafusion::physical_expr::utils::{conjunction_opt, split_conjunction};
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::joins::NestedLoopJoinExec;
use datafusion::physical_plan::joins::utils::JoinFilter;

use exec::{SpatialCondition, SpatialJoinExec};
use predicate::Predicate;

/// The physical optimizer rule; see the module docs.
#[derive(Debug, Default)]
pub(crate) struct SpatialJoinRule;

impl PhysicalOptimizerRule for SpatialJoinRule {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        plan.transform_up(|node| {
            let Some(join) = node.downcast_ref::<NestedLoopJoinExec>() else {
                return Ok(Transformed::no(node));
            };
            match spatial_condition(join) {
                Some((filter, condition)) => Ok(Transformed::yes(Arc::new(SpatialJoinExec::new(
                    join, filter, condition,
                ))
                    as Arc<dyn ExecutionPlan>)),
                None => Ok(Transformed::no(node)),
            }
        })
        .data()
    }

    fn name(&self) -> &str {
        "spatial_join"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// The join's spatial conjunct, if it is an inner join with one on a column of each side.
fn spatial_condition(join: &NestedLoopJoinExec) -> Option<(JoinFilter, SpatialCondition)> {
    if *join.join_type() != JoinType::Inner {
        return None;
    }
    let filter = join.filter()?;
    let conjuncts = split_conjunction(filter.expression());
    let (position, predicate, sides) = conjuncts.iter().enumerate().find_map(|(n, expr)| {
        let call = expr.downcast_ref::<ScalarFunctionExpr>()?;
        let predicate = Predicate::of_function(call.name())?;
        let [a, b] = call.args() else {
            return None;
        };
        let side = |arg: &Arc<dyn datafusion::physical_expr::PhysicalExpr>| {
            let column = arg.downcast_ref::<Column>()?;
            let index = filter.column_indices().get(column.index())?;
            Some((index.side, index.index))
        };
        Some((n, predicate, (side(a)?, side(b)?)))
    })?;
    let ((first_side, first), (second_side, second)) = sides;
    let (left_first, left_geometry, right_geometry) = match (first_side, second_side) {
        (JoinSide::Left, JoinSide::Right) => (true, first, second),
        (JoinSide::Right, JoinSide::Left) => (false, second, first),
        _ => return None,
    };
    let residual = conjunction_opt(
        conjuncts
            .iter()
            .enumerate()
            .filter(|(n, _)| *n != position)
            .map(|(_, e)| Arc::clone(e)),
    );
    Some((
        filter.clone(),
        SpatialCondition {
            predicate,
            left_geometry,
            right_geometry,
            left_first,
            residual,
        },
    ))
}
