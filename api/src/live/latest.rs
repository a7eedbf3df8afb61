//! `GET /api/datasets/{id}/latest`: each station's latest value, level and trend, from memory.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::entry;
use crate::error::ApiError;
use crate::state::AppState;

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
