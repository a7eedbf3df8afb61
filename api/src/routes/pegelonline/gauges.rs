//! Our time-series datasets as PEGELONLINE sees them: every station of every time-series
//! dataset, with its timeseries (one per parameter) and their current measurements, read
//! from the series held in memory.

use allmende_ingest::live::Series;
use serde_json::{Value, json};

use super::{Failure, uuid};
use crate::state::AppState;

/// A station.
#[derive(Debug, Clone)]
pub struct Gauge {
    /// The dataset it belongs to.
    pub dataset: String,
    pub uuid: String,
    /// The station's id in its dataset (the `[timeseries] station` column).
    pub number: String,
    /// The name in capitals, at most 40 characters, as PEGELONLINE's shortnames are.
    pub shortname: String,
    pub longname: String,
    /// The dataset's publisher (PEGELONLINE: the waterways office).
    pub agency: String,
    pub water: Option<String>,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    pub timeseries: Vec<Timeseries>,
}

/// One parameter of a station.
#[derive(Debug, Clone)]
pub struct Timeseries {
    /// The parameter as stored (`W` unless the dataset.toml names another).
    pub parameter: String,
    pub shortname: String,
    pub longname: String,
    pub unit: String,
    /// The usual minutes between readings (the most frequent of the last 16 gaps).
    pub equidistance: Option<i64>,
    pub current: Option<Current>,
    /// The warning levels (name, threshold) of the dataset's parameter.
    pub levels: Vec<(String, f64)>,
}

/// The newest reading of a timeseries.
#[derive(Debug, Clone)]
pub struct Current {
    pub time: i64,
    pub value: f64,
    /// 1 rising, -1 falling, 0 steady against the earliest reading of the hour before.
    pub trend: Option<i8>,
    /// `high` at a warning level, `normal` below, `unknown` without warning levels.
    pub state: &'static str,
}

/// Every station of every time-series dataset, sorted by water, then shortname (as
/// PEGELONLINE sorts). A dataset whose series cannot be opened is left out and logged.
pub async fn all(state: &AppState) -> Result<Vec<Gauge>, Failure> {
    let snapshot = state.snapshot().await?;
    let mut gauges = Vec::new();
    for manifest in snapshot.catalog.datasets() {
        if manifest.latest().is_none()
            || crate::live::series_config(state.root(), &manifest.id).is_none()
        {
            continue;
        }
        let id = manifest.id.clone();
        let agency = if manifest.meta.publisher.trim().is_empty() {
            manifest.meta.title.clone()
        } else {
            manifest.meta.publisher.clone()
        };
        let dataset = id.clone();
        match crate::live::read_series(state, &id, move |s| of_series(&dataset, &agency, s)).await {
            Ok(found) => gauges.extend(found),
            Err(e) => tracing::warn!("pegelonline: dataset {id} left out: {}", e.description),
        }
    }
    gauges.sort_by(|a, b| {
        let water = |g: &Gauge| g.water.as_deref().map(str::to_uppercase);
        (water(a).is_none(), water(a), &a.shortname, &a.dataset).cmp(&(
            water(b).is_none(),
            water(b),
            &b.shortname,
            &b.dataset,
        ))
    });
    Ok(gauges)
}

/// The station named by its uuid, number or shortname (any case); the first in
/// [`all`]'s order when two datasets share a number or name.
pub fn find<'a>(gauges: &'a [Gauge], key: &str) -> Option<&'a Gauge> {
    gauges
        .iter()
        .find(|g| g.uuid.eq_ignore_ascii_case(key))
        .or_else(|| gauges.iter().find(|g| g.number == key))
        .or_else(|| {
            gauges
                .iter()
                .find(|g| g.shortname.eq_ignore_ascii_case(key))
        })
        .or_else(|| gauges.iter().find(|g| g.longname.eq_ignore_ascii_case(key)))
}

impl Gauge {
    /// The timeseries with this shortname (any case) or parameter.
    pub fn timeseries(&self, key: &str) -> Option<&Timeseries> {
        self.timeseries
            .iter()
            .find(|t| t.shortname.eq_ignore_ascii_case(key) || t.parameter == key)
    }

