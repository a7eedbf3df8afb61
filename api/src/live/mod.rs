//! Live time-series datasets: `POST /api/datasets/{id}/observations` (admin token, [`push`])
//! and `GET /api/datasets/{id}/latest` ([`latest`]), both served from a [`Series`] held in
//! memory, opened on first use; readings of a `[source] url` are fetched by [`poll`], whose
//! log `GET /api/datasets/{id}/polls` serves.
//!
//! A push is answered only after its part and the parts manifest are fsync'd. The latest
//! values are republished after each push as an immutable list, so `/latest` never waits for
//! a push's disk writes.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use allmende_catalog::{Catalog, Format};
use allmende_ingest::live::{self, Latest, Series};
use allmende_ingest::{CONFIG_FILE, DatasetToml};
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::state::AppState;

mod latest;
pub mod poll;
mod push;
pub(crate) mod replay;
mod table;

pub(crate) use table::{
    collection as latest_collection, latest_table, register as register_latest_tables,
};

pub use latest::latest;
pub use poll::polls;
pub use push::push;
pub(crate) use push::{apply, read_limited};

/// The open series, by dataset id.
#[derive(Debug, Default)]
pub struct LiveSeries {
    open: tokio::sync::Mutex<HashMap<String, Arc<Entry>>>,
}

#[derive(Debug)]
pub(crate) struct Entry {
    /// The stations' version the series was opened on.
    version: u32,
    /// The names of the warning levels, lowest first.
    levels: Vec<String>,
    /// Stations, levels and unit as the alerts describe them.
    context: Arc<crate::alerts::Context>,
    series: Mutex<Series>,
    latest: RwLock<Arc<Published>>,
    compacting: AtomicBool,
    /// Pushes received and not yet answered.
    pushes: AtomicUsize,
    /// The store's append count after the series' last read or write.
    appends: AtomicU64,
    /// Held while the events dataset is published, so publications do not overlap.
    publishing: tokio::sync::Mutex<()>,
    /// The snapshot generation in which the store was last checked for others' appends.
    checked: AtomicU64,
}

/// The latest values as served: the list, and its JSON and GeoJSON bodies rendered (and
/// gzipped) once per push, with an ETag of their content (pages poll `/latest`; 304 when
/// nothing changed), so a request only copies a reference.
#[derive(Debug)]
struct Published {
    stations: Vec<Latest>,
    tag: String,
    bodies: latest::Bodies,
}

impl Published {
    fn new(id: &str, levels: &[String], stations: Vec<Latest>) -> Published {
        use std::hash::{Hash, Hasher};
        let bodies = latest::Bodies::render(id, levels, &stations);
        let mut hasher = std::hash::DefaultHasher::new();
        bodies.json.hash(&mut hasher);
        Published {
            stations,
            tag: format!("{:016x}", hasher.finish()),
            bodies,
        }
    }
}

/// Counts a push as in flight until dropped.
struct InFlight<'a>(&'a AtomicUsize);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Entry {
    fn publish_latest(&self, series: &Series) {
        let latest = Arc::new(Published::new(&series.id, &self.levels, series.latest()));
        match self.latest.write() {
            Ok(mut slot) => *slot = latest,
            Err(poisoned) => *poisoned.into_inner() = latest,
        }
    }

    fn latest(&self) -> Arc<Published> {
        match self.latest.read() {
            Ok(l) => l.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }
}

/// For a time series' detail: its parameter, unit and levels, the SQL tables of its
/// observations, history and events, and its endpoints; `null` for other datasets.
pub fn describe(root: &std::path::Path, id: &str) -> Value {
    let Some(config) = series_config(root, id) else {
        return Value::Null;
    };
    let table = allmende_catalog::table_name(id);
    let feed = poll::feed(root, id);
    json!({
        "parameter": config.parameter,
        "unit": config.unit,
        "levels": config.levels,
        "tables": {
            "observations": format!("{table}__observations"),
            "observation_history": format!("{table}__observation_history"),
            "events": format!("{table}__events"),
        },
        "latest": format!("/api/datasets/{id}/latest"),
        "push": format!("/api/datasets/{id}/observations"),
        "events": format!("/api/datasets/{id}/events"),
        "events_atom": format!("/api/datasets/{id}/events.atom"),
        "events_stream": format!("/api/datasets/{id}/events/stream"),
        "feed": feed.map(|f| json!({
            "url": f.url,
            "every_ms": f.every_ms,
            "polls": format!("/api/datasets/{id}/polls"),
        })),
    })
}

/// The `[timeseries]` table of a dataset's dataset.toml; none for other datasets.
pub fn series_config(root: &std::path::Path, id: &str) -> Option<live::TimeseriesConfig> {
    std::fs::read_to_string(Catalog::dataset_dir(root, id).join(CONFIG_FILE))
        .ok()
        .and_then(|text| DatasetToml::parse(&text).ok())
        .and_then(|toml| toml.series().ok().flatten())
}

/// Whether `id` is a time series (its dataset.toml says `kind = "timeseries"`).
pub(crate) fn is_series(root: &std::path::Path, id: &str) -> bool {
    series_config(root, id).is_some()
}

/// Runs `read` on the dataset's series (opened on demand) under its lock, on a blocking
/// thread, since a push may hold the lock while it writes. The PEGELONLINE API reads this way.
pub(crate) async fn read_series<R: Send + 'static>(
    state: &AppState,
    id: &str,
    read: impl FnOnce(&Series) -> R + Send + 'static,
) -> Result<R, ApiError> {
    let entry = entry(state, id).await?;
    tokio::task::spawn_blocking(move || {
        let series = entry
            .series
            .lock()
            .map_err(|_| ApiError::internal("series lock poisoned"))?;
        Ok(read(&series))
    })
    .await
    .map_err(ApiError::internal)?
}

