//! `POST /sta/v1.1/CreateObservations`: the SensorThings 1.1 Data Array extension (§14.3 of OGC
//! 18-088), the way FROST clients push observations in bulk. Each Datastream id names dataset,
//! station and parameter (`dataset:station:parameter`, see [`super::model`]); the rows of each
//! dataset are stored through [`crate::live::apply`], as a push. The answer is the spec's array:
//! per row, in order, the new Observation's URL or the string `error`. The same body posted to
//! `/api/datasets/{id}/observations` answers with each rejected row's reason.

use std::collections::BTreeMap;

use allmende_ingest::live::readings::parse_time;
use allmende_ingest::live::series::format_time;
use allmende_ingest::live::{Reading, ReadingError};
use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;
use serde_json::Value;

use super::{BASE, Failure, bad};
use crate::admin::Admin;
use crate::base_url::BaseUrl;
use crate::state::AppState;

/// One row of a data array: the dataset it belongs to (empty when its Datastream is not ours)
/// and the reading or why it is not one. `index` counts rows over all arrays of the body.
#[derive(Debug)]
pub struct Row {
    pub dataset: String,
    pub reading: Result<Reading, ReadingError>,
}

#[derive(Deserialize)]
struct DataArray {
    #[serde(rename = "Datastream")]
    datastream: Option<Value>,
    components: Vec<String>,
    #[serde(rename = "dataArray")]
    data_array: Vec<Vec<Value>>,
}

/// Whether a JSON body is a CreateObservations document rather than a list of readings.
pub fn is_data_array(body: &[u8]) -> bool {
    matches!(
        serde_json::from_slice::<Value>(body),
        Ok(Value::Array(items)) if items.first().is_some_and(|i| i.get("dataArray").is_some())
    )
}

/// Reads a CreateObservations body. The whole body is refused when it is not such a document
/// or names a component we cannot store; each row is checked on its own.
pub fn parse(body: &[u8]) -> Result<Vec<Row>, String> {
    let arrays: Vec<DataArray> = serde_json::from_slice(body).map_err(|e| {
        format!("expected a CreateObservations array of {{Datastream, components, dataArray}}: {e}")
    })?;
    let mut rows = Vec::new();
    for array in arrays {
        let column = |name: &str| array.components.iter().position(|c| c == name);
        for component in &array.components {
            if !KNOWN.contains(&component.as_str()) {
                return Err(format!(
                    "component '{component}' is not supported; use {}",
                    KNOWN.join(", ")
                ));
            }
        }
        let (Some(time_at), Some(result_at)) = (column("phenomenonTime"), column("result")) else {
            return Err("components must include phenomenonTime and result".into());
        };
        let quality_at = column("resultQuality");
        let target = datastream(array.datastream.as_ref());
        for values in array.data_array {
            let index = rows.len();
            let fail = |error: String| ReadingError {
                index: Some(index),
                line: None,
                station: target.as_ref().ok().map(|t| t.1.clone()),
                time: values
                    .get(time_at)
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                error,
            };
            let reading = match &target {
                Err(e) => Err(fail(e.clone())),
                Ok(_) if values.len() != array.components.len() => Err(fail(format!(
                    "{} values for {} components",
                    values.len(),
                    array.components.len()
                ))),
                Ok((_, station, parameter)) => read_row(&values, time_at, result_at, quality_at)
                    .map(|(time, value, quality)| Reading {
                        station: station.clone(),
                        parameter: Some(parameter.clone()),
                        time,
                        value,
                        quality,
                    })
                    .map_err(fail),
            };
            rows.push(Row {
                dataset: target.as_ref().map(|t| t.0.clone()).unwrap_or_default(),
                reading,
            });
        }
    }
    Ok(rows)
}

/// The components a row may carry; `id`, `resultTime`, `FeatureOfInterest/id`, `parameters`
/// and `validTime` are accepted and not stored (the key is station, parameter and time).
const KNOWN: [&str; 8] = [
    "id",
    "phenomenonTime",
    "result",
    "resultTime",
    "resultQuality",
    "FeatureOfInterest/id",
    "parameters",
    "validTime",
];

/// Dataset, station and parameter of a `{"@iot.id": "dataset:station:parameter"}`.
fn datastream(value: Option<&Value>) -> Result<(String, String, String), String> {
    let id = value
        .and_then(|d| d.get("@iot.id"))
        .ok_or("the data array names no Datastream {\"@iot.id\": …}")?;
    let text = match id {
        Value::String(s) => s.as_str(),
        other => {
            return Err(format!(
                "Datastream {other} is not one of ours ('dataset:station:parameter')"
            ));
        }
    };
    match (text.split_once(':'), text.rsplit_once(':')) {
        (Some((dataset, _)), Some((rest, parameter))) if rest.len() > dataset.len() => Ok((
            dataset.to_owned(),
            rest[dataset.len() + 1..].to_owned(),
            parameter.to_owned(),
        )),
        _ => Err(format!(
            "Datastream '{text}' is not one of ours ('dataset:station:parameter')"
        )),
    }
}

fn read_row(
    values: &[Value],
    time_at: usize,
    result_at: usize,
    quality_at: Option<usize>,
) -> Result<(i64, f64, Option<String>), String> {
    let time = match &values[time_at] {
        Value::String(t) if t.contains('/') => {
            return Err(format!(
                "phenomenonTime '{t}' is an interval; a reading needs an instant"
            ));
        }
        Value::String(t) => parse_time(t)?,
        other => return Err(format!("phenomenonTime {other} is not a time")),
    };
    let value = match &values[result_at] {
        Value::Number(n) => n.as_f64().ok_or("result is not a finite number")?,
        Value::String(s) => s
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .ok_or_else(|| format!("result '{s}' is not a number"))?,
        other => return Err(format!("result {other} is not a number")),
    };
    let quality = quality_at.and_then(|i| match &values[i] {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    });
    Ok((time, value, quality))
}

