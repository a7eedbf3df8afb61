//! Webhooks: each event as a JSON POST to every configured URL, signed with
//! `X-Allmende-Signature: sha256=<hex HMAC-SHA256 of the body>`, retried with exponential
//! backoff, every attempt written to a delivery log (`<data>/webhooks/deliveries.jsonl`).
//! Each delivery is logged `queued` before the push is answered, so one that a crash or restart
//! interrupts (last entry `queued` or `retrying`) is resumed when the server starts again.
//!
//! Configuration (environment, read at start):
//! - `ALLMENDE_WEBHOOKS`: the URLs that get the events of every dataset, separated by spaces
//!   or commas (a dataset's own URLs are `webhooks = […]` in its `[timeseries]` table);
//! - `ALLMENDE_WEBHOOK_SECRET`: the HMAC key (without it no signature header is sent);
//! - `ALLMENDE_WEBHOOK_ATTEMPTS`: attempts per event and URL (default 6);
//! - `ALLMENDE_WEBHOOK_BACKOFF_MS`: the wait before the first retry (default 2000), doubled
//!   for each further one and capped at 10 minutes.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;
use std::io::Write;

use tokio::sync::watch;

use super::Notice;

const LOG_DIR: &str = "webhooks";
const LOG_FILE: &str = "deliveries.jsonl";
const MAX_BACKOFF: Duration = Duration::from_secs(600);
const TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug)]
struct Config {
    urls: Vec<String>,
    secret: Option<Vec<u8>>,
    attempts: u32,
    backoff: Duration,
}

/// The configured webhooks and their delivery log.
#[derive(Debug, Clone)]
pub struct Webhooks {
    config: Arc<Config>,
    log_path: PathBuf,
    /// Serialises appends to the log (small appends; written at once, also from async code).
    writing: Arc<std::sync::Mutex<()>>,
    /// Entries in the log.
    count: watch::Sender<usize>,
    client: reqwest::Client,
}

/// One attempt to deliver one event to one URL.
#[derive(Debug, Serialize, serde::Deserialize)]
pub struct Delivery {
    pub dataset: String,
    pub event: u64,
    pub url: String,
    /// 1 for the first attempt; 0 for the entry that queues the delivery.
    pub attempt: u32,
    pub at: String,
    /// The receiver's HTTP status; none when no answer came.
    pub status: Option<u16>,
    pub error: Option<String>,
    /// `queued` (logged before the push is answered), `delivered`, `retrying` (another attempt
    /// follows) or `failed` (attempts used up).
    pub outcome: String,
}

/// `sha256=<hex>` of `body` under `key`.
pub fn signature(key: &[u8], body: &[u8]) -> String {
    // HMAC takes keys of any length.
    let mut mac = match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => return String::new(),
    };
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

fn env_number<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

impl Webhooks {
    /// From the environment (see the module documentation).
    pub fn from_env(root: &Path) -> Webhooks {
        let urls = std::env::var("ALLMENDE_WEBHOOKS")
            .unwrap_or_default()
            .split(|c: char| c.is_whitespace() || c == ',')
            .filter(|u| !u.is_empty())
            .map(str::to_owned)
            .collect();
        let secret = std::env::var("ALLMENDE_WEBHOOK_SECRET")
            .ok()
            .filter(|s| !s.is_empty())
            .map(String::into_bytes);
        let config = Config {
            urls,
            secret,
            attempts: env_number("ALLMENDE_WEBHOOK_ATTEMPTS", 6u32).max(1),
            backoff: Duration::from_millis(env_number("ALLMENDE_WEBHOOK_BACKOFF_MS", 2000u64)),
        };
        let log_path = root.join(LOG_DIR).join(LOG_FILE);
        let existing = std::fs::read_to_string(&log_path)
            .map(|t| t.lines().filter(|l| !l.trim().is_empty()).count())
            .unwrap_or(0);
        let client = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .user_agent(concat!("allmende/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default();
        Webhooks {
            config: Arc::new(config),
            log_path,
            writing: Arc::default(),
            count: watch::channel(existing).0,
            client,
        }
    }

    /// The configured URLs.
    pub fn urls(&self) -> &[String] {
        &self.config.urls
    }

    /// Follows the number of log entries.
    pub fn count(&self) -> watch::Receiver<usize> {
        self.count.subscribe()
    }

    /// Logs the delivery of `notice` to every configured URL and to `more` (the dataset's own)
    /// as queued, then delivers in the background.
    pub fn enqueue(&self, notice: Arc<Notice>, more: &[String]) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::error!("webhooks: no runtime; event {} not delivered", notice.id);
            return;
        };
        let mut urls: Vec<&String> = self.config.urls.iter().collect();
        for url in more {
            if !urls.contains(&url) {
                urls.push(url);
            }
        }
        for url in urls {
            self.record(Delivery {
                dataset: notice.dataset.clone(),
                event: notice.id,
                url: url.clone(),
                attempt: 0,
                at: now(),
                status: None,
                error: None,
                outcome: "queued".into(),
            });
            let this = self.clone();
            let url = url.clone();
            let notice = notice.clone();
            runtime.spawn(async move { this.deliver(&notice, &url, 1).await });
        }
    }

