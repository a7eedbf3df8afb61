//! The DataFusion session: built once per catalogue snapshot, shared by all requests.

use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::Duration;

use allmende_catalog::{Catalog, Format, table_name};
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::execution::disk_manager::DiskManagerBuilder;
use datafusion::execution::memory_pool::{GreedyMemoryPool, TrackConsumersPool};
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::execution::session_state::SessionStateBuilder;
use datafusion::logical_expr::{LogicalPlan, ScalarUDF};
use datafusion::prelude::{
    DataFrame, ParquetReadOptions, SQLOptions, SessionConfig, SessionContext,
};
use datafusion::sql::parser::{DFParser, Statement as DfStatement};
use datafusion::sql::sqlparser::ast::Statement;
use futures::StreamExt;
use futures::stream::BoxStream;

use crate::error::{QueryError, Result};
use crate::result_cache::{ResultCache, is_deterministic};
use runtime::{Execution, QueryRuntime};

mod runtime;

/// Resource limits of public queries.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Memory all running queries may hold together; each of the `max_concurrent` queries
    /// gets its own pool of an equal share, so one query cannot take the others' memory.
    pub memory_bytes: usize,
    /// Disk for spilling sorts and joins.
    pub spill_bytes: u64,
    /// Wall-clock time one query may take, including streaming its result.
    pub timeout: Duration,
    /// Rows a JSON result returns before it is cut (`truncated: true`).
    pub max_json_rows: usize,
    /// Queries that may run at once; later ones wait, within their time limit, for a slot.
    pub max_concurrent: usize,
    /// Queries that may wait for a slot; beyond them a query is refused at once
    /// ([`QueryError::Busy`]) instead of holding a connection.
    pub max_queued: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_bytes: 512 * 1024 * 1024,
            spill_bytes: 1024 * 1024 * 1024,
            timeout: Duration::from_secs(10),
            max_json_rows: 10_000,
            max_concurrent: 4,
            max_queued: 64,
        }
    }
}

/// The shared, read-only query engine.
pub struct QueryEngine {
    ctx: SessionContext,
    limits: Limits,
    runtime: QueryRuntime,
    slots: Arc<tokio::sync::Semaphore>,
    /// Queries waiting for a slot now.
    queued: Arc<std::sync::atomic::AtomicUsize>,
    /// Recent small results of `collect`.
    cache: ResultCache,
}

impl std::fmt::Debug for QueryEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueryEngine")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

/// Builds the engine: every dataset's latest GeoParquet as a table named after its id
/// (`-` → `_`), every version as `<table>__v<n>` (opened on first use), the catalogue tables
/// `datasets`, `columns` and `versions` (module `catalog_tables`), geodatafusion's `ST_*`
/// functions and ours (`spatial`), the memory pool and the spill limit.
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
    let state = SessionStateBuilder::new()
        .with_config(config)
        .with_runtime_env(runtime)
        .with_default_features()
        .with_physical_optimizer_rule(Arc::new(crate::spatial_join::SpatialJoinRule))
        .with_physical_optimizer_rule(Arc::new(crate::cancellation::YieldAfterJoins))
        .build();
    let ctx = SessionContext::new_with_state(state);
    geodatafusion::register(&ctx);
    ctx.register_udf(ScalarUDF::from(crate::date_trunc::DateTrunc::new()));
    crate::spatial::register(&ctx);
    crate::catalog_tables::install_version_schema(&ctx, catalog)?;
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
        // The same listing table, with row-group pruning by the bbox covering.
        let name = table_name(&manifest.id);
        if let Some(listing) = ctx.deregister_table(name.as_str())? {
            let table = crate::covering::CoveringTable::new(listing, &path);
            ctx.register_table(name.as_str(), Arc::new(table))?;
        }
    }
    crate::observations::register(&ctx, catalog).await?;
    crate::catalog_tables::register_catalog_tables(&ctx, catalog)?;
    let slots = Arc::new(tokio::sync::Semaphore::new(limits.max_concurrent.max(1)));
    Ok(QueryEngine {
        ctx,
        limits,
        runtime: QueryRuntime::new()?,
        slots,
        queued: Arc::default(),
        cache: ResultCache::default(),
    })
}

