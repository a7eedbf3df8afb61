//! The observations of time-series datasets as SQL tables, from the parts manifest read once
//! per session: `<table>__observations` (the latest value per station, parameter and time)
//! and `<table>__observation_history` (every value ever accepted, corrections included), and
//! the level changes as `<table>__events`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use allmende_catalog::{Catalog, table_name};
use allmende_ingest::live::{EventLog, ObservationStore, Part};
use allmende_ingest::{CONFIG_FILE, DatasetKind, DatasetToml};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::catalog::TableProvider;
use datafusion::datasource::empty::EmptyTable;
use datafusion::datasource::file_format::options::ReadOptions;
use datafusion::datasource::listing::{ListingTable, ListingTableConfig, ListingTableUrl};
use datafusion::prelude::{ParquetReadOptions, SessionContext};

use crate::error::Result;

/// Registers the observation tables of every time-series dataset of `catalog`.
pub async fn register(ctx: &SessionContext, catalog: &Catalog) -> Result<()> {
    for manifest in catalog.datasets() {
        let store = ObservationStore::new(catalog.root(), &manifest.id);
        let parts = store.load().map_err(|e| registration(&manifest.id, e))?;
        if parts.parts.is_empty() && !is_timeseries(catalog.root(), &manifest.id) {
            continue;
        }
        let table = table_name(&manifest.id);
        let paths: Vec<_> = parts.parts.iter().map(|p| store.part_path(p)).collect();
        let current = listing(ctx, &paths, observation_schema())?;
        let observations = format!("{table}__observations");
        if parts.has_pending_corrections() {
            // Until compaction resolves them, a correction and the value it replaced are both
            // in the parts: the later commit wins.
            let raw = format!("{table}__observation_parts");
            ctx.register_table(raw.as_str(), current)?;
            let view = ctx
                .sql(&format!(
                    "SELECT station, parameter, time, value, quality, recorded, seq FROM \
                     (SELECT *, row_number() OVER (PARTITION BY station, parameter, time \
                      ORDER BY seq DESC) AS newest FROM {raw}) WHERE newest = 1"
                ))
                .await?
                .into_view();
            ctx.deregister_table(raw.as_str())?;
            ctx.register_table(observations.as_str(), view)?;
        } else {
            ctx.register_table(observations.as_str(), current)?;
        }
        let all: Vec<Part> = parts.parts.iter().chain(&parts.history).cloned().collect();
        let paths: Vec<_> = all.iter().map(|p| store.part_path(p)).collect();
        let history = listing(ctx, &paths, observation_schema())?;
        ctx.register_table(format!("{table}__observation_history").as_str(), history)?;
        let log = EventLog::new(catalog.root(), &manifest.id);
        let events = log.load().map_err(|e| registration(&manifest.id, e))?;
        let paths: Vec<_> = events.parts.iter().map(|p| log.part_path(p)).collect();
        let events = listing(ctx, &paths, views(allmende_ingest::live::events::schema()))?;
        ctx.register_table(format!("{table}__events").as_str(), events)?;
    }
    Ok(())
}

fn registration(id: &str, e: impl std::fmt::Display) -> crate::error::QueryError {
    crate::error::QueryError::Registration {
        id: id.to_owned(),
        message: e.to_string(),
    }
}

/// Whether the kept dataset.toml says `kind = "timeseries"`.
fn is_timeseries(root: &Path, id: &str) -> bool {
    std::fs::read_to_string(Catalog::dataset_dir(root, id).join(CONFIG_FILE))
        .ok()
        .and_then(|text| DatasetToml::parse(&text).ok())
        .is_some_and(|toml| toml.kind == DatasetKind::Timeseries)
}

/// The observation parts' schema as DataFusion reads Parquet.
fn observation_schema() -> SchemaRef {
    views(allmende_ingest::live::store::schema())
}

/// `schema` with strings as views, as DataFusion reads Parquet.
fn views(schema: SchemaRef) -> SchemaRef {
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| match f.data_type() {
            DataType::Utf8 => f.as_ref().clone().with_data_type(DataType::Utf8View),
            _ => f.as_ref().clone(),
        })
        .collect();
    Arc::new(Schema::new(fields))
}

/// One listing table over exactly the named part files (no directory listing, so a part
/// written after the manifest was read is not seen).
fn listing(
    ctx: &SessionContext,
    files: &[PathBuf],
    schema: SchemaRef,
) -> Result<Arc<dyn TableProvider>> {
    if files.is_empty() {
        return Ok(Arc::new(EmptyTable::new(schema)));
    }
    let state = ctx.state();
    let options = ParquetReadOptions::default()
        .to_listing_options(state.config(), state.default_table_options());
    let urls = files
        .iter()
        .map(|p| ListingTableUrl::parse(p.to_string_lossy()))
        .collect::<datafusion::error::Result<Vec<_>>>()?;
    let config = ListingTableConfig::new_with_multi_paths(urls)
        .with_listing_options(options)
        .with_schema(schema);
    Ok(Arc::new(ListingTable::try_new(config)?))
}
