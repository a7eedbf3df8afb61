//! The routes, one module per resource.

mod datasets;
mod download;
mod sql;

use axum::Router;
use axum::routing::get;
use serde_json::json;

use crate::error::ApiError;
use crate::state::AppState;

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/api/datasets", get(datasets::list))
        .route("/api/datasets/{id}", get(datasets::detail))
        .route("/api/datasets/{id}/{file}", get(download::latest))
        .route(
            "/api/datasets/{id}/versions/{n}/{file}",
            get(download::version),
        )
        .route("/api/sql", get(sql::get).post(sql::post))
        .fallback(not_found)
        .with_state(state)
}

async fn health(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> axum::Json<serde_json::Value> {
    axum::Json(json!({ "status": "ok", "datasets": state.catalog.datasets().count() }))
}

async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::not_found(format!("no resource at {}", uri.path()))
}
