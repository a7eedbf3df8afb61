//! Prompt cancellation of runaway joins.
//!
//! A query is stopped by dropping its task, which tokio can only do when the task yields.
//! DataFusion yields at its leaves and exchanges (tokio's cooperative budget), but a join that
//! has collected its build side can produce output for a very long time without polling
//! either: a cross join emits one batch per build row and probe batch. Cut off by the time
//! limit, such a query kept a core busy for as long as it liked. [`YieldAfterJoins`] puts a
//! `CooperativeExec` above every join, so each output batch spends budget and the task yields
//! (and can be dropped) at least every 128 batches.

use std::sync::Arc;

use datafusion::common::Result;
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TransformedResult, TreeNode};
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::coop::CooperativeExec;

#[derive(Debug, Default)]
pub(crate) struct YieldAfterJoins;

impl PhysicalOptimizerRule for YieldAfterJoins {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        plan.transform_up(|node| {
            if node.name().ends_with("JoinExec") {
                Ok(Transformed::yes(
                    Arc::new(CooperativeExec::new(node)) as Arc<dyn ExecutionPlan>
                ))
            } else {
                Ok(Transformed::no(node))
            }
        })
        .data()
    }

    fn name(&self) -> &str {
        "yield_after_joins"
    }

    fn schema_check(&self) -> bool {
        true
    }
}
