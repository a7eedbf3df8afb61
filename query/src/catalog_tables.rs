//! The catalogue as SQL: `datasets`, `columns` and `versions` tables (like
//! `information_schema`), and every published version of a dataset as `<table>__v<n>`.
//!
//! Naming rule: the catalogue tables always live in the schema `catalog`
//! (`catalog.datasets`, `catalog.columns`, `catalog.versions`); they are also reachable
//! unqualified unless a dataset's table takes the name, in which case the dataset wins.
//! Likewise a dataset whose table name looks like `x__v1` wins over version 1 of `x`.
//!
//! Version tables are not opened when the session is built: the default schema only knows
//! their names and files, and opens a version's Parquet footer the first time a query names it.
//! Building a session therefore costs one Parquet footer per dataset (its latest version),
//! however many versions each dataset has.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use allmende_catalog::{Catalog, Format, Manifest, Version, table_name};
use arrow::array::{
    ArrayRef, Float64Builder, StringBuilder, TimestampMicrosecondBuilder, UInt32Builder,
    UInt64Builder,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use arrow::record_batch::RecordBatch;
use datafusion::catalog::{MemTable, MemorySchemaProvider, SchemaProvider, TableProvider};
use datafusion::datasource::TableType;
use datafusion::datasource::file_format::options::ReadOptions;
use datafusion::datasource::listing::{ListingTable, ListingTableConfig, ListingTableUrl};
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::execution::session_state::SessionState;
use datafusion::prelude::{ParquetReadOptions, SessionContext};

/// The schema the catalogue tables always live in.
pub const CATALOG_SCHEMA: &str = "catalog";

/// The catalogue tables' names.
pub const CATALOG_TABLES: [&str; 3] = ["datasets", "columns", "versions"];

/// The name of one version's table: `<table>__v<n>`.
pub fn version_table_name(id: &str, number: u32) -> String {
    format!("{}__v{number}", table_name(id))
}

/// Replaces the session's default schema by one that also resolves `<table>__v<n>` (lazily).
/// Call before registering the datasets' latest versions, which then land in it as usual.
pub(crate) fn install_version_schema(ctx: &SessionContext, catalog: &Catalog) -> DfResult<()> {
    let mut versions = HashMap::new();
    for manifest in catalog.datasets() {
        for version in &manifest.versions {
            versions.insert(
                version_table_name(&manifest.id, version.number),
                catalog.file_path(&manifest.id, version.number, Format::Parquet),
            );
        }
    }
    let weak = ctx.state_weak_ref();
    let schema = VersionedSchema {
        inner: MemorySchemaProvider::new(),
        versions,
        opened: Mutex::new(HashMap::new()),
        state: Box::new(move || weak.upgrade().map(|s| s.read().clone())),
    };
    let options = ctx.copied_config();
    let options = options.options();
    let default_catalog = ctx
        .catalog(&options.catalog.default_catalog)
        .ok_or_else(|| DataFusionError::Internal("no default catalog".into()))?;
    default_catalog.register_schema(&options.catalog.default_schema, Arc::new(schema))?;
    Ok(())
}

/// Registers `catalog.datasets`, `catalog.columns` and `catalog.versions`, and the same tables
/// unqualified where no dataset took the name. Call after the datasets are registered.
pub(crate) fn register_catalog_tables(ctx: &SessionContext, catalog: &Catalog) -> DfResult<()> {
    let manifests: Vec<&Manifest> = catalog.datasets().collect();
    let tables = [
        datasets_table(&manifests)?,
        columns_table(&manifests)?,
        versions_table(&manifests)?,
    ];
    let schema = Arc::new(MemorySchemaProvider::new());
    let config = ctx.copied_config();
    let default_catalog = ctx
        .catalog(&config.options().catalog.default_catalog)
        .ok_or_else(|| DataFusionError::Internal("no default catalog".into()))?;
    for (name, batch) in CATALOG_TABLES.into_iter().zip(tables) {
        let table: Arc<dyn TableProvider> =
            Arc::new(MemTable::try_new(batch.schema(), vec![vec![batch]])?);
        schema.register_table(name.to_owned(), Arc::clone(&table))?;
        if !ctx.table_exist(name)? {
            ctx.register_table(name, table)?;
        }
    }
    default_catalog.register_schema(CATALOG_SCHEMA, schema)?;
    Ok(())
}

type StateFn = Box<dyn Fn() -> Option<SessionState> + Send + Sync>;

/// The default schema: the registered tables (datasets' latest versions, catalogue tables)
/// plus every version as `<table>__v<n>`, opened on first use and then kept.
struct VersionedSchema {
    inner: MemorySchemaProvider,
    /// Version table name → its Parquet file.
    versions: HashMap<String, PathBuf>,
    opened: Mutex<HashMap<String, Arc<dyn TableProvider>>>,
    /// The session's state, to open files with its settings; weak, as the session owns us.
    state: StateFn,
}

impl std::fmt::Debug for VersionedSchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VersionedSchema")
            .field("versions", &self.versions.len())
            .finish_non_exhaustive()
    }
}

