//! Live time-series datasets: `POST /api/datasets/{id}/observations` (admin token) and
//! `GET /api/datasets/{id}/latest`, both served from a [`Series`] held in memory.
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
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::admin::Admin;
use crate::error::ApiError;
use crate::state::AppState;

/// Largest accepted push body; larger ones get 413 before they are read.
pub const MAX_PUSH_BYTES: usize = 8 * 1024 * 1024;
/// Pushes of one dataset that may wait for the one being written; more get 429.
const MAX_WAITING_PUSHES: usize = 16;
/// Parts beyond which a push starts a background compaction.
const COMPACT_AFTER_PARTS: usize = 16;

/// The open series, by dataset id.
#[derive(Debug, Default)]
pub struct LiveSeries {
    open: tokio::sync::Mutex<HashMap<String, Arc<Entry>>>,
}

#[derive(Debug)]
struct Entry {
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
}

/// The latest values as served, with an ETag of their content (pages poll `/latest`; 304 when
/// nothing changed).
#[derive(Debug)]
struct Published {
    stations: Vec<Latest>,
    tag: String,
}

impl Published {
    fn new(stations: Vec<Latest>) -> Published {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::hash::DefaultHasher::new();
        serde_json::to_string(&stations)
            .unwrap_or_default()
            .hash(&mut hasher);
        Published {
            stations,
            tag: format!("{:016x}", hasher.finish()),
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
        let latest = Arc::new(Published::new(series.latest()));
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
async fn entry(state: &AppState, id: &str) -> Result<Arc<Entry>, ApiError> {
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
        latest: RwLock::new(Arc::new(Published::new(series.latest()))),
        series: Mutex::new(series),
        compacting: AtomicBool::new(false),
        pushes: AtomicUsize::new(0),
    });
    open.insert(id.to_owned(), entry.clone());
    Ok(entry)
}

/// `POST /api/datasets/{id}/observations`: a JSON array of `{station, time, value}` or CSV
/// (`Content-Type: text/csv`). 200 with what was stored, the duplicates, the corrections and
/// each rejected reading; 422 when no reading was valid; 413 over [`MAX_PUSH_BYTES`]; 429 when
/// more than [`MAX_WAITING_PUSHES`] pushes to the dataset wait.
pub async fn push(
    _: Admin,
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let bytes = read_limited(&headers, body).await?;
    let csv = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/csv"));
    let readings = if csv {
        live::readings::from_csv(&bytes)
    } else {
        live::readings::from_json(&bytes)
    }
    .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let entry = entry(&state, &id).await?;
    // Pushes of a dataset are written one at a time; a burst beyond what can wait is told to
    // come back rather than piling up connections.
    let in_flight = InFlight(&entry.pushes);
    if in_flight.0.fetch_add(1, Ordering::AcqRel) > MAX_WAITING_PUSHES {
        return Err(ApiError {
            retry_after: Some(1),
            ..ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "TooManyPushes",
                format!(
                    "more than {MAX_WAITING_PUSHES} pushes to '{id}' are waiting; retry shortly"
                ),
            )
        });
    }
    let committed = entry.clone();
    let log = live::EventLog::new(state.root(), &id);
    let outcome = tokio::task::spawn_blocking(move || {
        let mut series = committed
            .series
            .lock()
            .map_err(|_| ApiError::internal("series lock poisoned"))?;
        let outcome = series.push(readings).map_err(ApiError::internal)?;
        committed.appends.store(series.appends(), Ordering::Release);
        let before = committed.latest();
        committed.publish_latest(&series);
        let changed = changed_stations(&before, &committed.latest());
        let parts = series.parts().map(|p| p.parts.len()).unwrap_or(0);
        // The new events as committed, with their numbers: the last ones of the log (read
        // under the series' lock, so no other push's events come after them).
        let new = if outcome.events.is_empty() {
            Vec::new()
        } else {
            let mut all = log.read().map_err(ApiError::internal)?;
            all.split_off(all.len().saturating_sub(outcome.events.len()))
        };
        Ok::<_, ApiError>((outcome, parts, new, changed))
    })
    .await
    .map_err(ApiError::internal)??;
    let (outcome, parts, new, changed) = outcome;
    drop(in_flight);
    if !new.is_empty() {
        let notices = new
            .iter()
            .map(|e| crate::alerts::Notice::new(&id, e, &entry.context))
            .collect();
        state.alerts().publish(notices, &entry.context.webhooks);
    }
    state.alerts().publish_latest(&id, changed);
    if parts > COMPACT_AFTER_PARTS {
        compact_in_background(&state, &id, entry);
    }
    let status = if outcome.received > 0 && outcome.rejected.len() == outcome.received {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok((status, Json(json!(outcome))))
}

/// The stations of `after` whose latest value, level or trend differs from `before`.
fn changed_stations(before: &Published, after: &Published) -> Vec<Latest> {
    if before.tag == after.tag {
        return Vec::new();
    }
    let old: HashMap<&str, &Latest> = before
        .stations
        .iter()
        .map(|l| (l.station.as_str(), l))
        .collect();
    after
        .stations
        .iter()
        .filter(|l| old.get(l.station.as_str()) != Some(l))
        .cloned()
        .collect()
}

/// Merges the parts on a blocking thread; pushes go on meanwhile. One compaction at a time.
fn compact_in_background(state: &AppState, id: &str, entry: Arc<Entry>) {
    if entry.compacting.swap(true, Ordering::AcqRel) {
        return;
    }
    let store = live::ObservationStore::new(state.root(), id);
    let id = id.to_owned();
    tokio::task::spawn_blocking(move || {
        match store.compact() {
            Ok(Some(parts)) => tracing::info!(
                "{id}: observations compacted into {} part(s)",
                parts.parts.len()
            ),
            Ok(None) => {}
            Err(e) => tracing::error!("{id}: compaction failed: {e}"),
        }
        entry.compacting.store(false, Ordering::Release);
    });
}

async fn read_limited(headers: &HeaderMap, body: Body) -> Result<Vec<u8>, ApiError> {
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "TooLarge",
            format!("a push is limited to {MAX_PUSH_BYTES} bytes; send the readings in batches"),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > MAX_PUSH_BYTES) {
        return Err(too_large());
    }
    let mut bytes = Vec::with_capacity(declared.unwrap_or(0));
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| ApiError::bad_request(format!("body broke off: {e}")))?;
        if bytes.len() + chunk.len() > MAX_PUSH_BYTES {
            return Err(too_large());
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LatestParams {
    /// `json` (default) or `geojson`.
    f: Option<String>,
}

/// `GET /api/datasets/{id}/latest[?f=geojson]`: each station's latest value, warning level
/// and trend, from memory. GeoJSON also when the client accepts `application/geo+json`.
pub async fn latest(
    State(state): State<AppState>,
    Path(id): Path<String>,
    params: Result<Query<LatestParams>, axum::extract::rejection::QueryRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let Query(params) = params.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let geojson = match params.f.as_deref() {
        Some("geojson") => true,
        Some("json") => false,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "f={other}: use json or geojson"
            )));
        }
        None => headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("application/geo+json")),
    };
    let entry = entry(&state, &id).await?;
    let latest = entry.latest();
    let etag = format!(
        "\"{}-{}\"",
        latest.tag,
        if geojson { "geojson" } else { "json" }
    );
    let unchanged = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    if unchanged {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response());
    }
    if geojson {
        let features: Vec<Value> = latest
            .stations
            .iter()
            .map(|l| {
                let geometry = match (l.lon, l.lat) {
                    (Some(x), Some(y)) => json!({"type": "Point", "coordinates": [x, y]}),
                    _ => Value::Null,
                };
                let mut properties = json!(l);
                if let Some(p) = properties.as_object_mut() {
                    p.remove("lon");
                    p.remove("lat");
                }
                json!({"type": "Feature", "id": l.station, "geometry": geometry, "properties": properties})
            })
            .collect();
        let body = json!({"type": "FeatureCollection", "features": features});
        return Ok((
            [
                (header::CONTENT_TYPE, "application/geo+json".to_owned()),
                (header::ETAG, etag),
            ],
            Json(body),
        )
            .into_response());
    }
    Ok((
        [(header::ETAG, etag)],
        Json(json!({
            "dataset": id,
            "levels": entry.levels,
            "stations": latest.stations,
        })),
    )
        .into_response())
}
