//! The upstream poller: a time series with `[source] url` and `every` has its readings fetched
//! by the server, one tokio task per dataset, and stored through [`apply`] like a push.
//!
//! Each poll is a conditional GET (`If-None-Match`/`If-Modified-Since` from the last stored
//! answer) with a connect and a total timeout and a body limit. A failure (no connection,
//! timeout, non-2xx, unreadable body, a refused store) doubles the wait before the next try,
//! up to [`MAX_WAIT`]; a success returns to `every`. Every poll is one JSON line in
//! `<data>/datasets/<id>/polls.jsonl`, served by `GET /api/datasets/{id}/polls`.
//!
//! A supervisor task keeps the pollers in step with the data root: every [`SYNC_EVERY`] it
//! looks at each published dataset's dataset.toml (re-read only when it changed), starts a
//! poller for a new feed, restarts one whose feed changed and stops one whose feed is gone.
//!
//! Configuration (environment, read at start): `ALLMENDE_POLL_TIMEOUT_MS`, the total time a
//! poll may take (default 30 000; the connect timeout is 5 s or less).

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use allmende_catalog::Catalog;
use allmende_ingest::live::{Feed, FeedFormat, Reading, ReadingError};
use allmende_ingest::{CONFIG_FILE, DatasetToml};
use axum::Json;
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::header;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;

use super::apply;
use crate::error::ApiError;
use crate::state::AppState;

/// The poll log of a dataset, in its folder.
pub const POLLS_FILE: &str = "polls.jsonl";
/// Largest answer read; a larger one fails the poll.
const MAX_BODY: usize = 8 * 1024 * 1024;
/// The longest wait between failed polls (unless `every` is longer).
const MAX_WAIT: Duration = Duration::from_secs(3600);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const DEFAULT_TIMEOUT_MS: u64 = 30_000;
/// How often the supervisor looks for new, changed and removed feeds.
const SYNC_EVERY: Duration = Duration::from_secs(2);
/// Rejection messages kept per logged poll.
const ERRORS_LOGGED: usize = 5;
/// Entries `GET …/polls` returns by default, and at most.
const DEFAULT_ENTRIES: usize = 50;
const MAX_ENTRIES: usize = 1000;

/// One poll, as logged.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct PollRecord {
    /// When the poll began (RFC 3339, UTC).
    pub started: String,
    pub duration_ms: u64,
    pub url: String,
    /// The upstream's HTTP status; none when no answer came.
    pub status: Option<u16>,
    /// `stored`, `not_modified` or `failed`.
    pub outcome: String,
    /// Readings in the answer.
    pub received: usize,
    pub accepted: usize,
    pub duplicates: usize,
    pub corrections: usize,
    /// Readings refused by the checks (format, unknown station of a CSV feed, …).
    pub rejected: usize,
    /// Readings of a PEGELONLINE feed for stations the dataset does not have (the service
    /// lists all its stations): left out, not stored.
    pub other_stations: usize,
    /// Why the poll failed.
    pub error: Option<String>,
    /// The first rejections' messages.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rejections: Vec<String>,
    /// Failed polls in a row, this one included.
    pub failures: u32,
    /// The wait before the next poll, and when it is due.
    pub wait_ms: u64,
    pub next_poll: String,
}

/// The validators of the last stored answer.
#[derive(Debug, Default, Clone)]
struct Validators {
    etag: Option<String>,
    last_modified: Option<String>,
}

