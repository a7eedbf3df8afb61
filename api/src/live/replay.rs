//! The demo replay (`[timeseries.replay]`, on with `allmende demo` and `serve --replay`): every
//! `every`, the next step of the archive is stamped with the wall clock, marked with quality
//! `replay`, and stored through [`super::apply`], the path of a push, so levels, events, the
//! feed, CAP alerts, webhooks and the pages all see it as they would see a gauge.

use std::time::Duration;

use allmende_ingest::live::{self, Reading, replay::Replay};

use crate::state::AppState;

/// Starts a replay task for each time series that configures one.
pub async fn start(state: &AppState) {
    let Ok(snapshot) = state.snapshot().await else {
        return;
    };
    for manifest in snapshot.catalog.datasets() {
        let id = manifest.id.clone();
        let Some(config) = super::series_config(state.root(), &id).and_then(|c| c.replay) else {
            continue;
        };
        let every = match live::duration_ms(&config.every) {
            Ok(ms) if ms > 0 => Duration::from_millis(ms as u64),
            _ => continue, // refused when the dataset was ingested
        };
        let root = state.root().to_owned();
        let loaded = tokio::task::spawn_blocking(move || Replay::load(&root, &config)).await;
        let replay = match loaded {
            Ok(Ok(replay)) => replay,
            Ok(Err(e)) => {
                tracing::error!("{id}: no replay: {e}");
                continue;
            }
            Err(e) => {
                tracing::error!("{id}: no replay: {e}");
                continue;
            }
        };
        tracing::info!("{id}: replaying archived readings every {every:?}");
        tokio::spawn(run(state.clone(), id, replay, every));
    }
}

async fn run(state: AppState, id: String, mut replay: Replay, every: Duration) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        // Whole seconds, so the readings read like a gauge's.
        let now = chrono::Utc::now().timestamp() * 1000;
        let readings = replay
            .step()
            .into_iter()
            .map(|(station, value)| {
                Ok(Reading {
                    station,
                    parameter: None,
                    time: now,
                    value: (value * 10.0).round() / 10.0,
                    quality: Some("replay".into()),
                })
            })
            .collect();
        if let Err(e) = super::apply(&state, &id, readings).await {
            tracing::warn!("{id}: replayed readings not stored: {}", e.description);
        }
    }
}
