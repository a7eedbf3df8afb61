//! Delivery of warning-level events (issue 9): each event as a CAP 1.2 alert, Atom feeds of
//! the events, a Server-Sent Events stream per dataset and signed webhooks.
//!
//! Events are numbered by their place in the dataset's event log (1 = first); the log is only
//! ever appended to, so a number names the same event for good. A push hands its new events
//! to [`Alerts::publish`], which only sends on channels: SSE subscribers get them from a
//! broadcast channel, webhooks from a queue that a background task works through. Nothing a
//! push waits for touches the network.

mod cap;
mod webhooks;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use allmende_ingest::live::{EventLog, Latest, StoredEvent};
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use crate::admin::Admin;
use crate::base_url::BaseUrl;
use crate::error::ApiError;
use crate::state::AppState;

pub use webhooks::Webhooks;

/// Events a slow SSE reader may fall behind before it is told it missed some.
const STREAM_BUFFER: usize = 256;

/// A station as the alerts describe it.
#[derive(Debug, Clone)]
pub struct Place {
    pub name: String,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
}

/// What the alerts of one dataset need beside its events.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// Level names, lowest first (level 1 is `levels[0]`).
    pub levels: Vec<String>,
    pub unit: Option<String>,
    pub parameter: String,
    pub places: HashMap<String, Place>,
    /// The dataset's own webhook URLs (`[timeseries] webhooks`).
    pub webhooks: Vec<String>,
}

impl Context {
    fn level_name(&self, level: u8) -> Option<String> {
        match level {
            0 => None,
            n => self.levels.get(usize::from(n) - 1).cloned(),
        }
    }
}

/// One event as sent to webhooks and SSE readers and listed in JSON.
#[derive(Debug, Clone, Serialize)]
pub struct Notice {
    pub dataset: String,
    /// The event's number in the dataset's log.
    pub id: u64,
    pub station: String,
    pub name: String,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    pub from: u8,
    pub to: u8,
    pub from_name: Option<String>,
    pub to_name: Option<String>,
    /// The confirming reading's time (RFC 3339, UTC).
    pub time: String,
    pub value: f64,
    /// The measured parameter (`W` = water level).
    pub parameter: String,
    pub unit: Option<String>,
    /// When the event was committed.
    pub recorded: String,
    /// `Alert`, `Update` or `Cancel`, as in its CAP message.
    pub msg_type: &'static str,
    /// The CAP alert's path.
    pub cap: String,
}

impl Notice {
    pub fn new(dataset: &str, event: &StoredEvent, context: &Context) -> Notice {
        let place = context.places.get(&event.station);
        Notice {
            dataset: dataset.to_owned(),
            id: event.number,
            station: event.station.clone(),
            name: place.map_or_else(|| event.station.clone(), |p| p.name.clone()),
            lon: place.and_then(|p| p.lon),
            lat: place.and_then(|p| p.lat),
            from: event.from,
            to: event.to,
            from_name: context.level_name(event.from),
            to_name: context.level_name(event.to),
            time: rfc3339(event.at),
            value: event.value,
            parameter: context.parameter.clone(),
            unit: context.unit.clone(),
            recorded: rfc3339(event.recorded),
            msg_type: msg_type(event.from, event.to),
            cap: format!("/api/datasets/{dataset}/events/{}.cap", event.number),
        }
    }
}

/// Rising from no level is a new alert, reaching level 0 ends it, anything else updates it.
pub fn msg_type(from: u8, to: u8) -> &'static str {
    if to == 0 {
        "Cancel"
    } else if from == 0 {
        "Alert"
    } else {
        "Update"
    }
}

fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// What the SSE stream of a dataset carries.
#[derive(Debug)]
enum Streamed {
    Level(Arc<Notice>),
    /// The stations whose latest value changed with a push.
    Latest(Vec<Latest>),
}

/// The SSE channels and the webhook queue, shared by all handlers.
#[derive(Debug)]
pub struct Alerts {
    streams: Mutex<HashMap<String, broadcast::Sender<Arc<Streamed>>>>,
    pub webhooks: Webhooks,
    /// Set when the server shuts down: streams end, so the graceful shutdown does not wait
    /// for readers that never hang up.
    closing: tokio::sync::watch::Sender<bool>,
}

