//! A feed of readings the server polls (`[source] url` and `every` of a time series): what it
//! is, and its answers read as readings. Two formats: PEGELONLINE JSON (`stations.json` with
//! `includeTimeseries=true&includeCurrentMeasurement=true`, one station's `{uuid}.json`, or
//! one station's `measurements.json`) and CSV as pushed (`station,time,value`).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::readings::{self, BodyError, Reading, ReadingError};

/// The format of a feed's answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FeedFormat {
    /// PEGELONLINE REST API v2 JSON.
    Pegelonline,
    /// CSV with `station`, `time` and `value` columns, as a push takes it.
    Csv,
}

/// Which field of a PEGELONLINE station holds our station id.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StationField {
    /// `shortname`, e.g. `EITZE` (max. 40 characters).
    #[default]
    Shortname,
    /// `number`, the gauge number, e.g. `48900237`.
    Number,
    /// `longname`.
    Longname,
    /// `uuid`.
    Uuid,
}

impl StationField {
    fn key(self) -> &'static str {
        match self {
            StationField::Shortname => "shortname",
            StationField::Number => "number",
            StationField::Longname => "longname",
            StationField::Uuid => "uuid",
        }
    }
}

/// A polled feed, checked: where, how often, and how its answers are read.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Feed {
    pub url: String,
    /// Milliseconds between polls while the upstream answers.
    pub every_ms: i64,
    /// The answers' format; from each answer's Content-Type (then its first byte) when absent.
    pub format: Option<FeedFormat>,
    /// The PEGELONLINE station field that names our station.
    pub field: StationField,
    /// The station of a single-station feed (PEGELONLINE `measurements.json`).
    pub station: Option<String>,
    /// The PEGELONLINE timeseries read (`[timeseries] parameter`, `W` by default).
    pub parameter: String,
}

impl Feed {
    /// The format of an answer: the configured one, else by Content-Type (`json` or `csv` in
    /// it), else by its first non-blank byte (`[` or `{` is JSON).
    pub fn format_of(&self, content_type: Option<&str>, body: &[u8]) -> FeedFormat {
        if let Some(format) = self.format {
            return format;
        }
        let content_type = content_type.unwrap_or_default().to_ascii_lowercase();
        if content_type.contains("json") {
            FeedFormat::Pegelonline
        } else if content_type.contains("csv") {
            FeedFormat::Csv
        } else if matches!(
            body.iter().find(|b| !b.is_ascii_whitespace()),
            Some(b'[' | b'{')
        ) {
            FeedFormat::Pegelonline
        } else {
            FeedFormat::Csv
        }
    }

    /// Reads an answer as readings; each is checked on its own, as in a push.
    pub fn read(
        &self,
        content_type: Option<&str>,
        body: &[u8],
    ) -> Result<Vec<Result<Reading, ReadingError>>, BodyError> {
        match self.format_of(content_type, body) {
            FeedFormat::Csv => readings::from_csv(body),
            FeedFormat::Pegelonline => {
                from_pegelonline(body, self.field, &self.parameter, self.station.as_deref())
            }
        }
    }
}