    /// Whether the uuid, number or shortname is one of `ids`.
    pub fn named(&self, ids: &[String]) -> bool {
        ids.iter().any(|id| {
            self.uuid.eq_ignore_ascii_case(id)
                || &self.number == id
                || self.shortname.eq_ignore_ascii_case(id)
        })
    }

    pub fn water_json(&self) -> Value {
        let water = self.water.clone().unwrap_or_default();
        json!({"shortname": water_shortname(&water), "longname": water})
    }

    /// The station object; `timeseries` only when asked, restricted to `only` when not empty.
    pub fn json(&self, include: &Include, only: &[String]) -> Value {
        let mut station = json!({
            "uuid": self.uuid,
            "number": self.number,
            "shortname": self.shortname,
            "longname": self.longname,
            "agency": self.agency,
        });
        let object = station.as_object_mut().expect("an object");
        if let (Some(lon), Some(lat)) = (self.lon, self.lat) {
            object.insert("longitude".into(), json!(lon));
            object.insert("latitude".into(), json!(lat));
        }
        object.insert("water".into(), self.water_json());
        if include.timeseries || include.current || include.characteristic {
            let series: Vec<Value> = self
                .timeseries
                .iter()
                .filter(|t| {
                    only.is_empty() || only.iter().any(|o| t.shortname.eq_ignore_ascii_case(o))
                })
                .map(|t| t.json(include))
                .collect();
            object.insert("timeseries".into(), Value::Array(series));
        }
        station
    }
}

/// What to put into a station or timeseries.
#[derive(Debug, Default, Clone, Copy)]
pub struct Include {
    pub timeseries: bool,
    pub current: bool,
    pub characteristic: bool,
}

impl Timeseries {
    pub fn json(&self, include: &Include) -> Value {
        let mut series = json!({
            "shortname": self.shortname,
            "longname": self.longname,
            "unit": self.unit,
        });
        let object = series.as_object_mut().expect("an object");
        if let Some(minutes) = self.equidistance {
            object.insert("equidistance".into(), json!(minutes));
        }
        if include.current
            && let Some(current) = &self.current
        {
            object.insert("currentMeasurement".into(), current.json());
        }
        if include.characteristic {
            let values: Vec<Value> = self
                .levels
                .iter()
                .map(|(name, value)| {
                    json!({"shortname": name, "longname": name, "unit": self.unit, "value": value})
                })
                .collect();
            object.insert("characteristicValues".into(), Value::Array(values));
        }
        series
    }
}

impl Current {
    pub fn json(&self) -> Value {
        let mut current = json!({
            "timestamp": timestamp(self.time),
            "value": self.value,
            "stateMnwMhw": self.state,
            "stateNswHsw": "unknown",
        });
        if let (Some(trend), Some(object)) = (self.trend, current.as_object_mut()) {
            object.insert("trend".into(), json!(trend));
        }
        current
    }
}

/// ISO 8601 with the offset written out (PEGELONLINE's form), in UTC.
pub fn timestamp(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false))
        .unwrap_or_default()
}

fn water_shortname(water: &str) -> String {
    water.to_uppercase()
}

/// PEGELONLINE's shortname for a parameter: `W` water level, `Q` discharge, `WT` water and
/// `LT` air temperature under their common names; others in capitals as they are.
pub fn shortname(parameter: &str) -> String {
    let short = match parameter.to_lowercase().as_str() {
        "w" | "water_level" | "waterlevel" | "wasserstand" | "level" | "pegel" => "W",
        "q" | "discharge" | "abfluss" | "flow" => "Q",
        "wt" | "water_temperature" | "wassertemperatur" => "WT",
        "lt" | "air_temperature" | "lufttemperatur" => "LT",
        _ => return parameter.to_uppercase(),
    };
    short.to_owned()
}

