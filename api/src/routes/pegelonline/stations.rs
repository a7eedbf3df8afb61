//! `stations.json` (with the filters and the radius search) and `stations/{station}.json`.

use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::Value;

use super::gauges::{self, Include};
use super::{Failure, Params, respond, strip_json};
use crate::state::AppState;

/// The `include…` flags of a request.
pub fn include(params: &Params) -> Result<Include, Failure> {
    Ok(Include {
        timeseries: params.flag("includeTimeseries")?,
        current: params.flag("includeCurrentMeasurement")?,
        characteristic: params.flag("includeCharacteristicValues")?,
    })
}

/// `GET stations.json`: every station, sorted by water and name. Filters: `ids` (uuid, number
/// or shortname), `waters` (water shortnames), `timeseries` (stations with one of these, and
/// only those in the answer), `fuzzyId` (part of uuid, number or name), `latitude` +
/// `longitude` + `radius` (km), then `offset` and `limit`.
pub async fn list(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, Failure> {
    let params = Params::parse(query.as_deref())?;
    let include = include(&params)?;
    let ids = params.list("ids");
    let waters = params.list("waters");
    let only = params.list("timeseries");
    let fuzzy = params.get("fuzzyId").map(str::to_lowercase);
    let near = match (
        params.number("latitude")?,
        params.number("longitude")?,
        params.number("radius")?,
    ) {
        (None, None, None) => None,
        (Some(lat), Some(lon), Some(radius)) if radius >= 0.0 => Some((lat, lon, radius)),
        _ => {
            return Err(Failure::bad_request(
                "the radius search needs latitude, longitude (WGS84 degrees) and radius (km, not negative)",
            ));
        }
    };
    if params.get("km").is_some() {
        return Err(Failure::bad_request(
            "km: the stations here have no river kilometre; search with latitude, longitude and radius",
        ));
    }
    let offset = count(&params, "offset")?.unwrap_or(0);
    let limit = count(&params, "limit")?;
    let stations: Vec<Value> = gauges::all(&state)
        .await?
        .iter()
        .filter(|g| ids.is_empty() || g.named(&ids))
        .filter(|g| {
            waters.is_empty()
                || g.water
                    .as_deref()
                    .is_some_and(|w| waters.iter().any(|x| x.eq_ignore_ascii_case(w)))
        })
        .filter(|g| only.is_empty() || only.iter().any(|o| g.timeseries(o).is_some()))
        .filter(|g| {
            fuzzy.as_ref().is_none_or(|f| {
                [&g.uuid, &g.number, &g.shortname, &g.longname]
                    .iter()
                    .any(|s| s.to_lowercase().contains(f.as_str()))
            })
        })
        .filter(|g| {
            near.is_none_or(|(lat, lon, radius)| match (g.lat, g.lon) {
                (Some(y), Some(x)) => gauges::distance_km(lat, lon, y, x) <= radius,
                _ => false,
            })
        })
        .skip(offset)
        .take(limit.unwrap_or(usize::MAX))
        .map(|g| g.json(&include, &only))
        .collect();
    respond(&headers, &params, &Value::Array(stations))
}

fn count(params: &Params, name: &str) -> Result<Option<usize>, Failure> {
    params
        .get(name)
        .map(|v| {
            v.parse::<usize>()
                .map_err(|_| Failure::bad_request(format!("{name}={v}: a whole number, 0 or more")))
        })
        .transpose()
}

/// `GET stations/{station}.json`: one station by uuid, number or shortname.
pub async fn one(
    State(state): State<AppState>,
    Path(file): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, Failure> {
    let key = strip_json(&file)?;
    let params = Params::parse(query.as_deref())?;
    let include = include(&params)?;
    let all = gauges::all(&state).await?;
    let gauge = gauges::find(&all, key)
        .ok_or_else(|| Failure::not_found(format!("Station '{key}' does not exist.")))?;
    respond(&headers, &params, &gauge.json(&include, &[]))
}