impl QueryEngine {
    /// Registers a table whose rows are fetched from memory at each scan (see
    /// [`crate::LiveTable`]); its name should end in `__latest`, which keeps its results out of
    /// the result cache.
    pub fn register_live(
        &self,
        name: &str,
        schema: arrow::datatypes::SchemaRef,
        rows: crate::LiveRows,
    ) -> Result<()> {
        self.ctx
            .register_table(name, Arc::new(crate::LiveTable::new(schema, rows)))?;
        Ok(())
    }

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

    /// Starts executing a planned query on the engine's own runtime. Batches arrive through a
    /// small channel, so a slow reader slows the query instead of filling memory; dropping the
    /// returned stream aborts the query.
    fn execute(
        &self,
        df: DataFrame,
        slot: tokio::sync::OwnedSemaphorePermit,
    ) -> (SchemaRef, Execution) {
        let schema: SchemaRef = Arc::new(df.schema().as_arrow().clone());
        let df = self.with_own_memory_pool(df);
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<RecordBatch>>(2);
        let task = self.runtime.spawn(async move {
            // Held until the task really ends: an aborted query stops only at its next yield.
            let _slot = slot;
            let mut stream: SendableRecordBatchStream = match df.execute_stream().await {
                Ok(s) => s,
                Err(e) => {
                    let _ = tx.send(Err(e.into())).await;
                    return;
                }
            };
            while let Some(batch) = stream.next().await {
                let failed = batch.is_err();
                if tx.send(batch.map_err(QueryError::from)).await.is_err() || failed {
                    break;
                }
            }
        });
        (schema, Execution { rx, task })
    }

    /// Each query's memory share, in bytes.
    pub fn query_memory_bytes(&self) -> usize {
        self.limits.memory_bytes / self.limits.max_concurrent.max(1)
    }

    /// The query with a memory pool of its own (its share of the total), over the shared disk
    /// manager and caches. The pool names the largest consumers when it runs out.
    fn with_own_memory_pool(&self, df: DataFrame) -> DataFrame {
        let (state, plan) = df.into_parts();
        let pool = TrackConsumersPool::new(
            GreedyMemoryPool::new(self.query_memory_bytes()),
            NonZeroUsize::new(3).expect("3 > 0"),
        );
        let runtime = RuntimeEnvBuilder::from_runtime_env(state.runtime_env())
            .with_memory_pool(Arc::new(pool))
            .build_arc();
        match runtime {
            Ok(runtime) => {
                let state = SessionStateBuilder::new_from_existing(state)
                    .with_runtime_env(runtime)
                    .build();
                DataFrame::new(state, plan)
            }
            // Only a misconfigured cache could fail here; the shared pool still bounds it.
            Err(_) => DataFrame::new(state, plan),
        }
    }

    /// Runs a query and collects at most `max_rows` rows; the flag says whether more existed.
    pub async fn collect(
        &self,
        sql: &str,
        max_rows: usize,
    ) -> Result<(SchemaRef, Vec<RecordBatch>, bool)> {
        if let Some(hit) = self.cache.get(sql, max_rows) {
            return Ok(hit.as_ref().clone());
        }
        let (schema, mut stream, deterministic) =
            self.stream_limited(sql, Some(max_rows + 1)).await?;
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
        if deterministic {
            let result = Arc::new((schema, batches, truncated));
            self.cache.put(sql, max_rows, Arc::clone(&result));
            return Ok(result.as_ref().clone());
        }
        Ok((schema, batches, truncated))
    }

    /// Starts a query whose whole result is streamed (CSV results). The stream ends with a
    /// [`QueryError::Timeout`] error when the time limit passes.
    pub async fn stream(
        &self,
        sql: &str,
    ) -> Result<(SchemaRef, BoxStream<'static, Result<RecordBatch>>)> {
        let (schema, stream, _) = self.stream_limited(sql, None).await?;
        Ok((schema, stream))
    }

    /// The query's stream, and whether its result depends only on the data (no volatile or
    /// stable function such as `random()` or `now()`), so that it may be cached.
    async fn stream_limited(
        &self,
        sql: &str,
        limit: Option<usize>,
    ) -> Result<(SchemaRef, BoxStream<'static, Result<RecordBatch>>, bool)> {
        let secs = self.limits.timeout.as_secs();
        let deadline = tokio::time::Instant::now() + self.limits.timeout;
        let df = tokio::time::timeout_at(deadline, self.plan(sql))
            .await
            .map_err(|_| QueryError::Timeout(secs))??;
        // EXPLAIN and EXPLAIN ANALYZE must stay the root of their plan; their output is small.
        let explains = matches!(
            df.logical_plan(),
            LogicalPlan::Explain(_) | LogicalPlan::Analyze(_)
        );
        let df = match limit {
            Some(n) if !explains => df.limit(0, Some(n))?,
            _ => df,
        };
        let deterministic = is_deterministic(df.logical_plan());
        let (schema, stream) = self.stream_until(df, deadline).await?;
        Ok((schema, stream, deterministic))
    }

