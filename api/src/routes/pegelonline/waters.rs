//! `waters.json`: the rivers and lakes of the stations.

use std::collections::BTreeMap;

use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::Value;

use super::gauges;
use super::{Failure, Params, respond};
use crate::state::AppState;

/// Every water with a station, sorted by shortname. `ids` (water shortnames) and `stations`
/// (uuid, number or shortname) filter; `includeStations` lists each water's stations (with the
/// `include…` flags of `stations.json`).
pub async fn list(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, Failure> {
    let params = Params::parse(query.as_deref())?;
    let include = super::stations::include(&params)?;
    let with_stations = params.flag("includeStations")?;
    let ids = params.list("ids");
    let stations = params.list("stations");
    let all = gauges::all(&state).await?;
    let mut waters: BTreeMap<String, (Value, Vec<Value>)> = BTreeMap::new();
    for gauge in &all {
        if gauge.water.as_deref().is_none_or(|w| w.trim().is_empty()) {
            continue;
        }
        if !stations.is_empty() && !gauge.named(&stations) {
            continue;
        }
        let water = gauge.water_json();
        let short = water["shortname"].as_str().unwrap_or_default().to_owned();
        if !ids.is_empty() && !ids.iter().any(|i| i.eq_ignore_ascii_case(&short)) {
            continue;
        }
        let entry = waters.entry(short).or_insert_with(|| (water, Vec::new()));
        if with_stations {
            entry.1.push(gauge.json(&include, &[]));
        }
    }
    let body: Vec<Value> = waters
        .into_values()
        .map(|(mut water, list)| {
            if with_stations && let Some(object) = water.as_object_mut() {
                object.insert("stations".into(), Value::Array(list));
            }
            water
        })
        .collect();
    respond(&headers, &params, &Value::Array(body))
}
