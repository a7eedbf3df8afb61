//! A PEGELONLINE-compatible read API (the WSV's gauge service, REST API v2, see
//! `../shared/standards/pegelonline/`) at `/pegelonline/rest-api/v2/`, over every time-series
//! dataset of the catalogue, so that gauge clients (Home Assistant through `aiopegelonline`,
//! ioBroker, dashboards) read our gauges as they read the federal ones.
//!
//! Stations are those of the datasets' station tables with stable uuids ([`uuid`]); each
//! parameter with readings is a timeseries (`W` for water level). Every answer carries an ETag
//! of its bytes and is 304 for a matching `If-None-Match`. Errors are PEGELONLINE's
//! `{"status", "message"}`.

mod gauges;
mod measurements;
mod stations;
mod timeseries;
mod uuid;
mod waters;

/// For the gauge pages' links to a station's measurements.
pub(crate) use gauges::shortname;
pub(crate) use uuid::station as station_uuid;

use axum::Router;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use sha2::Digest;

use crate::error::ApiError;
use crate::state::AppState;

/// Where the API is mounted.
pub const BASE: &str = "/pegelonline/rest-api/v2";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(&format!("{BASE}/stations.json"), get(stations::list))
        .route(&format!("{BASE}/stations/{{file}}"), get(stations::one))
        .route(
            &format!("{BASE}/stations/{{station}}/{{file}}"),
            get(timeseries::one),
        )
        .route(
            &format!("{BASE}/stations/{{station}}/{{timeseries}}/{{file}}"),
            get(measurements::resource),
        )
        .route(&format!("{BASE}/waters.json"), get(waters::list))
}

/// An error as PEGELONLINE answers it: `{"status": 404, "message": "…"}`.
#[derive(Debug)]
pub struct Failure(StatusCode, String);

impl Failure {
    fn not_found(message: impl Into<String>) -> Failure {
        Failure(StatusCode::NOT_FOUND, message.into())
    }

    fn bad_request(message: impl Into<String>) -> Failure {
        Failure(StatusCode::BAD_REQUEST, message.into())
    }
}

impl From<ApiError> for Failure {
    fn from(e: ApiError) -> Failure {
        Failure(e.status, e.description)
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        (
            self.0,
            axum::Json(json!({"status": self.0.as_u16(), "message": self.1})),
        )
            .into_response()
    }
}

/// The query parameters, as PEGELONLINE reads them: unknown ones (`charset`, …) are ignored,
/// lists are comma-separated or repeated.
#[derive(Debug, Default)]
pub struct Params(Vec<(String, String)>);

impl Params {
    fn parse(raw: Option<&str>) -> Result<Params, Failure> {
        serde_urlencoded::from_str(raw.unwrap_or(""))
            .map(Params)
            .map_err(|e| Failure::bad_request(format!("query string: {e}")))
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    /// `true`/`false` (any case); absent is false.
    fn flag(&self, name: &str) -> Result<bool, Failure> {
        match self.get(name) {
            None => Ok(false),
            Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
            Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
            Some(v) => Err(Failure::bad_request(format!(
                "{name}={v}: use true or false"
            ))),
        }
    }

    fn list(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .flat_map(|(_, v)| v.split(','))
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
            .collect()
    }

    fn number(&self, name: &str) -> Result<Option<f64>, Failure> {
        self.get(name)
            .map(|v| {
                v.trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|n| n.is_finite())
                    .ok_or_else(|| Failure::bad_request(format!("{name}={v}: not a number")))
            })
            .transpose()
    }
}

/// The answer: JSON (indented unless `prettyprint=false`) with an ETag of its bytes; 304 when
/// `If-None-Match` names it.
fn respond(headers: &HeaderMap, params: &Params, body: &Value) -> Result<Response, Failure> {
    let pretty = match params.get("prettyprint") {
        Some(v) if v.eq_ignore_ascii_case("false") => false,
        Some(v) if v.eq_ignore_ascii_case("true") => true,
        Some(v) => {
            return Err(Failure::bad_request(format!(
                "prettyprint={v}: use true or false"
            )));
        }
        None => true,
    };
    let bytes = if pretty {
        serde_json::to_vec_pretty(body)
    } else {
        serde_json::to_vec(body)
    }
    .map_err(|e| Failure::from(ApiError::internal(e)))?;
    let digest = sha2::Sha256::digest(&bytes);
    let etag = format!("\"{}\"", hex::encode(&digest[..16]));
    let unchanged = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .map(|t| t.trim().trim_start_matches("W/"))
                .any(|t| t == etag || t == "*")
        });
    if unchanged {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response());
    }
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "application/json; charset=utf-8".to_owned(),
            ),
            (header::ETAG, etag),
        ],
        bytes,
    )
        .into_response())
}

/// `name.json` → `name`; other files are not here.
fn strip_json(file: &str) -> Result<&str, Failure> {
    file.strip_suffix(".json")
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            Failure::not_found(format!("{file}: this API answers in JSON only (name.json)"))
        })
}