    /// Deliveries the log shows unfinished (last entry `queued` or `retrying`): dataset,
    /// event, URL and the attempt to make next.
    pub fn pending(&self) -> Vec<(String, u64, String, u32)> {
        let text = std::fs::read_to_string(&self.log_path).unwrap_or_default();
        let mut last: std::collections::BTreeMap<(String, u64, String), Delivery> =
            std::collections::BTreeMap::new();
        for delivery in text
            .lines()
            .filter_map(|l| serde_json::from_str::<Delivery>(l).ok())
        {
            let key = (
                delivery.dataset.clone(),
                delivery.event,
                delivery.url.clone(),
            );
            last.insert(key, delivery);
        }
        last.into_iter()
            .filter(|(_, d)| d.outcome == "queued" || d.outcome == "retrying")
            .map(|((dataset, event, url), d)| (dataset, event, url, d.attempt + 1))
            .collect()
    }

    /// Goes on delivering `notice` to `url` from attempt `next` (after a restart).
    pub fn resume(&self, notice: Arc<Notice>, url: String, next: u32) {
        let this = self.clone();
        tokio::spawn(async move { this.deliver(&notice, &url, next).await });
    }

    async fn deliver(&self, notice: &Notice, url: &str, first: u32) {
        let body = serde_json::to_vec(notice).unwrap_or_default();
        let mut wait = self.config.backoff;
        let last = self.config.attempts.max(first);
        for attempt in first..=last {
            let mut request = self
                .client
                .post(url)
                .header("Content-Type", "application/json")
                .header("X-Allmende-Event", "level")
                .header(
                    "X-Allmende-Delivery",
                    format!("{}-{}", notice.dataset, notice.id),
                )
                .body(body.clone());
            if let Some(key) = &self.config.secret {
                request = request.header("X-Allmende-Signature", signature(key, &body));
            }
            let (status, error) = match request.send().await {
                Ok(response) if response.status().is_success() => {
                    (Some(response.status().as_u16()), None)
                }
                Ok(response) => (
                    Some(response.status().as_u16()),
                    Some(format!("answered {}", response.status())),
                ),
                Err(e) => (None, Some(e.to_string())),
            };
            let outcome = match (&error, attempt == last) {
                (None, _) => "delivered",
                (Some(_), false) => "retrying",
                (Some(_), true) => "failed",
            };
            self.record(Delivery {
                dataset: notice.dataset.clone(),
                event: notice.id,
                url: url.to_owned(),
                attempt,
                at: now(),
                status,
                error,
                outcome: outcome.to_owned(),
            });
            if outcome != "retrying" {
                return;
            }
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(MAX_BACKOFF);
        }
    }

    fn record(&self, delivery: Delivery) {
        let mut line = serde_json::to_vec(&delivery).unwrap_or_default();
        line.push(b'\n');
        let _guard = match self.writing.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        let written = (|| {
            if let Some(dir) = self.log_path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.log_path)?
                .write_all(&line)
        })();
        match written {
            Ok(()) => self.count.send_modify(|n| *n += 1),
            Err(e) => tracing::error!("webhook log {}: {e}", self.log_path.display()),
        }
    }

    /// The delivery log, oldest first.
    pub async fn log(&self) -> std::io::Result<Vec<Delivery>> {
        let text = match tokio::fs::read_to_string(&self.log_path).await {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        Ok(text
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect())
    }
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