/// Starts the supervisor of the pollers; it runs as long as the runtime.
pub fn start(state: AppState) {
    let timeout_ms = std::env::var("ALLMENDE_POLL_TIMEOUT_MS")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|ms| *ms > 0)
        .unwrap_or(DEFAULT_TIMEOUT_MS);
    let timeout = Duration::from_millis(timeout_ms);
    let client = reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT.min(timeout))
        .timeout(timeout)
        .user_agent(concat!("allmende/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_default();
    tokio::spawn(supervise(state, client, timeout));
}

/// What the supervisor knows of a dataset.toml: its stamp and its feed.
type Known = HashMap<String, ((Option<SystemTime>, u64), Option<Feed>)>;

async fn supervise(state: AppState, client: reqwest::Client, timeout: Duration) {
    let mut known: Known = HashMap::new();
    let mut running: HashMap<String, (Feed, tokio::task::JoinHandle<()>)> = HashMap::new();
    loop {
        let root = state.root().to_owned();
        let scanned = tokio::task::spawn_blocking(move || {
            let feeds = feeds(&root, &mut known);
            (feeds, known)
        })
        .await;
        let wanted = match scanned {
            Ok((feeds, k)) => {
                known = k;
                feeds
            }
            Err(e) => {
                tracing::error!("pollers: scanning the datasets failed: {e}");
                known = HashMap::new();
                HashMap::new()
            }
        };
        running.retain(|id, (feed, task)| {
            let keep = wanted.get(id) == Some(feed) && !task.is_finished();
            if !keep {
                task.abort();
                tracing::info!("{id}: poller of {} stopped", feed.url);
            }
            keep
        });
        for (id, feed) in wanted {
            if running.contains_key(&id) {
                continue;
            }
            tracing::info!("{id}: polling {} every {} ms", feed.url, feed.every_ms);
            let task = tokio::spawn(run(
                state.clone(),
                client.clone(),
                timeout,
                id.clone(),
                feed.clone(),
            ));
            running.insert(id, (feed, task));
        }
        tokio::time::sleep(SYNC_EVERY).await;
    }
}

/// The feeds of the published datasets, by id; a dataset.toml is parsed again only when its
/// modification time or size changed.
fn feeds(root: &Path, known: &mut Known) -> HashMap<String, Feed> {
    let Ok(entries) = std::fs::read_dir(root.join("datasets")) else {
        known.clear();
        return HashMap::new();
    };
    let mut seen = HashSet::new();
    let mut out = HashMap::new();
    for dir in entries.filter_map(|e| e.ok()).map(|e| e.path()) {
        let Some(id) = dir.file_name().and_then(|n| n.to_str()).map(str::to_owned) else {
            continue;
        };
        let toml = dir.join(CONFIG_FILE);
        let (Ok(meta), true) = (
            std::fs::metadata(&toml),
            dir.join("manifest.json").is_file(),
        ) else {
            continue;
        };
        seen.insert(id.clone());
        let stamp = (meta.modified().ok(), meta.len());
        let feed = match known.get(&id) {
            Some((s, feed)) if *s == stamp => feed.clone(),
            _ => {
                let feed = read_feed(&toml, &id);
                known.insert(id.clone(), (stamp, feed.clone()));
                feed
            }
        };
        if let Some(feed) = feed {
            out.insert(id, feed);
        }
    }
    known.retain(|id, _| seen.contains(id));
    out
}

fn read_feed(toml: &Path, id: &str) -> Option<Feed> {
    let text = std::fs::read_to_string(toml).ok()?;
    match DatasetToml::parse(&text).and_then(|t| t.feed()) {
        Ok(feed) => feed,
        Err(e) => {
            tracing::warn!("{id}: no polling: {e}");
            None
        }
    }
}

/// The feed of a dataset, from its dataset.toml; none without one.
pub(crate) fn feed(root: &Path, id: &str) -> Option<Feed> {
    let toml = Catalog::dataset_dir(root, id).join(CONFIG_FILE);
    let text = std::fs::read_to_string(toml).ok()?;
    DatasetToml::parse(&text).ok()?.feed().ok().flatten()
}

fn log_path(root: &Path, id: &str) -> PathBuf {
    Catalog::dataset_dir(root, id).join(POLLS_FILE)
}

/// The wait after `failures` failed polls in a row: `every`, then doubled for each further
/// failure (`every`, 2×, 4×, …), at most [`MAX_WAIT`] (or `every`, when that is longer).
fn wait_after(every: Duration, failures: u32) -> Duration {
    let factor = 1u32 << failures.saturating_sub(1).min(20);
    every.saturating_mul(factor).min(MAX_WAIT.max(every))
}

/// Polls one feed for good (until the supervisor aborts it).
async fn run(state: AppState, client: reqwest::Client, timeout: Duration, id: String, feed: Feed) {
    let every = Duration::from_millis(u64::try_from(feed.every_ms).unwrap_or(1000));
    let log = log_path(state.root(), &id);
    let mut validators = Validators::default();
    let mut failures = 0u32;
    loop {
        let started = chrono::Utc::now();
        let clock = Instant::now();
        let mut record = poll(&state, &client, timeout, &id, &feed, &mut validators).await;
        failures = if record.outcome == "failed" {
            failures.saturating_add(1)
        } else {
            0
        };
        let wait = wait_after(every, failures);
        record.started = started.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        record.duration_ms = u64::try_from(clock.elapsed().as_millis()).unwrap_or(u64::MAX);
        record.url = feed.url.clone();
        record.failures = failures;
        record.wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX);
        record.next_poll = (chrono::Utc::now()
            + chrono::Duration::from_std(wait).unwrap_or_default())
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        if let Some(error) = &record.error {
            tracing::warn!("{id}: poll of {} failed: {error}", feed.url);
        }
        append(&log, &record).await;
        tokio::time::sleep(wait).await;
    }
}