impl VersionedSchema {
    async fn open_version(&self, name: &str) -> DfResult<Option<Arc<dyn TableProvider>>> {
        let Some(path) = self.versions.get(name) else {
            return Ok(None);
        };
        if let Some(table) = self.opened.lock().ok().and_then(|m| m.get(name).cloned()) {
            return Ok(Some(table));
        }
        let state = (self.state)()
            .ok_or_else(|| DataFusionError::Internal("the session is gone".into()))?;
        let options = ParquetReadOptions::default()
            .to_listing_options(state.config(), state.default_table_options());
        let url = ListingTableUrl::parse(path.to_string_lossy())?;
        let config = ListingTableConfig::new(url)
            .with_listing_options(options)
            .infer_schema(&state)
            .await?;
        let table: Arc<dyn TableProvider> = Arc::new(ListingTable::try_new(config)?);
        if let Ok(mut opened) = self.opened.lock() {
            opened.insert(name.to_owned(), Arc::clone(&table));
        }
        Ok(Some(table))
    }
}

#[async_trait::async_trait]
impl SchemaProvider for VersionedSchema {
    fn table_names(&self) -> Vec<String> {
        let mut names = self.inner.table_names();
        names.extend(
            self.versions
                .keys()
                .filter(|n| !self.inner.table_exist(n))
                .cloned(),
        );
        names
    }

    async fn table(&self, name: &str) -> DfResult<Option<Arc<dyn TableProvider>>> {
        match self.inner.table(name).await? {
            Some(table) => Ok(Some(table)),
            None => self.open_version(name).await,
        }
    }

    /// Answered without opening files, so `information_schema.tables` stays cheap.
    async fn table_type(&self, name: &str) -> DfResult<Option<TableType>> {
        if self.inner.table_exist(name) {
            return self.inner.table_type(name).await;
        }
        Ok(self.versions.contains_key(name).then_some(TableType::Base))
    }

    fn register_table(
        &self,
        name: String,
        table: Arc<dyn TableProvider>,
    ) -> DfResult<Option<Arc<dyn TableProvider>>> {
        self.inner.register_table(name, table)
    }

    fn deregister_table(&self, name: &str) -> DfResult<Option<Arc<dyn TableProvider>>> {
        self.inner.deregister_table(name)
    }

    fn table_exist(&self, name: &str) -> bool {
        self.inner.table_exist(name) || self.versions.contains_key(name)
    }
}

fn text(values: impl IntoIterator<Item = Option<String>>) -> ArrayRef {
    let mut b = StringBuilder::new();
    values.into_iter().for_each(|v| b.append_option(v));
    Arc::new(b.finish())
}

fn uint64(values: impl IntoIterator<Item = Option<u64>>) -> ArrayRef {
    let mut b = UInt64Builder::new();
    values.into_iter().for_each(|v| b.append_option(v));
    Arc::new(b.finish())
}

fn uint32(values: impl IntoIterator<Item = Option<u32>>) -> ArrayRef {
    let mut b = UInt32Builder::new();
    values.into_iter().for_each(|v| b.append_option(v));
    Arc::new(b.finish())
}

fn float64(values: impl IntoIterator<Item = Option<f64>>) -> ArrayRef {
    let mut b = Float64Builder::new();
    values.into_iter().for_each(|v| b.append_option(v));
    Arc::new(b.finish())
}

fn timestamps(values: impl IntoIterator<Item = Option<i64>>) -> ArrayRef {
    let mut b = TimestampMicrosecondBuilder::new().with_timezone("UTC");
    values.into_iter().for_each(|v| b.append_option(v));
    Arc::new(b.finish())
}

fn timestamp_type() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

fn batch(fields: Vec<(&str, DataType)>, columns: Vec<ArrayRef>) -> DfResult<RecordBatch> {
    let schema: SchemaRef = Arc::new(Schema::new(
        fields
            .into_iter()
            .map(|(name, t)| Field::new(name, t, true))
            .collect::<Vec<_>>(),
    ));
    Ok(RecordBatch::try_new(schema, columns)?)
}

