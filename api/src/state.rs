//! What every handler shares: a snapshot of the catalogue and the query engine built from it.
//!
//! Ingests run as separate processes and commit by replacing a manifest. Each request compares
//! the manifests' modification stamps with the snapshot's (a directory listing and one `stat`
//! per dataset) and rebuilds the snapshot when they differ, so a new version is served from
//! the next request on, without a restart.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use allmende_catalog::Catalog;
use allmende_query::{Limits, QueryEngine, build_session};

use crate::admin::AdminTokens;
use crate::error::ApiError;

/// One consistent view: the catalogue and the engine over exactly its versions.
#[derive(Debug)]
pub struct Snapshot {
    pub catalog: Catalog,
    pub engine: QueryEngine,
    /// Counts snapshots up from 1 in this process: equal numbers, equal snapshot.
    pub generation: u64,
    /// The ids of the time-series datasets (their dataset.toml says `kind = "timeseries"`),
    /// read once per snapshot.
    pub series: Vec<String>,
    /// The OGC API collections of the time series' latest values (`<id>-latest`), which are
    /// no datasets of the catalogue.
    pub live_collections: Vec<allmende_catalog::Manifest>,
    stamp: Vec<(PathBuf, Option<SystemTime>, u64)>,
}

#[derive(Clone, Debug)]
pub struct AppState {
    root: PathBuf,
    limits: Limits,
    admin_tokens: Arc<AdminTokens>,
    live: Arc<crate::live::LiveSeries>,
    alerts: Arc<crate::alerts::Alerts>,
    current: Arc<RwLock<Arc<Snapshot>>>,
    rebuild: Arc<tokio::sync::Mutex<()>>,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl AppState {
    /// Reads the catalogue under `data_root` and builds the query engine over it.
    pub async fn open(data_root: &Path, limits: Limits) -> Result<AppState, BoxError> {
        let admin_tokens = Arc::new(AdminTokens::from_env()?);
        let snapshot = build(data_root, &limits).await?;
        let state = AppState {
            root: data_root.to_owned(),
            limits,
            admin_tokens,
            live: Arc::default(),
            alerts: Arc::new(crate::alerts::Alerts::new(data_root)),
            current: Arc::new(RwLock::new(Arc::new(snapshot))),
            rebuild: Arc::new(tokio::sync::Mutex::new(())),
        };
        crate::live::register_latest_tables(&state, &state.loaded());
        Ok(state)
    }

    /// The data root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The accepted admin tokens (`ALLMENDE_ADMIN_TOKENS`), as hashes.
    pub fn admin_tokens(&self) -> &AdminTokens {
        &self.admin_tokens
    }

    /// The time-series datasets held in memory.
    pub(crate) fn live(&self) -> &crate::live::LiveSeries {
        &self.live
    }

    /// Ends the open event streams (called when the server shuts down).
    pub fn close_streams(&self) {
        self.alerts.close();
    }

    /// The delivery of warning-level events (SSE, webhooks).
    pub(crate) fn alerts(&self) -> &crate::alerts::Alerts {
        &self.alerts
    }

    /// The current snapshot, rebuilt first when a manifest changed on disk.
    pub async fn snapshot(&self) -> Result<Arc<Snapshot>, ApiError> {
        let current = self.loaded();
        if stamp(&self.root) == current.stamp {
            return Ok(current);
        }
        // One rebuild at a time; whoever waited finds it done.
        let _guard = self.rebuild.lock().await;
        let current = self.loaded();
        if stamp(&self.root) == current.stamp {
            return Ok(current);
        }
        let fresh = Arc::new(
            build(&self.root, &self.limits)
                .await
                .map_err(ApiError::internal)?,
        );
        crate::live::register_latest_tables(self, &fresh);
        // A push changes only a parts manifest: worth a debug line, not one per push.
        let manifests = |s: &Snapshot| {
            s.stamp
                .iter()
                .filter(|(path, ..)| path.ends_with("manifest.json"))
                .cloned()
                .collect::<Vec<_>>()
        };
        if manifests(&fresh) == manifests(&current) {
            tracing::debug!("catalogue reloaded after a push");
        } else {
            tracing::info!(
                "catalogue reloaded: {} datasets",
                fresh.catalog.datasets().count()
            );
        }
        if let Ok(mut slot) = self.current.write() {
            *slot = fresh.clone();
        }
        Ok(fresh)
    }

    fn loaded(&self) -> Arc<Snapshot> {
        match self.current.read() {
            Ok(s) => s.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }
}

async fn build(root: &Path, limits: &Limits) -> Result<Snapshot, BoxError> {
    // Stamp first: a manifest replaced while building makes the next request rebuild again.
    let stamp = stamp(root);
    let catalog = Catalog::open(root)?;
    let engine = build_session(&catalog, limits.clone()).await?;
    static GENERATION: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let series_manifests: Vec<&allmende_catalog::Manifest> = catalog
        .datasets()
        .filter(|m| crate::live::is_series(root, &m.id))
        .collect();
    let series = series_manifests.iter().map(|m| m.id.clone()).collect();
    let live_collections = series_manifests
        .into_iter()
        .filter_map(crate::live::latest_collection)
        .collect();
    Ok(Snapshot {
        series,
        live_collections,
        catalog,
        engine,
        generation: GENERATION.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        stamp,
    })
}

/// Path, modification time and size of every manifest (and parts manifest), by path.
fn stamp(root: &Path) -> Vec<(PathBuf, Option<SystemTime>, u64)> {
    let Ok(entries) = std::fs::read_dir(root.join("datasets")) else {
        return Vec::new();
    };
    let mut stamp: Vec<_> = entries
        .filter_map(|e| e.ok())
        .flat_map(|e| {
            // A time series' parts manifest changes with every push; its SQL tables with it.
            let parts = e
                .path()
                .join(allmende_ingest::live::store::OBSERVATIONS_DIR)
                .join(allmende_ingest::live::store::PARTS_FILE);
            [e.path().join("manifest.json"), parts]
        })
        .filter_map(|path| {
            let meta = std::fs::metadata(&path).ok()?;
            Some((path, meta.modified().ok(), meta.len()))
        })
        .collect();
    stamp.sort();
    stamp
}