impl Alerts {
    /// Reads the webhook configuration from the environment (see [`Webhooks::from_env`]).
    pub fn new(root: &std::path::Path) -> Alerts {
        Alerts {
            streams: Mutex::default(),
            webhooks: Webhooks::from_env(root),
            closing: tokio::sync::watch::channel(false).0,
        }
    }

    /// Ends every event stream (the server is shutting down).
    pub fn close(&self) {
        self.closing.send_replace(true);
    }

    /// Completes once [`Alerts::close`] was called.
    fn closed(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut closing = self.closing.subscribe();
        async move {
            let _ = closing.wait_for(|c| *c).await;
        }
    }

    fn sender(&self, dataset: &str) -> broadcast::Sender<Arc<Streamed>> {
        let mut streams = match self.streams.lock() {
            Ok(s) => s,
            Err(poisoned) => poisoned.into_inner(),
        };
        streams
            .entry(dataset.to_owned())
            .or_insert_with(|| broadcast::channel(STREAM_BUFFER).0)
            .clone()
    }

    /// Hands new events to SSE readers and the webhook queue (the server's URLs and the
    /// dataset's `own`); never waits.
    pub fn publish(&self, notices: Vec<Notice>, own: &[String]) {
        for notice in notices {
            let notice = Arc::new(notice);
            // No reader is not an error.
            let _ = self
                .sender(&notice.dataset)
                .send(Arc::new(Streamed::Level(notice.clone())));
            self.webhooks.enqueue(notice, own);
        }
    }

    /// Hands the stations whose latest value a push changed to SSE readers; never waits.
    pub fn publish_latest(&self, dataset: &str, changed: Vec<Latest>) {
        if !changed.is_empty() {
            let _ = self
                .sender(dataset)
                .send(Arc::new(Streamed::Latest(changed)));
        }
    }
}

/// The dataset's events as notices, oldest first.
async fn notices(state: &AppState, id: &str) -> Result<Vec<Notice>, ApiError> {
    let context = crate::live::context(state, id).await?;
    let log = EventLog::new(state.root(), id);
    let events = tokio::task::spawn_blocking(move || log.read())
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    Ok(events
        .iter()
        .map(|e| Notice::new(id, e, &context))
        .collect())
}

/// `GET /api/datasets/{id}/events/{n}.cap`: event `n` as a CAP 1.2 alert; an Update or
/// Cancel references the station's event before it.
pub async fn cap(
    State(state): State<AppState>,
    base: BaseUrl,
    Path((id, file)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let number: u64 = file
        .strip_suffix(".cap")
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| ApiError::not_found(format!("no event '{file}': use /events/{{n}}.cap")))?;
    let all = notices(&state, &id).await?;
    let notice = all
        .iter()
        .find(|n| n.id == number)
        .ok_or_else(|| ApiError::not_found(format!("dataset '{id}' has no event {number}")))?;
    let previous = all
        .iter()
        .rev()
        .find(|n| n.id < number && n.station == notice.station);
    let xml = cap::alert(&base, notice, previous);
    Ok((
        [(header::CONTENT_TYPE, "application/cap+xml; charset=utf-8")],
        xml,
    )
        .into_response())
}

/// `GET /api/datasets/{id}/events`: the events as JSON, newest first.
pub async fn list(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let mut all = notices(&state, &id).await?;
    all.reverse();
    Ok(axum::Json(serde_json::json!({"dataset": id, "events": all})).into_response())
}

/// Entries an Atom feed lists (the newest).
const FEED_ENTRIES: usize = 100;

/// `GET /api/datasets/{id}/events.atom`: the newest events, each linking its CAP alert.
pub async fn feed(
    State(state): State<AppState>,
    base: BaseUrl,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let mut all = notices(&state, &id).await?;
    all.reverse();
    all.truncate(FEED_ENTRIES);
    let title = format!("Warnstufen-Ereignisse: {id}");
    let path = format!("/api/datasets/{id}/events.atom");
    Ok(atom_response(cap::feed(&base, &path, &title, &all)))
}

/// `GET /api/events.atom`: the newest events of every time-series dataset.
pub async fn feed_all(State(state): State<AppState>, base: BaseUrl) -> Result<Response, ApiError> {
    let snapshot = state.snapshot().await?;
    let mut all = Vec::new();
    for id in &snapshot.series {
        match notices(&state, id).await {
            Ok(n) => all.extend(n),
            Err(e) => tracing::warn!("events of {id} left out of the feed: {}", e.description),
        }
    }
    all.sort_by(|a, b| b.recorded.cmp(&a.recorded).then(b.id.cmp(&a.id)));
    all.truncate(FEED_ENTRIES);
    Ok(atom_response(cap::feed(
        &base,
        "/api/events.atom",
        "Warnstufen-Ereignisse",
        &all,
    )))
}