/// Reads PEGELONLINE JSON: a list of stations (or one station) with their timeseries, one
/// reading per station whose timeseries `parameter` has a `currentMeasurement`; or, with
/// `station`, a list of `{timestamp, value}` measurements of that station. Stations without
/// the timeseries or without a current measurement are skipped.
pub fn from_pegelonline(
    body: &[u8],
    field: StationField,
    parameter: &str,
    station: Option<&str>,
) -> Result<Vec<Result<Reading, ReadingError>>, BodyError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| BodyError(format!("expected PEGELONLINE JSON: {e}")))?;
    let items = match value {
        Value::Array(items) => items,
        station @ Value::Object(_) => vec![station],
        _ => {
            return Err(BodyError(
                "expected PEGELONLINE JSON: a list of stations or measurements".into(),
            ));
        }
    };
    let measurements = items
        .first()
        .is_some_and(|i| i.get("timestamp").is_some() && i.get("timeseries").is_none());
    if measurements {
        let Some(station) = station else {
            return Err(BodyError(
                "a list of measurements names no station: set [source] station".into(),
            ));
        };
        return Ok(items
            .iter()
            .enumerate()
            .map(|(index, m)| measurement(index, station, m))
            .collect());
    }
    let mut out = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let id = match item.get(field.key()) {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => {
                out.push(Err(ReadingError {
                    index: Some(index),
                    line: None,
                    station: None,
                    time: None,
                    error: format!("station without {}", field.key()),
                }));
                continue;
            }
        };
        let current = item
            .get("timeseries")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|ts| {
                ts.get("shortname")
                    .and_then(Value::as_str)
                    .is_some_and(|s| s.eq_ignore_ascii_case(parameter))
            })
            .and_then(|ts| ts.get("currentMeasurement"));
        if let Some(current) = current {
            out.push(measurement(index, &id, current));
        }
    }
    Ok(out)
}