/// PEGELONLINE's long name of a timeseries shortname; the parameter for others.
fn longname(shortname: &str, parameter: &str) -> String {
    match shortname {
        "W" => "WASSERSTAND ROHDATEN",
        "Q" => "ABFLUSS ROHDATEN",
        "WT" => "WASSERTEMPERATUR",
        "LT" => "LUFTTEMPERATUR",
        "LF" => "ELEKTRISCHE LEITFÄHIGKEIT ROHDATEN",
        "DFH" => "DURCHFAHRTSHÖHE",
        "O2" => "SAUERSTOFFGEHALT",
        "PH" => "PH-WERT",
        "VA" => "FLIESSGESCHWINDIGKEIT",
        _ => parameter,
    }
    .to_owned()
}

/// The stations of one series, each with a timeseries per parameter it has readings of, the
/// dataset's parameter first. A timeseries without a reading is not listed: PEGELONLINE's
/// always have one, and clients (aiopegelonline) read `currentMeasurement` without checking.
fn of_series(dataset: &str, agency: &str, series: &Series) -> Vec<Gauge> {
    let config = series.config();
    series
        .stations()
        .map(|station| {
            let mut parameters = series.parameters(&station.id);
            parameters.sort_by_key(|p| *p != config.parameter);
            let timeseries = parameters
                .into_iter()
                .map(|parameter| {
                    let main = parameter == config.parameter;
                    let values = series.values(&station.id, parameter);
                    let current = values.and_then(|v| {
                        let (&time, &value) = v.iter().next_back()?;
                        let trend =
                            v.range(time - 3_600_000..time)
                                .next()
                                .map(|(_, &earlier)| match value.partial_cmp(&earlier) {
                                    Some(std::cmp::Ordering::Greater) => 1,
                                    Some(std::cmp::Ordering::Less) => -1,
                                    _ => 0,
                                });
                        let state = if !main || station.thresholds.iter().all(Option::is_none) {
                            "unknown"
                        } else if series.level(&station.id) > 0 {
                            "high"
                        } else {
                            "normal"
                        };
                        Some(Current {
                            time,
                            value,
                            trend,
                            state,
                        })
                    });
                    let equidistance = values.and_then(|v| {
                        let times: Vec<i64> = v.keys().rev().take(17).copied().collect();
                        let mut gaps: Vec<i64> = times
                            .windows(2)
                            .map(|w| (w[0] - w[1]) / 60_000)
                            .filter(|m| *m > 0)
                            .collect();
                        gaps.sort_unstable();
                        // The most frequent gap; the smaller one on a tie.
                        let mut best: Option<(usize, i64)> = None;
                        for run in gaps.chunk_by(|a, b| a == b) {
                            if best.is_none_or(|(n, _)| run.len() > n) {
                                best = Some((run.len(), run[0]));
                            }
                        }
                        best.map(|(_, m)| m)
                    });
                    let short = shortname(parameter);
                    Timeseries {
                        parameter: parameter.to_owned(),
                        longname: longname(&short, parameter),
                        shortname: short,
                        unit: if main {
                            config.unit.clone().unwrap_or_default()
                        } else {
                            String::new()
                        },
                        equidistance,
                        current,
                        levels: if main {
                            config
                                .levels
                                .iter()
                                .zip(&station.thresholds)
                                .filter_map(|(name, t)| t.map(|t| (name.clone(), t)))
                                .collect()
                        } else {
                            Vec::new()
                        },
                    }
                })
                .collect();
            Gauge {
                dataset: dataset.to_owned(),
                uuid: uuid::station(dataset, &station.id),
                number: station.id.clone(),
                shortname: station.name.to_uppercase().chars().take(40).collect(),
                longname: station.name.clone(),
                agency: agency.to_owned(),
                water: station.water.clone(),
                lon: station.lon,
                lat: station.lat,
                timeseries,
            }
        })
        .collect()
}

/// Great-circle distance in km (haversine on the mean earth radius, 6371.0088 km).
pub fn distance_km(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = p2 - p1;
    let dl = (lon2 - lon1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * 6371.0088 * a.sqrt().asin()
}