/// One row per dataset, described by its metadata and its latest version.
fn datasets_table(manifests: &[&Manifest]) -> DfResult<RecordBatch> {
    let bbox = |i: usize| {
        float64(manifests.iter().map(|m| {
            m.latest()
                .and_then(|v| v.geometry.as_ref())
                .and_then(|g| g.bbox)
                .map(|b| b[i])
        }))
    };
    let s = || DataType::Utf8;
    batch(
        vec![
            ("id", s()),
            ("table_name", s()),
            ("title", s()),
            ("description", s()),
            ("publisher", s()),
            ("licence", s()),
            ("keywords", s()),
            ("theme", s()),
            ("latest_version", DataType::UInt32),
            ("row_count", DataType::UInt64),
            ("modified", timestamp_type()),
            ("bbox_minx", DataType::Float64),
            ("bbox_miny", DataType::Float64),
            ("bbox_maxx", DataType::Float64),
            ("bbox_maxy", DataType::Float64),
            ("temporal_start", s()),
            ("temporal_end", s()),
        ],
        vec![
            text(manifests.iter().map(|m| Some(m.id.clone()))),
            text(manifests.iter().map(|m| Some(table_name(&m.id)))),
            text(manifests.iter().map(|m| Some(m.meta.title.clone()))),
            text(manifests.iter().map(|m| Some(m.meta.description.clone()))),
            text(manifests.iter().map(|m| Some(m.meta.publisher.clone()))),
            text(manifests.iter().map(|m| Some(m.meta.licence.clone()))),
            text(manifests.iter().map(|m| Some(m.meta.keywords.join(", ")))),
            text(manifests.iter().map(|m| m.meta.theme.clone())),
            uint32(manifests.iter().map(|m| m.latest().map(|v| v.number))),
            uint64(manifests.iter().map(|m| m.latest().map(|v| v.row_count))),
            timestamps(
                manifests
                    .iter()
                    .map(|m| m.latest().map(|v| v.created.timestamp_micros())),
            ),
            bbox(0),
            bbox(1),
            bbox(2),
            bbox(3),
            text(manifests.iter().map(|m| {
                m.latest()
                    .and_then(|v| v.temporal.as_ref())
                    .map(|t| t.start.clone())
            })),
            text(manifests.iter().map(|m| {
                m.latest()
                    .and_then(|v| v.temporal.as_ref())
                    .map(|t| t.end.clone())
            })),
        ],
    )
}

/// One row per column of every version (filter on `version` for one of them).
fn columns_table(manifests: &[&Manifest]) -> DfResult<RecordBatch> {
    let rows: Vec<(&Manifest, &Version, &allmende_catalog::Column)> = manifests
        .iter()
        .flat_map(|m| {
            m.versions
                .iter()
                .flat_map(move |v| v.columns.iter().map(move |c| (*m, v, c)))
        })
        .collect();
    let s = || DataType::Utf8;
    batch(
        vec![
            ("dataset_id", s()),
            ("table_name", s()),
            ("version", DataType::UInt32),
            ("name", s()),
            ("type", s()),
            ("description", s()),
            ("null_count", DataType::UInt64),
            ("min", s()),
            ("max", s()),
            ("distinct_count", DataType::UInt64),
        ],
        vec![
            text(rows.iter().map(|(m, _, _)| Some(m.id.clone()))),
            text(rows.iter().map(|(m, _, _)| Some(table_name(&m.id)))),
            uint32(rows.iter().map(|(_, v, _)| Some(v.number))),
            text(rows.iter().map(|(_, _, c)| Some(c.name.clone()))),
            text(rows.iter().map(|(_, _, c)| Some(c.data_type.clone()))),
            text(rows.iter().map(|(_, _, c)| c.description.clone())),
            uint64(rows.iter().map(|(_, _, c)| Some(c.null_count))),
            text(rows.iter().map(|(_, _, c)| c.min.clone())),
            text(rows.iter().map(|(_, _, c)| c.max.clone())),
            uint64(rows.iter().map(|(_, _, c)| c.distinct)),
        ],
    )
}

/// One row per published version.
fn versions_table(manifests: &[&Manifest]) -> DfResult<RecordBatch> {
    let rows: Vec<(&Manifest, &Version)> = manifests
        .iter()
        .flat_map(|m| m.versions.iter().map(move |v| (*m, v)))
        .collect();
    let change = |f: fn(&allmende_catalog::Changes) -> u64| {
        uint64(rows.iter().map(move |(_, v)| v.changes.as_ref().map(f)))
    };
    let sha = |format: Format| {
        text(
            rows.iter()
                .map(move |(_, v)| v.distribution(format).map(|d| d.sha256.clone())),
        )
    };
    let s = || DataType::Utf8;
    batch(
        vec![
            ("dataset_id", s()),
            ("table_name", s()),
            ("version", DataType::UInt32),
            ("version_table", s()),
            ("created", timestamp_type()),
            ("row_count", DataType::UInt64),
            ("rejected_rows", DataType::UInt64),
            ("rows_added", DataType::UInt64),
            ("rows_removed", DataType::UInt64),
            ("rows_changed", DataType::UInt64),
            ("csv_sha256", s()),
            ("parquet_sha256", s()),
        ],
        vec![
            text(rows.iter().map(|(m, _)| Some(m.id.clone()))),
            text(rows.iter().map(|(m, _)| Some(table_name(&m.id)))),
            uint32(rows.iter().map(|(_, v)| Some(v.number))),
            text(
                rows.iter()
                    .map(|(m, v)| Some(version_table_name(&m.id, v.number))),
            ),
            timestamps(rows.iter().map(|(_, v)| Some(v.created.timestamp_micros()))),
            uint64(rows.iter().map(|(_, v)| Some(v.row_count))),
            uint64(rows.iter().map(|(_, v)| Some(v.rejected_rows))),
            change(|c| c.rows_added),
            change(|c| c.rows_removed),
            change(|c| c.rows_changed),
            sha(Format::Csv),
            sha(Format::Parquet),
        ],
    )
}