/// The stations, levels and unit of a time series, for its alerts.
pub(crate) async fn context(
    state: &AppState,
    id: &str,
) -> Result<Arc<crate::alerts::Context>, ApiError> {
    Ok(entry(state, id).await?.context.clone())
}

/// The dataset's series, opened (or reopened after a new stations version) on demand.
pub(crate) async fn entry(state: &AppState, id: &str) -> Result<Arc<Entry>, ApiError> {
    let snapshot = state.snapshot().await?;
    let manifest = snapshot
        .catalog
        .get(id)
        .ok_or_else(|| ApiError::not_found(format!("dataset '{id}' not found")))?;
    let version = manifest
        .latest()
        .ok_or_else(|| ApiError::not_found(format!("dataset '{id}' has no published version")))?
        .number;
    let mut open = state.live().open.lock().await;
    if let Some(entry) = open.get(id)
        && entry.version == version
    {
        // The snapshot's stamp covers the parts manifest: in the same snapshot as last
        // time, nobody appended since.
        if entry.checked.swap(snapshot.generation, Ordering::AcqRel) == snapshot.generation {
            return Ok(entry.clone());
        }
        // Another process (an `ingest --append`, an upload) appended: read the store again,
        // unless a push of ours is under way (its own append is what the count shows).
        let on_disk = live::ObservationStore::new(state.root(), id)
            .load()
            .map(|p| p.appends)
            .unwrap_or(0);
        let behind = on_disk > entry.appends.load(Ordering::Acquire)
            && entry.pushes.load(Ordering::Acquire) == 0;
        if !behind {
            return Ok(entry.clone());
        }
    }
    let root = state.root().to_owned();
    let parquet = snapshot.catalog.file_path(id, version, Format::Parquet);
    let owned_id = id.to_owned();
    let series = tokio::task::spawn_blocking(move || -> Result<Series, ApiError> {
        let toml_path = Catalog::dataset_dir(&root, &owned_id).join(CONFIG_FILE);
        let config = std::fs::read_to_string(&toml_path)
            .ok()
            .and_then(|text| DatasetToml::parse(&text).ok())
            .and_then(|toml| toml.series().ok().flatten())
            .ok_or_else(|| {
                ApiError::not_found(format!(
                    "dataset '{owned_id}' is not a time series (kind = \"timeseries\" in its dataset.toml)"
                ))
            })?;
        Series::open(&root, &owned_id, version, config, &parquet).map_err(|e| match e {
            // The dataset.toml names what the stations lack: the steward's to fix.
            allmende_ingest::IngestError::Config { message, .. } => ApiError::new(
                StatusCode::CONFLICT,
                "TimeseriesConfig",
                format!("dataset '{owned_id}': {message}"),
            ),
            other => ApiError::internal(other),
        })
    })
    .await
    .map_err(ApiError::internal)??;
    let context = Arc::new(crate::alerts::Context {
        levels: series.config().levels.clone(),
        unit: series.config().unit.clone(),
        parameter: series.config().parameter.clone(),
        webhooks: series.config().webhooks.clone(),
        places: series
            .stations()
            .map(|s| {
                let place = crate::alerts::Place {
                    name: s.name.clone(),
                    lon: s.lon,
                    lat: s.lat,
                };
                (s.id.clone(), place)
            })
            .collect(),
    });
    let entry = Arc::new(Entry {
        version,
        context,
        appends: AtomicU64::new(series.appends()),
        levels: series.config().levels.clone(),
        latest: RwLock::new(Arc::new(Published::new(
            id,
            &series.config().levels,
            series.latest(),
        ))),
        series: Mutex::new(series),
        compacting: AtomicBool::new(false),
        pushes: AtomicUsize::new(0),
        publishing: tokio::sync::Mutex::new(()),
        checked: AtomicU64::new(snapshot.generation),
    });
    open.insert(id.to_owned(), entry.clone());
    // Events committed before a crash, or by a version that did not publish them yet.
    publish_events(state, id, entry.clone());
    Ok(entry)
}

/// Publishes the dataset's event log as the `<id>-events` dataset, in the background, one
/// publication of a dataset at a time. It is a copy: a failure is logged, and the next event
/// (or the next start) publishes again.
pub(crate) fn publish_events(state: &AppState, id: &str, entry: Arc<Entry>) {
    let state = state.clone();
    let id = id.to_owned();
    tokio::spawn(async move {
        let _turn = entry.publishing.lock().await;
        let parent = match state.snapshot().await {
            Ok(snapshot) => snapshot.catalog.get(&id).map(|m| m.meta.clone()),
            Err(_) => None,
        };
        let Some(parent) = parent else { return };
        let root = state.root().to_owned();
        let (stations, config) = {
            let Ok(series) = entry.series.lock() else {
                return;
            };
            let stations: Vec<live::Station> = series.stations().cloned().collect();
            (stations, series.config().clone())
        };
        let published = tokio::task::spawn_blocking(move || {
            live::publish_events(&root, &id, &parent, &stations, &config)
                .map_err(|e| format!("{id}: events not published as a dataset: {e}"))
        })
        .await;
        match published {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::error!("{e}"),
            Err(e) => tracing::error!("publishing events: {e}"),
        }
    });
}