/// One poll; the caller fills in the timing.
async fn poll(
    state: &AppState,
    client: &reqwest::Client,
    timeout: Duration,
    id: &str,
    feed: &Feed,
    validators: &mut Validators,
) -> PollRecord {
    let failed = |status: Option<u16>, error: String| PollRecord {
        status,
        outcome: "failed".into(),
        error: Some(error),
        ..PollRecord::default()
    };
    let mut request = client.get(&feed.url);
    if let Some(etag) = &validators.etag {
        request = request.header(header::IF_NONE_MATCH, etag);
    }
    if let Some(since) = &validators.last_modified {
        request = request.header(header::IF_MODIFIED_SINCE, since);
    }
    let mut response = match request.send().await {
        Ok(r) => r,
        Err(e) => return failed(None, describe(&e, timeout)),
    };
    let status = response.status();
    let code = Some(status.as_u16());
    if status == reqwest::StatusCode::NOT_MODIFIED {
        return PollRecord {
            status: code,
            outcome: "not_modified".into(),
            ..PollRecord::default()
        };
    }
    if !status.is_success() {
        return failed(code, format!("the upstream answered {status}"));
    }
    let text = |name: header::HeaderName| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let fresh = Validators {
        etag: text(header::ETAG),
        last_modified: text(header::LAST_MODIFIED),
    };
    let content_type = text(header::CONTENT_TYPE);
    if response
        .content_length()
        .is_some_and(|n| n > MAX_BODY as u64)
    {
        return failed(code, format!("the answer is larger than {MAX_BODY} bytes"));
    }
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) if body.len() + chunk.len() > MAX_BODY => {
                return failed(code, format!("the answer is larger than {MAX_BODY} bytes"));
            }
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            Ok(None) => break,
            Err(e) => return failed(code, describe(&e, timeout)),
        }
    }
    let readings = match feed.read(content_type.as_deref(), &body) {
        Ok(r) => r,
        Err(e) => return failed(code, format!("unreadable answer: {e}")),
    };
    let received = readings.len();
    let national = feed.format_of(content_type.as_deref(), &body) == FeedFormat::Pegelonline;
    let (readings, other_stations) = match own_stations(state, id, readings, national).await {
        Ok(r) => r,
        Err(e) => return failed(code, e.description),
    };
    match apply(state, id, readings).await {
        Ok(outcome) => {
            // Only a stored answer may be skipped next time.
            *validators = fresh;
            PollRecord {
                status: code,
                outcome: "stored".into(),
                received,
                accepted: outcome.accepted,
                duplicates: outcome.duplicates,
                corrections: outcome.corrections.len(),
                rejected: outcome.rejected.len(),
                rejections: outcome
                    .rejected
                    .iter()
                    .take(ERRORS_LOGGED)
                    .map(|r| r.error.clone())
                    .collect(),
                other_stations,
                ..PollRecord::default()
            }
        }
        Err(e) => PollRecord {
            received,
            other_stations,
            ..failed(code, format!("not stored: {}", e.description))
        },
    }
}

