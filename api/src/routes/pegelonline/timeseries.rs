//! `stations/{station}/{timeseries}.json`: one timeseries of a station.

use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;

use super::gauges::{self, Include};
use super::{Failure, Params, respond, strip_json};
use crate::state::AppState;

pub async fn one(
    State(state): State<AppState>,
    Path((station, file)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, Failure> {
    let key = strip_json(&file)?;
    let params = Params::parse(query.as_deref())?;
    let include = Include {
        timeseries: true,
        ..super::stations::include(&params)?
    };
    let all = gauges::all(&state).await?;
    let (_, series) = lookup(&all, &station, key)?;
    respond(&headers, &params, &series.json(&include))
}

/// The station and its timeseries, or PEGELONLINE's 404s.
pub fn lookup<'a>(
    all: &'a [gauges::Gauge],
    station: &str,
    timeseries: &str,
) -> Result<(&'a gauges::Gauge, &'a gauges::Timeseries), Failure> {
    let gauge = gauges::find(all, station)
        .ok_or_else(|| Failure::not_found(format!("Station '{station}' does not exist.")))?;
    let series = gauge.timeseries(timeseries).ok_or_else(|| {
        Failure::not_found(format!(
            "Timeseries '{timeseries}' does not exist at station '{station}'."
        ))
    })?;
    Ok((gauge, series))
}
