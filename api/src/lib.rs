//! Allmende's HTTP server: the catalogue JSON API, downloads with Range and ETag, and SQL.
//!
//! [`router`] builds the axum `Router` over an [`AppState`]; [`serve`] binds a socket and runs
//! it until Ctrl-C.

mod admin;
mod alerts;
mod base_url;
mod error;
mod live;
mod pages;
mod routes;
mod state;

use std::net::SocketAddr;

pub use admin::AdminTokens;
pub use base_url::BaseUrl;
pub use error::ApiError;
pub use state::AppState;

/// Starts the replay of archived readings for each time series with `[timeseries.replay]`
/// (demonstrations: `allmende demo`, `allmende serve --replay`).
pub async fn start_replays(state: &AppState) {
    live::replay::start(state).await;
}

/// The complete router.
pub fn router(state: AppState) -> axum::Router {
    routes::router(state)
}

/// Serves `state` on `listener` until Ctrl-C, SIGTERM or `stop` completes; the time series'
/// upstream feeds are polled meanwhile.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let streams = state.clone();
    tokio::spawn(alerts::resume_deliveries(state.clone()));
    live::poll::start(state.clone());
    axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        tokio::select! {
            () = shutdown_signal() => {},
            () = stop => {},
        }
        // Event streams never end by themselves; the shutdown waits for open requests.
        streams.close_streams();
    })
    .await
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down");
}