/// One `{timestamp, value}` of `station`.
fn measurement(index: usize, station: &str, m: &Value) -> Result<Reading, ReadingError> {
    let time = m.get("timestamp").and_then(Value::as_str);
    let fail = |error: String| ReadingError {
        index: Some(index),
        line: None,
        station: Some(station.to_owned()),
        time: time.map(str::to_owned),
        error,
    };
    let time = time.ok_or_else(|| fail("timestamp is missing".into()))?;
    let ms = readings::parse_time(time).map_err(fail)?;
    match m.get("value").and_then(Value::as_f64) {
        Some(value) if value.is_finite() => Ok(Reading {
            station: station.to_owned(),
            parameter: None,
            time: ms,
            value,
            quality: None,
        }),
        _ => Err(fail(format!(
            "value {} is not a number",
            m.get("value")
                .map_or("(missing)".to_owned(), Value::to_string)
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(format: Option<FeedFormat>) -> Feed {
        Feed {
            url: "http://127.0.0.1/stations.json".into(),
            every_ms: 900_000,
            format,
            field: StationField::Shortname,
            station: None,
            parameter: "W".into(),
        }
    }

    /// The `Station`, `Timeseries` and `CurrentMeasurement` examples of the PEGELONLINE
    /// OpenAPI description (../shared/standards/pegelonline/openapi.yaml, components.schemas):
    /// uuid 47174d8f-…, number "48900237", shortname EITZE, timeseries W (cm) with
    /// currentMeasurement {timestamp "2022-03-02T10:30:00+01:00", value 323}; a second station
    /// with only a temperature (WT) series, and a third whose W has no current measurement.
    const STATIONS: &str = r#"[
      {"uuid": "47174d8f-1b8e-4599-8a59-b580dd55bc87", "number": "48900237",
       "shortname": "EITZE", "longname": "EITZE", "km": 9.56, "agency": "VERDEN",
       "longitude": 9.276769435375872, "latitude": 52.90406544743417,
       "water": {"shortname": "ALLER", "longname": "ALLER"},
       "timeseries": [
         {"shortname": "WT", "longname": "WASSERTEMPERATUR", "unit": "°C", "equidistance": 15,
          "currentMeasurement": {"timestamp": "2022-03-02T10:30:00+01:00", "value": 6.5}},
         {"shortname": "W", "longname": "WASSERSTAND ROHDATEN", "unit": "cm", "equidistance": 15,
          "currentMeasurement": {"timestamp": "2022-03-02T10:30:00+01:00", "value": 323,
                                 "trend": -1, "stateMnwMhw": "normal", "stateNswHsw": "unknown"},
          "gaugeZero": {"unit": "m. ü. NN", "value": 8, "validFrom": "1985-03-13"}}]},
      {"uuid": "593647aa-9fea-43ec-a7d6-6476a76ae868", "number": "1", "shortname": "WARM",
       "longname": "WARM", "timeseries": [{"shortname": "WT", "unit": "°C"}]},
      {"uuid": "00000000-0000-0000-0000-000000000001", "number": 2, "shortname": "STILL",
       "longname": "STILL", "timeseries": [{"shortname": "W", "unit": "cm"}]}
    ]"#;

    #[test]
    fn pegelonline_stations_give_one_reading_per_current_water_level() {
        let readings = feed(None)
            .read(Some("application/json"), STATIONS.as_bytes())
            .expect("stations");
        assert_eq!(readings.len(), 1, "{readings:?}");
        let r = readings[0].as_ref().expect("valid");
        assert_eq!(r.station, "EITZE");
        // 2022-03-02T10:30:00+01:00 = 09:30Z: 1646213400 s (date -u -d … +%s).
        assert_eq!((r.time, r.value), (1_646_213_400_000, 323.0));
        assert_eq!(r.parameter, None);

        let by = |field| {
            from_pegelonline(STATIONS.as_bytes(), field, "W", None).expect("stations")[0]
                .as_ref()
                .expect("valid")
                .station
                .clone()
        };
        assert_eq!(by(StationField::Number), "48900237");
        assert_eq!(
            by(StationField::Uuid),
            "47174d8f-1b8e-4599-8a59-b580dd55bc87"
        );
        // Another timeseries by its shortname, case as written in the config.
        let wt = from_pegelonline(STATIONS.as_bytes(), StationField::Shortname, "wt", None)
            .expect("stations");
        assert_eq!(wt.len(), 1);
        assert_eq!(wt[0].as_ref().expect("valid").value, 6.5);
        // One station's answer (stations/{uuid}.json) is an object.
        let one = serde_json::to_vec(&serde_json::from_str::<Value>(STATIONS).expect("json")[0])
            .expect("json");
        assert_eq!(
            from_pegelonline(&one, StationField::Shortname, "W", None)
                .expect("station")
                .len(),
            1
        );
    }

    #[test]
    fn pegelonline_measurements_of_one_station() {
        // MeasurementResult's example (openapi.yaml): {timestamp "2022-02-06T10:15:00+01:00",
        // value 333}; the second is not a number.
        let body = br#"[{"timestamp": "2022-02-06T10:15:00+01:00", "value": 333},
                        {"timestamp": "2022-02-06T10:30:00+01:00", "value": null}]"#;
        let err = from_pegelonline(body, StationField::Shortname, "W", None).expect_err("station");
        assert!(err.0.contains("[source] station"), "{err}");
        let readings =
            from_pegelonline(body, StationField::Shortname, "W", Some("Ahlen")).expect("list");
        let first = readings[0].as_ref().expect("valid");
        // 2022-02-06T09:15:00Z: 1644138900 s.
        assert_eq!(
            (first.station.as_str(), first.time),
            ("Ahlen", 1_644_138_900_000)
        );
        assert!(
            readings[1]
                .as_ref()
                .expect_err("null")
                .error
                .contains("not a number")
        );
    }

    #[test]
    fn formats_by_config_content_type_or_first_byte() {
        let csv = b"station,time,value\nAhlen,2024-01-03T11:15:00Z,171.5\n";
        assert_eq!(
            feed(None).format_of(Some("text/csv; charset=utf-8"), csv),
            FeedFormat::Csv
        );
        assert_eq!(
            feed(None).format_of(None, b"  [{}]"),
            FeedFormat::Pegelonline
        );
        assert_eq!(
            feed(None).format_of(Some("text/plain"), csv),
            FeedFormat::Csv
        );
        assert_eq!(
            feed(Some(FeedFormat::Csv)).format_of(Some("application/json"), csv),
            FeedFormat::Csv
        );
        let readings = feed(None).read(None, csv).expect("csv");
        assert_eq!(readings[0].as_ref().expect("valid").value, 171.5);
        for garbage in [&b"<html>oops</html>"[..], b"{\"x\": 1", b"42"] {
            assert!(feed(None).read(Some("text/html"), garbage).is_err());
        }
    }
}
