//! `POST /api/datasets/{id}/observations`, and [`apply`], the path every reading takes into a
//! series (the push handler, the upstream poller and the demo replay): checked, committed
//! durably, applied, then its level events handed to the alerts.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use allmende_ingest::live::{self, Latest, PushOutcome, Reading, ReadingError};
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use futures::StreamExt;
use serde_json::{Value, json};

use super::{Entry, InFlight, Published, entry};
use crate::admin::Admin;
use crate::error::ApiError;
use crate::state::AppState;

/// Largest accepted push body; larger ones get 413 before they are read.
const MAX_PUSH_BYTES: usize = 8 * 1024 * 1024;
/// Pushes of one dataset that may wait for the one being written; more get 429.
const MAX_WAITING_PUSHES: usize = 16;
/// Parts beyond which a push starts a background compaction.
const COMPACT_AFTER_PARTS: usize = 16;

/// `POST /api/datasets/{id}/observations`: a JSON array of `{station, time, value}`, CSV
/// (`Content-Type: text/csv`) or a SensorThings CreateObservations array. 200 with what was stored, the duplicates, the corrections and
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
    } else if crate::routes::sta::is_data_array(&bytes) {
        Ok(of_data_array(&id, &bytes)?)
    } else {
        live::readings::from_json(&bytes)
    }
    .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let outcome = apply(&state, &id, readings).await?;
    let status = if outcome.received > 0 && outcome.rejected.len() == outcome.received {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok((status, Json(json!(outcome))))
}

/// The rows of a SensorThings CreateObservations body; rows of another dataset's Datastreams
/// are rejected with their place.
fn of_data_array(id: &str, bytes: &[u8]) -> Result<Vec<Result<Reading, ReadingError>>, ApiError> {
    let rows = crate::routes::sta::parse_data_array(bytes).map_err(ApiError::bad_request)?;
    Ok(rows
        .into_iter()
        .enumerate()
        .map(|(index, row)| match row.reading {
            Ok(r) if row.dataset != id => Err(ReadingError {
                index: Some(index),
                line: None,
                station: Some(r.station),
                time: Some(live::series::format_time(r.time)),
                error: format!(
                    "the Datastream belongs to dataset '{}', not '{id}'",
                    row.dataset
                ),
            }),
            other => other,
        })
        .collect())
}

/// Stores readings in the dataset's series: checked, committed durably as one part (the
/// outcome is returned only then), applied to the latest values, and the level events handed
/// to the alerts. A compaction starts in the background when the parts pile up.
pub async fn apply(
    state: &AppState,
    id: &str,
    readings: Vec<Result<Reading, ReadingError>>,
) -> Result<PushOutcome, ApiError> {
    let entry = entry(state, id).await?;
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
    let log = live::EventLog::new(state.root(), id);
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
            .map(|e| crate::alerts::Notice::new(id, e, &entry.context))
            .collect();
        state.alerts().publish(notices, &entry.context.webhooks);
        super::publish_events(state, id, entry.clone());
    }
    state.alerts().publish_latest(id, changed);
    if parts > COMPACT_AFTER_PARTS {
        compact_in_background(state, id, entry);
    }
    Ok(outcome)
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

/// The body, refused with 413 beyond [`MAX_PUSH_BYTES`] before more is read.
pub(crate) async fn read_limited(headers: &HeaderMap, body: Body) -> Result<Vec<u8>, ApiError> {
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
