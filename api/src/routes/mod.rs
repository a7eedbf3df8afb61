//! The routes, one module per resource.

mod ckan;
mod datapackage;
mod datasets;
mod dcat;
mod download;
mod ogc;
pub(crate) mod pegelonline;
mod sql;
pub(crate) mod sta;

use axum::Router;
use axum::http::{Method, header};
use axum::routing::get;
use serde_json::json;
use tower_http::cors::{Any, CorsLayer};
use tower_http::trace::TraceLayer;

use crate::error::ApiError;
use crate::state::AppState;

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/api/datasets", get(datasets::list))
        .route("/api/datasets/{id}", get(datasets::detail))
        .route("/api/datasets/{id}/{file}", get(download::latest))
        .route(
            "/api/datasets/{id}/datapackage.json",
            get(datapackage::latest),
        )
        .route(
            "/api/datasets/{id}/dataset.toml",
            axum::routing::put(crate::admin::put_config),
        )
        .route(
            "/api/datasets/{id}/observations",
            axum::routing::post(crate::live::push),
        )
        .route("/api/datasets/{id}/latest", get(crate::live::latest))
        .route("/api/datasets/{id}/polls", get(crate::live::polls))
        .route("/api/datasets/{id}/events", get(crate::alerts::list))
        .route("/api/datasets/{id}/events.atom", get(crate::alerts::feed))
        .route(
            "/api/datasets/{id}/events/stream",
            get(crate::alerts::stream),
        )
        .route("/api/datasets/{id}/events/{file}", get(crate::alerts::cap))
        .route("/api/events.atom", get(crate::alerts::feed_all))
        .route("/api/webhooks/deliveries", get(crate::alerts::deliveries))
        .route(
            "/api/datasets/{id}/source",
            axum::routing::post(crate::admin::upload),
        )
        .route(
            "/api/datasets/{id}/versions/{n}/{file}",
            get(download::version),
        )
        .route("/api/sql", get(sql::get).post(sql::post))
        .route(
            "/api/3/action/{action}",
            get(ckan::action).post(ckan::action),
        )
        .route("/api/action/{action}", get(ckan::action).post(ckan::action))
        .merge(dcat::routes())
        .merge(ogc::routes())
        .merge(pegelonline::routes())
        .merge(sta::routes())
        .merge(crate::pages::routes())
        .fallback(not_found)
        .layer(
            // Open data: any web page may read it; no credentials are involved.
            CorsLayer::new()
                .allow_origin(Any)
                .allow_methods([Method::GET, Method::HEAD, Method::POST, Method::PUT])
                .allow_headers([
                    header::CONTENT_TYPE,
                    header::RANGE,
                    header::IF_NONE_MATCH,
                    header::AUTHORIZATION,
                ])
                .expose_headers([
                    header::CONTENT_RANGE,
                    header::ETAG,
                    header::CONTENT_LENGTH,
                    header::ACCEPT_RANGES,
                ]),
        )
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

async fn health(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> Result<axum::Json<serde_json::Value>, ApiError> {
    let snapshot = state.snapshot().await?;
    Ok(axum::Json(
        json!({ "status": "ok", "datasets": snapshot.catalog.datasets().count() }),
    ))
}

async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::not_found(format!("no resource at {}", uri.path()))
}
