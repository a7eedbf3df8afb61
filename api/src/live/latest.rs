//! `GET /api/datasets/{id}/latest`: each station's latest value, level and trend, from memory.

use allmende_ingest::live::Latest;
use axum::body::Bytes;
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
    let gzip = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|e| e.trim().starts_with("gzip")));
    let bodies = &latest.bodies;
    let (kind, body) = match (geojson, gzip) {
        (true, false) => ("application/geo+json", bodies.geojson.clone()),
        (true, true) => ("application/geo+json", bodies.geojson_gz.clone()),
        (false, false) => ("application/json", bodies.json.clone()),
        (false, true) => ("application/json", bodies.json_gz.clone()),
    };
    let mut response = (
        [
            (header::CONTENT_TYPE, kind.to_owned()),
            (header::ETAG, etag),
            (header::VARY, "Accept, Accept-Encoding".to_owned()),
        ],
        body,
    )
        .into_response();
    if gzip {
        response.headers_mut().insert(
            header::CONTENT_ENCODING,
            axum::http::HeaderValue::from_static("gzip"),
        );
    }
    Ok(response)
}

/// The bodies of `/latest`, rendered once per push.
#[derive(Debug)]
pub(super) struct Bodies {
    pub json: Bytes,
    pub geojson: Bytes,
    pub json_gz: Bytes,
    pub geojson_gz: Bytes,
}

impl Bodies {
    pub fn render(id: &str, levels: &[String], stations: &[Latest]) -> Bodies {
        let json = serde_json::to_vec(&json!({
            "dataset": id,
            "levels": levels,
            "stations": stations,
        }))
        .unwrap_or_default();
        let features: Vec<Value> = stations
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
        let geojson =
            serde_json::to_vec(&json!({"type": "FeatureCollection", "features": features}))
                .unwrap_or_default();
        Bodies {
            json_gz: gzip(&json),
            geojson_gz: gzip(&geojson),
            json: json.into(),
            geojson: geojson.into(),
        }
    }
}

fn gzip(bytes: &[u8]) -> Bytes {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    match encoder.write_all(bytes).and_then(|()| encoder.finish()) {
        Ok(gz) => gz.into(),
        Err(_) => Bytes::new(),
    }
}
