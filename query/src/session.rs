//! The DataFusion session: built once per catalogue snapshot, shared by all requests.

use std::sync::Arc;
use std::time::Duration;

use allmende_catalog::{Catalog, Format, table_name};
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::execution::disk_manager::DiskManagerBuilder;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::prelude::{
    DataFrame, ParquetReadOptions, SQLOptions, SessionConfig, SessionContext,
};
use datafusion::sql::parser::{DFParser, Statement as DfStatement};
use datafusion::sql::sqlparser::ast::Statement;
use futures::StreamExt;

use crate::error::{QueryError, Result};

/// Resource limits of public queries.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Memory all running queries may hold together.
    pub memory_bytes: usize,
    /// Disk for spilling sorts and joins.
    pub spill_bytes: u64,
    /// Wall-clock time one query may take, including streaming its result.
    pub timeout: Duration,
    /// Rows a JSON result returns before it is cut (`truncated: true`).
    pub max_json_rows: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_bytes: 512 * 1024 * 1024,
            spill_bytes: 1024 * 1024 * 1024,
            timeout: Duration::from_secs(30),
            max_json_rows: 10_000,
        }
    }
}

/// The shared, read-only query engine.
pub struct QueryEngine {
    ctx: SessionContext,
    limits: Limits,
}

impl std::fmt::Debug for QueryEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueryEngine")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

/// Builds the engine: every dataset's latest GeoParquet as a table named after its id
/// (`-` → `_`), geodatafusion's `ST_*` functions, the memory pool and the spill limit.
pub async fn build_session(catalog: &Catalog, limits: Limits) -> Result<QueryEngine> {
    let runtime = RuntimeEnvBuilder::new()
        .with_memory_limit(limits.memory_bytes, 1.0)
        .with_disk_manager_builder(
            DiskManagerBuilder::default().with_max_temp_directory_size(limits.spill_bytes),
        )
        .build_arc()?;
    let config = SessionConfig::new()
        .with_information_schema(true)
        .with_target_partitions(2);
    let ctx = SessionContext::new_with_config_rt(config, runtime);
    geodatafusion::register(&ctx);
    for manifest in catalog.datasets() {
        let Some(version) = manifest.latest() else {
            continue;
        };
        let path = catalog.file_path(&manifest.id, version.number, Format::Parquet);
        ctx.register_parquet(
            table_name(&manifest.id),
            path.to_string_lossy().as_ref(),
            ParquetReadOptions::default(),
        )
        .await
        .map_err(|e| QueryError::Registration {
            id: manifest.id.clone(),
            message: e.to_string(),
        })?;
    }
    Ok(QueryEngine { ctx, limits })
}

impl QueryEngine {
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Plans one read-only statement. Everything but a single `SELECT`/`WITH`/`VALUES` query
    /// (or `EXPLAIN` of one) is refused: DDL, DML, `COPY`, `SET`, several statements.
    pub async fn plan(&self, sql: &str) -> Result<DataFrame> {
        let mut statements =
            DFParser::parse_sql(sql).map_err(|e| QueryError::Invalid(e.to_string()))?;
        if statements.len() != 1 {
            return Err(QueryError::NotReadOnly(format!(
                "exactly one SQL statement is allowed, found {}",
                statements.len()
            )));
        }
        let statement = statements
            .pop_front()
            .ok_or_else(|| QueryError::Invalid("empty query".into()))?;
        let allowed = match &statement {
            DfStatement::Statement(s) => matches!(**s, Statement::Query(_)),
            DfStatement::Explain(e) => {
                matches!(&*e.statement, DfStatement::Statement(s) if matches!(**s, Statement::Query(_)))
            }
            _ => false,
        };
        if !allowed {
            let kind = statement
                .to_string()
                .split_whitespace()
                .take(2)
                .collect::<Vec<_>>()
                .join(" ");
            return Err(QueryError::NotReadOnly(format!(
                "only read-only queries (SELECT, WITH, VALUES, EXPLAIN) are allowed, not {kind} …"
            )));
        }
        let state = self.ctx.state();
        let plan = state.statement_to_plan(statement).await?;
        SQLOptions::new()
            .with_allow_ddl(false)
            .with_allow_dml(false)
            .with_allow_statements(false)
            .verify_plan(&plan)
            .map_err(|e| QueryError::NotReadOnly(e.to_string()))?;
        Ok(DataFrame::new(state, plan))
    }

    /// Runs a query and collects at most `max_rows` rows; the flag says whether more existed.
    pub async fn collect(
        &self,
        sql: &str,
        max_rows: usize,
    ) -> Result<(SchemaRef, Vec<RecordBatch>, bool)> {
        let timeout = self.limits.timeout;
        let work = async {
            let df = self.plan(sql).await?;
            // One row more than returned tells whether the result was cut.
            let df = df.limit(0, Some(max_rows + 1))?;
            let schema: SchemaRef = Arc::new(df.schema().as_arrow().clone());
            let mut stream = df.execute_stream().await?;
            let mut batches = Vec::new();
            let mut rows = 0;
            let mut truncated = false;
            while let Some(batch) = stream.next().await {
                let batch = batch?;
                let take = batch.num_rows().min(max_rows - rows);
                if take < batch.num_rows() {
                    truncated = true;
                }
                if take > 0 {
                    batches.push(batch.slice(0, take));
                }
                rows += take;
                if truncated {
                    break;
                }
            }
            Ok((schema, batches, truncated))
        };
        tokio::time::timeout(timeout, work)
            .await
            .map_err(|_| QueryError::Timeout(timeout.as_secs()))?
    }

    /// Starts a query whose whole result is streamed (CSV, Parquet downloads of a query).
    /// The stream ends with a [`QueryError::Timeout`] error when the time limit passes.
    pub async fn stream(
        &self,
        sql: &str,
    ) -> Result<(
        SchemaRef,
        futures::stream::BoxStream<'static, Result<RecordBatch>>,
    )> {
        let deadline = tokio::time::Instant::now() + self.limits.timeout;
        let secs = self.limits.timeout.as_secs();
        let df = tokio::time::timeout_at(deadline, self.plan(sql))
            .await
            .map_err(|_| QueryError::Timeout(secs))??;
        let schema: SchemaRef = Arc::new(df.schema().as_arrow().clone());
        let stream: SendableRecordBatchStream =
            tokio::time::timeout_at(deadline, df.execute_stream())
                .await
                .map_err(|_| QueryError::Timeout(secs))??;
        let stream = futures::stream::unfold((stream, false), move |(mut s, done)| async move {
            if done {
                return None;
            }
            match tokio::time::timeout_at(deadline, s.next()).await {
                Err(_) => Some((Err(QueryError::Timeout(secs)), (s, true))),
                Ok(None) => None,
                Ok(Some(Ok(batch))) => Some((Ok(batch), (s, false))),
                Ok(Some(Err(e))) => Some((Err(QueryError::from(e)), (s, true))),
            }
        });
        Ok((schema, stream.boxed()))
    }
}