fn atom_response(xml: String) -> Response {
    (
        [(header::CONTENT_TYPE, "application/atom+xml; charset=utf-8")],
        xml,
    )
        .into_response()
}

/// `GET /api/datasets/{id}/events/stream`: Server-Sent Events. A `ready` event first (the
/// reader is subscribed from then on), then one `level` event per new event with the notice
/// as JSON, and after each push a `latest` event with the stations whose latest value changed
/// (as in `/latest`); `lagged` when the reader fell more than a buffer behind.
pub async fn stream(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    // A dataset that is not a time series is a 404, not an endless empty stream.
    crate::live::context(&state, &id).await?;
    let receiver = state.alerts().sender(&id).subscribe();
    let ready = Event::default().event("ready").data(id.clone());
    let first = futures::stream::once(async move { Ok::<_, std::convert::Infallible>(ready) });
    let rest = futures::stream::unfold(receiver, |mut receiver| async move {
        let event = match receiver.recv().await {
            Ok(item) => match &*item {
                Streamed::Level(notice) => Event::default()
                    .event("level")
                    .id(notice.id.to_string())
                    .data(serde_json::to_string(&**notice).unwrap_or_default()),
                Streamed::Latest(stations) => Event::default()
                    .event("latest")
                    .data(serde_json::to_string(stations).unwrap_or_default()),
            },
            Err(broadcast::error::RecvError::Lagged(n)) => {
                Event::default().event("lagged").data(n.to_string())
            }
            Err(broadcast::error::RecvError::Closed) => return None,
        };
        Some((Ok(event), receiver))
    });
    use futures::StreamExt;
    let events = first.chain(rest).take_until(state.alerts().closed());
    Ok(Sse::new(events)
        .keep_alive(KeepAlive::default())
        .into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveriesParams {
    /// Wait (up to `wait` seconds, at most 30) until the log has at least this many entries.
    min: Option<usize>,
    wait: Option<u64>,
}

/// Resumes the webhook deliveries a previous run left unfinished (see [`Webhooks::pending`]).
pub async fn resume_deliveries(state: AppState) {
    let pending = state.alerts().webhooks.pending();
    let mut events: HashMap<String, (Arc<Context>, Vec<StoredEvent>)> = HashMap::new();
    for (dataset, number, url, next) in pending {
        if !events.contains_key(&dataset) {
            let context = match crate::live::context(&state, &dataset).await {
                Ok(c) => c,
                Err(e) => {
                    tracing::error!("webhooks of '{dataset}' not resumed: {}", e.description);
                    continue;
                }
            };
            let log = EventLog::new(state.root(), &dataset)
                .read()
                .unwrap_or_default();
            events.insert(dataset.clone(), (context, log));
        }
        let Some((context, log)) = events.get(&dataset) else {
            continue;
        };
        match log.iter().find(|e| e.number == number) {
            Some(event) => {
                tracing::info!(
                    "resuming webhook of {dataset} event {number} to {url} (attempt {next})"
                );
                let notice = Arc::new(Notice::new(&dataset, event, context));
                state.alerts().webhooks.resume(notice, url, next);
            }
            None => tracing::error!("webhook of {dataset} event {number}: no such event"),
        }
    }
}

/// `GET /api/webhooks/deliveries` (admin token): the delivery log, oldest first.
pub async fn deliveries(
    _: Admin,
    State(state): State<AppState>,
    params: Result<Query<DeliveriesParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(params) = params.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let webhooks = &state.alerts().webhooks;
    if let Some(min) = params.min {
        let wait = std::time::Duration::from_secs(params.wait.unwrap_or(10).min(30));
        let mut count = webhooks.count();
        let _ = tokio::time::timeout(wait, count.wait_for(|n| *n >= min)).await;
    }
    let entries = webhooks.log().await.map_err(ApiError::internal)?;
    Ok((
        StatusCode::OK,
        axum::Json(serde_json::json!({
            "webhooks": webhooks.urls(),
            "deliveries": entries,
        })),
    )
        .into_response())
}
