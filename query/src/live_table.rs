//! Tables whose rows live in the server's memory and are read when a query scans them, such as
//! a time series' `<table>__latest` (each station's latest value and warning level). Their
//! results are never cached: a plan that scans a table named `…__latest` is not deterministic
//! (see `result_cache`).

use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use datafusion::catalog::{Session, TableProvider};
use datafusion::datasource::MemTable;
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::{Expr, TableType};
use datafusion::physical_plan::ExecutionPlan;
use futures::future::BoxFuture;

/// The rows of a live table, fetched at each scan; the error is shown to the query's user.
pub type LiveRows = Arc<
    dyn Fn() -> BoxFuture<'static, std::result::Result<Vec<RecordBatch>, String>> + Send + Sync,
>;

/// A table over [`LiveRows`].
pub struct LiveTable {
    schema: SchemaRef,
    rows: LiveRows,
}

impl LiveTable {
    pub fn new(schema: SchemaRef, rows: LiveRows) -> LiveTable {
        LiveTable { schema, rows }
    }
}

impl std::fmt::Debug for LiveTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveTable")
            .field("schema", &self.schema)
            .finish()
    }
}

#[async_trait::async_trait]
impl TableProvider for LiveTable {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Temporary
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let batches = (self.rows)().await.map_err(DataFusionError::Execution)?;
        MemTable::try_new(self.schema.clone(), vec![batches])?
            .scan(state, projection, filters, limit)
            .await
    }
}
