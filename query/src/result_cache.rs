//! Results of recent small queries, kept for the engine's lifetime. An engine serves one
//! catalogue snapshot, whose published files never change, so a deterministic query's result
//! stays right until the next snapshot builds a new engine (and a new, empty cache). Queries
//! with volatile functions (`now()`, `random()`) are never kept.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::logical_expr::{Expr, LogicalPlan};

/// A collected result: schema, batches, and whether rows were cut.
pub(crate) type Collected = Arc<(SchemaRef, Vec<RecordBatch>, bool)>;

/// Results no larger than this are kept.
const MAX_ENTRY_BYTES: usize = 1024 * 1024;
/// All kept results together; the oldest go first.
const MAX_TOTAL_BYTES: usize = 32 * 1024 * 1024;

#[derive(Debug, Default)]
pub(crate) struct ResultCache {
    inner: Mutex<Entries>,
}

#[derive(Debug, Default)]
struct Entries {
    map: HashMap<(String, usize), (Collected, usize)>,
    order: VecDeque<(String, usize)>,
    bytes: usize,
}

impl ResultCache {
    pub fn get(&self, sql: &str, max_rows: usize) -> Option<Collected> {
        let entries = self.inner.lock().ok()?;
        entries
            .map
            .get(&(sql.to_owned(), max_rows))
            .map(|(c, _)| Arc::clone(c))
    }

    /// Keeps a result if it is small enough, dropping the oldest ones to make room.
    pub fn put(&self, sql: &str, max_rows: usize, result: Collected) {
        let size: usize = result
            .1
            .iter()
            .map(RecordBatch::get_array_memory_size)
            .sum();
        if size > MAX_ENTRY_BYTES {
            return;
        }
        let Ok(mut entries) = self.inner.lock() else {
            return;
        };
        let key = (sql.to_owned(), max_rows);
        if entries.map.contains_key(&key) {
            return;
        }
        while entries.bytes + size > MAX_TOTAL_BYTES {
            let Some(old) = entries.order.pop_front() else {
                break;
            };
            if let Some((_, n)) = entries.map.remove(&old) {
                entries.bytes -= n;
            }
        }
        entries.bytes += size;
        entries.order.push_back(key.clone());
        entries.map.insert(key, (result, size));
    }
}

/// Whether a plan's result depends only on the data: no volatile or stable function anywhere,
/// subqueries included, and no live table (`…__latest`, read from memory at each scan).
pub(crate) fn is_deterministic(plan: &LogicalPlan) -> bool {
    let mut deterministic = true;
    let _ = plan.apply_with_subqueries(|node| {
        let live = matches!(node, LogicalPlan::TableScan(scan)
            if scan.table_name.table().ends_with("__latest"));
        if live || node.expressions().iter().any(depends_on_more_than_data) {
            deterministic = false;
            return Ok(TreeNodeRecursion::Stop);
        }
        Ok(TreeNodeRecursion::Continue)
    });
    deterministic
}

/// Whether an expression calls a function that is not immutable: volatile (`random()`) or
/// stable within one query only (`now()`, which planning turns into a constant).
fn depends_on_more_than_data(expr: &Expr) -> bool {
    use datafusion::logical_expr::Volatility;
    expr.exists(|e| {
        Ok(matches!(e, Expr::ScalarFunction(f)
            if f.func.signature().volatility != Volatility::Immutable))
    })
    .unwrap_or(true)
}