/// Spells the readings' stations as the dataset does (PEGELONLINE shortnames are upper case:
/// `AHLEN` is our `Ahlen`). With `drop_others` (a PEGELONLINE list carries every station of
/// the service) the readings of other stations are left out and counted; otherwise they go
/// on and are rejected as unknown, as in a push.
async fn own_stations(
    state: &AppState,
    id: &str,
    readings: Vec<Result<Reading, ReadingError>>,
    drop_others: bool,
) -> Result<(Vec<Result<Reading, ReadingError>>, usize), ApiError> {
    let ids: Vec<String> = super::read_series(state, id, |series| {
        series.stations().map(|s| s.id.clone()).collect()
    })
    .await?;
    let exact: HashSet<&str> = ids.iter().map(String::as_str).collect();
    let folded: HashMap<String, &str> =
        ids.iter().map(|s| (s.to_lowercase(), s.as_str())).collect();
    let mut others = 0;
    let mut kept = Vec::with_capacity(readings.len());
    for reading in readings {
        match reading {
            Ok(mut r) if !exact.contains(r.station.as_str()) => {
                match folded.get(&r.station.to_lowercase()) {
                    Some(ours) => {
                        r.station = (*ours).to_owned();
                        kept.push(Ok(r));
                    }
                    None if drop_others => others += 1,
                    None => kept.push(Ok(r)),
                }
            }
            other => kept.push(other),
        }
    }
    Ok((kept, others))
}

/// A failed request in words, without its URL (the log names it once).
fn describe(e: &reqwest::Error, timeout: Duration) -> String {
    if e.is_timeout() {
        return format!(
            "no complete answer within {} ms (timeout)",
            timeout.as_millis()
        );
    }
    let mut text = if e.is_connect() {
        "could not connect".to_owned()
    } else {
        "request failed".to_owned()
    };
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

async fn append(path: &Path, record: &PollRecord) {
    let mut line = serde_json::to_vec(record).unwrap_or_default();
    line.push(b'\n');
    let written = async {
        let mut file = tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .await?;
        file.write_all(&line).await?;
        file.flush().await
    }
    .await;
    if let Err(e) = written {
        tracing::error!("poll log {}: {e}", path.display());
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PollsParams {
    /// Entries to return, newest first (default 50, at most 1000).
    limit: Option<usize>,
}

/// `GET /api/datasets/{id}/polls[?limit=N]`: the feed (`url`, `every_ms`) and its last polls,
/// newest first.
pub async fn polls(
    State(state): State<AppState>,
    UrlPath(id): UrlPath<String>,
    params: Result<Query<PollsParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(params) = params.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let limit = params.limit.unwrap_or(DEFAULT_ENTRIES).min(MAX_ENTRIES);
    if !super::is_series(state.root(), &id) {
        return Err(ApiError::not_found(format!(
            "dataset '{id}' is not a time series"
        )));
    }
    let feed = feed(state.root(), &id);
    let text = match tokio::fs::read_to_string(log_path(state.root(), &id)).await {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(ApiError::internal(e)),
    };
    // A line cut short by a crash is skipped.
    let entries: Vec<PollRecord> = text
        .lines()
        .rev()
        .filter_map(|l| serde_json::from_str(l).ok())
        .take(limit)
        .collect();
    Ok(Json(json!({
        "dataset": id,
        "url": feed.as_ref().map(|f| &f.url),
        "every_ms": feed.as_ref().map(|f| f.every_ms),
        "polls": entries,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_after_failures_up_to_the_cap() {
        let every = Duration::from_secs(900);
        let waits: Vec<u64> = (0..6).map(|n| wait_after(every, n).as_secs()).collect();
        assert_eq!(waits, [900, 900, 1800, 3600, 3600, 3600]);
        // A feed polled less often than the cap keeps its own pace.
        let daily = Duration::from_secs(86_400);
        assert_eq!(wait_after(daily, 5), daily);
        assert_eq!(wait_after(Duration::from_secs(1), 40).as_secs(), 3600);
    }
}