    /// A dataset's table read by one partition, so rows come in file order and pages of
    /// `offset`/`limit` are stable (OGC API items). `None` when no such table exists.
    pub async fn ordered_table(&self, table: &str) -> Result<Option<DataFrame>> {
        use datafusion::datasource::provider_as_source;
        use datafusion::logical_expr::LogicalPlanBuilder;
        let Some(provider) = self.ctx.table_provider(table).await.ok() else {
            return Ok(None);
        };
        let mut state = self.ctx.state();
        let options = state.config_mut().options_mut();
        options.execution.target_partitions = 1;
        options.optimizer.repartition_file_scans = false;
        let plan = LogicalPlanBuilder::scan(table, provider_as_source(provider), None)?.build()?;
        Ok(Some(DataFrame::new(state, plan)))
    }

    /// A scalar function registered in the session (`st_intersects`, `st_transform`, …).
    pub fn udf(&self, name: &str) -> Option<Arc<datafusion::logical_expr::ScalarUDF>> {
        use datafusion::execution::FunctionRegistry;
        self.ctx.udf(name).ok()
    }

    /// Streams a DataFrame built by the caller under the same limits as SQL: a query slot,
    /// the time limit and the memory pool.
    pub async fn stream_frame(
        &self,
        df: DataFrame,
    ) -> Result<(SchemaRef, BoxStream<'static, Result<RecordBatch>>)> {
        let deadline = tokio::time::Instant::now() + self.limits.timeout;
        self.stream_until(df, deadline).await
    }

    /// Collects a small result of a DataFrame built by the caller (a count, say), under the SQL
    /// limits; a deterministic one is kept in the result cache under its plan, which names the
    /// table of one immutable version, so asking again (the next page of the same OGC request)
    /// costs nothing.
    pub async fn collect_frame_cached(&self, df: DataFrame) -> Result<Vec<RecordBatch>> {
        let key = format!("{:?}", df.logical_plan());
        if let Some(hit) = self.cache.get(&key, 0) {
            return Ok(hit.1.clone());
        }
        let deterministic = is_deterministic(df.logical_plan());
        let (schema, mut stream) = self.stream_frame(df).await?;
        let mut batches = Vec::new();
        while let Some(batch) = stream.next().await {
            batches.push(batch?);
        }
        if deterministic {
            self.cache
                .put(&key, 0, Arc::new((schema, batches.clone(), false)));
        }
        Ok(batches)
    }