/// A dataset's readings, and the place of each in the body.
type Group = (Vec<Result<Reading, ReadingError>>, Vec<usize>);

/// `POST /sta/v1.1/CreateObservations` (admin token, as Bearer or as the Basic password).
pub async fn create_observations(
    _: Admin,
    State(state): State<AppState>,
    base: BaseUrl,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<Vec<String>>), Failure> {
    let bytes = crate::live::read_limited(&headers, body).await?;
    let rows = parse(&bytes).map_err(bad)?;
    let mut answer = vec!["error".to_owned(); rows.len()];
    // Per dataset, the readings with the position of each in the body.
    let mut by_dataset: BTreeMap<String, Group> = BTreeMap::new();
    for (index, row) in rows.into_iter().enumerate() {
        if row.reading.is_ok() {
            let (readings, places) = by_dataset.entry(row.dataset).or_default();
            readings.push(row.reading);
            places.push(index);
        }
    }
    for (dataset, (readings, places)) in by_dataset {
        let links: Vec<Option<String>> = readings
            .iter()
            .map(|r| {
                r.as_ref().ok().map(|r| {
                    let id = format!(
                        "{dataset}:{}:{}:{}",
                        r.station,
                        r.parameter.as_deref().unwrap_or_default(),
                        format_time(r.time)
                    );
                    base.join(&format!(
                        "{BASE}/Observations('{}')",
                        id.replace('\'', "''")
                    ))
                })
            })
            .collect();
        let outcome = match crate::live::apply(&state, &dataset, readings).await {
            Ok(outcome) => outcome,
            // An unknown dataset or one that is not a time series: its rows stay `error`.
            Err(e) if e.status == StatusCode::NOT_FOUND => continue,
            Err(e) => return Err(e.into()),
        };
        let rejected: Vec<usize> = outcome.rejected.iter().filter_map(|r| r.index).collect();
        for (position, (place, link)) in places.iter().zip(links).enumerate() {
            if !rejected.contains(&position)
                && let Some(link) = link
            {
                answer[*place] = link;
            }
        }
    }
    Ok((StatusCode::CREATED, Json(answer)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of OGC 18-088 §14.3.1, with our Datastream ids (the spec's use numbers).
    #[test]
    fn the_specs_example_reads_row_by_row() {
        let body = br#"[
          {"Datastream": {"@iot.id": "pegel:Ahlen:W"},
           "components": ["phenomenonTime", "result", "FeatureOfInterest/id"],
           "dataArray@iot.count": 2,
           "dataArray": [["2010-12-23T10:20:00-0700", 20, 1], ["2010-12-23T10:21:00-0700", 30, 1]]},
          {"Datastream": {"@iot.id": "pegel:Hagen:Eckesey:Q"},
           "components": ["phenomenonTime", "result", "resultQuality"],
           "dataArray": [["2010-12-23T17:22:00Z", "6.5", "good"], ["2010-12-23", 1, null],
                         ["2010-12-23T17:23:00Z/2010-12-23T17:24:00Z", 1, null], ["2010-12-23T17:25:00Z", 1]]},
          {"Datastream": {"@iot.id": 42}, "components": ["phenomenonTime", "result"],
           "dataArray": [["2010-12-23T17:22:00Z", 1]]}
        ]"#;
        let rows = parse(body).expect("a data array");
        assert_eq!(rows.len(), 7);
        let first = rows[0].reading.as_ref().expect("first row");
        assert_eq!(
            (rows[0].dataset.as_str(), first.station.as_str()),
            ("pegel", "Ahlen")
        );
        assert_eq!(first.parameter.as_deref(), Some("W"));
        // 10:20 at -07:00 is 17:20 UTC.
        assert_eq!(format_time(first.time), "2010-12-23T17:20:00Z");
        assert_eq!(first.value, 20.0);
        let third = rows[2].reading.as_ref().expect("a station with a colon");
        assert_eq!(third.station, "Hagen:Eckesey");
        assert_eq!((third.value, third.quality.as_deref()), (6.5, Some("good")));
        let errors: Vec<String> = rows[3..]
            .iter()
            .map(|r| r.reading.as_ref().expect_err("refused").error.clone())
            .collect();
        assert!(
            errors[0].contains("no zone") || errors[0].contains("RFC 3339"),
            "{errors:?}"
        );
        assert!(errors[1].contains("interval"), "{errors:?}");
        assert!(
            errors[2].contains("2 values for 3 components"),
            "{errors:?}"
        );
        assert!(errors[3].contains("not one of ours"), "{errors:?}");
        assert_eq!(rows[6].reading.as_ref().expect_err("").index, Some(6));
    }

    #[test]
    fn a_body_that_is_no_data_array_or_names_unknown_components_is_refused() {
        assert!(parse(b"{}").is_err());
        assert!(parse(br#"[{"components": ["result"], "dataArray": []}]"#).is_err());
        let unknown = br#"[{"Datastream": {"@iot.id": "a:b:W"}, "components": ["phenomenonTime", "result", "colour"], "dataArray": []}]"#;
        assert!(parse(unknown).expect_err("refused").contains("colour"));
        assert!(is_data_array(br#"[{"dataArray": []}]"#));
        assert!(!is_data_array(
            br#"[{"station": "a", "time": "2024-01-01T00:00:00Z", "value": 1}]"#
        ));
    }
}