    async fn stream_until(
        &self,
        df: DataFrame,
        deadline: tokio::time::Instant,
    ) -> Result<(SchemaRef, BoxStream<'static, Result<RecordBatch>>)> {
        let secs = self.limits.timeout.as_secs();
        let slot = self.slot(deadline).await?;
        let (schema, execution) = self.execute(df, slot);
        let limit_mib = self.query_memory_bytes() / (1024 * 1024);
        let name_limit = move |e: QueryError| match e {
            QueryError::ResourcesExhausted(detail) => QueryError::MemoryLimit { limit_mib, detail },
            other => other,
        };
        let stream = futures::stream::unfold((execution, false), move |(mut e, done)| async move {
            if done {
                return None;
            }
            match tokio::time::timeout_at(deadline, e.rx.recv()).await {
                Err(_) => Some((Err(QueryError::Timeout(secs)), (e, true))),
                Ok(None) => None,
                Ok(Some(Ok(batch))) => Some((Ok(batch), (e, false))),
                Ok(Some(Err(err))) => Some((Err(name_limit(err)), (e, true))),
            }
        });
        Ok((schema, stream.boxed()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn engine() -> QueryEngine {
        let empty = tempfile::tempdir().expect("tempdir");
        let catalog = Catalog::open(empty.path()).expect("catalog");
        build_session(&catalog, Limits::default())
            .await
            .expect("engine")
    }

    #[tokio::test]
    async fn only_one_read_only_statement_is_planned() {
        let engine = engine().await;
        for sql in [
            "SELECT 1",
            "WITH a AS (SELECT 1 AS x) SELECT x FROM a",
            "VALUES (1), (2)",
            "EXPLAIN SELECT 1",
        ] {
            assert!(engine.plan(sql).await.is_ok(), "{sql}");
        }
        for sql in [
            "CREATE TABLE t AS SELECT 1",
            "CREATE VIEW v AS SELECT 1",
            "INSERT INTO t VALUES (1)",
            "COPY (SELECT 1) TO 'x.csv'",
            "SET datafusion.execution.batch_size = 1",
            "EXPLAIN CREATE TABLE t AS SELECT 1",
            "SELECT 1; SELECT 2",
        ] {
            let err = engine.plan(sql).await.expect_err(sql);
            assert!(matches!(err, QueryError::NotReadOnly(_)), "{sql}: {err}");
        }
    }

    #[tokio::test]
    async fn results_are_capped_with_a_flag() {
        let engine = engine().await;
        let (_, batches, truncated) = engine
            .collect("SELECT * FROM generate_series(1, 100)", 10)
            .await
            .expect("query");
        assert_eq!(batches.iter().map(RecordBatch::num_rows).sum::<usize>(), 10);
        assert!(truncated);
        let (_, batches, truncated) = engine
            .collect("SELECT * FROM generate_series(1, 10)", 10)
            .await
            .expect("query");
        assert_eq!(batches.iter().map(RecordBatch::num_rows).sum::<usize>(), 10);
        assert!(!truncated);
    }

    #[tokio::test]
    async fn deterministic_results_are_cached_and_volatile_ones_not() {
        let engine = engine().await;
        for (sql, cached) in [
            ("SELECT 41 + 1 AS x", true),
            ("SELECT * FROM generate_series(1, 5)", true),
            ("SELECT random() AS r", false),
            ("SELECT now() AS t", false),
            ("SELECT x FROM (SELECT random() AS x) s", false),
            ("SELECT 1 WHERE 0.5 < (SELECT random())", false),
        ] {
            let first = engine.collect(sql, 10).await.expect(sql);
            assert_eq!(engine.cache.get(sql, 10).is_some(), cached, "{sql}");
            if cached {
                let again = engine.collect(sql, 10).await.expect(sql);
                assert_eq!(first.1, again.1, "{sql}");
            }
        }
    }

    #[tokio::test]
    async fn a_live_table_is_read_at_each_scan_and_never_cached() {
        use arrow::array::Int64Array;
        use arrow::datatypes::{DataType, Field, Schema};
        let engine = engine().await;
        let schema = Arc::new(Schema::new(vec![Field::new("n", DataType::Int64, false)]));
        let counter = Arc::new(std::sync::atomic::AtomicI64::new(0));
        let (rows_schema, rows_counter) = (schema.clone(), counter.clone());
        let rows: crate::LiveRows = Arc::new(move || {
            let n = rows_counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let batch = RecordBatch::try_new(
                rows_schema.clone(),
                vec![Arc::new(Int64Array::from(vec![n]))],
            )
            .map_err(|e| e.to_string());
            Box::pin(async move { batch.map(|b| vec![b]) })
        });
        engine
            .register_live("gauges__latest", schema, rows)
            .expect("register");
        let sql = "SELECT n FROM gauges__latest";
        for expected in 0..3i64 {
            let (_, batches, _) = engine.collect(sql, 10).await.expect(sql);
            let column = batches[0]
                .column(0)
                .as_any()
                .downcast_ref::<Int64Array>()
                .expect("n");
            assert_eq!(column.value(0), expected, "read again at each query");
            assert!(engine.cache.get(sql, 10).is_none());
        }
    }

    #[tokio::test]
    async fn spatial_functions_are_registered() {
        let engine = engine().await;
        let (_, batches, _) = engine
            .collect(
                "SELECT ST_AsText(ST_GeomFromText('POINT(7.5 51.25)')) AS wkt",
                1,
            )
            .await
            .expect("query");
        let shown = crate::to_csv(&batches[0], false).expect("csv");
        assert_eq!(String::from_utf8_lossy(&shown).trim(), "POINT(7.5 51.25)");
        // And ours (`spatial`), composed with geodatafusion's.
        let (_, batches, _) = engine
            .collect(
                "SELECT ST_AsGeoJSON(ST_MakeEnvelope(0, 0, 1, 1)) IS NOT NULL AS ok",
                1,
            )
            .await
            .expect("query");
        let shown = crate::to_csv(&batches[0], false).expect("csv");
        assert_eq!(String::from_utf8_lossy(&shown).trim(), "true");
    }
}
