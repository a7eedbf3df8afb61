//! Pushed readings as sent: a JSON array of `{station, time, value}` (optionally `parameter`
//! and `quality`) or CSV with those column names. Each reading is checked on its own, so one
//! bad reading is reported with its place and the others are kept.

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A reading that passed the format checks (the station is checked against the stations later).
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    pub station: String,
    pub parameter: Option<String>,
    /// Milliseconds since 1970, UTC.
    pub time: i64,
    pub value: f64,
    pub quality: Option<String>,
}

/// Why a reading was not accepted, and where it was in the request.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReadingError {
    /// 0-based position in the JSON array, or the CSV line (1 = the header).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub station: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    pub error: String,
}

/// The whole body could not be read as readings (not the array or CSV expected).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct BodyError(pub String);

/// A parsed time: RFC 3339 with a zone (`Z` or `±hh:mm`); a time without zone is ambiguous
/// (local or UTC? which side of the DST change?) and refused.
pub fn parse_time(text: &str) -> Result<i64, String> {
    parse_time_in(text, None)
}

/// Like [`parse_time`], but a time or date without zone is taken at `zone` (a date at 00:00).
pub fn parse_time_in(text: &str, zone: Option<FixedOffset>) -> Result<i64, String> {
    let trimmed = text.trim();
    if let Some(zone) = zone
        && DateTime::parse_from_rfc3339(trimmed).is_err()
    {
        let naive = ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M"]
            .iter()
            .find_map(|f| chrono::NaiveDateTime::parse_from_str(trimmed, f).ok())
            .or_else(|| {
                chrono::NaiveDate::parse_from_str(trimmed, "%Y-%m-%d")
                    .ok()
                    .and_then(|d| d.and_hms_opt(0, 0, 0))
            });
        if let Some(t) = naive.and_then(|n| n.and_local_timezone(zone).single()) {
            return Ok(t.timestamp_millis());
        }
    }
    // RFC 3339, or ISO 8601 with an offset without colon (`-0700`, as in OGC 18-088's examples).
    let parsed = DateTime::parse_from_rfc3339(trimmed)
        .or_else(|e| DateTime::parse_from_str(trimmed, "%Y-%m-%dT%H:%M:%S%.f%z").map_err(|_| e));
    match parsed {
        Ok(t) => Ok(t.timestamp_millis()),
        Err(_)
            if chrono::NaiveDateTime::parse_from_str(text.trim(), "%Y-%m-%dT%H:%M:%S").is_ok()
                || chrono::NaiveDateTime::parse_from_str(text.trim(), "%Y-%m-%d %H:%M:%S")
                    .is_ok() =>
        {
            Err(format!(
                "time '{text}' has no zone: add Z or an offset such as +01:00"
            ))
        }
        Err(e) => Err(format!("time '{text}' is not an RFC 3339 timestamp ({e})")),
    }
}

#[derive(Deserialize)]
struct JsonReading {
    station: Option<Value>,
    time: Option<Value>,
    value: Option<Value>,
    parameter: Option<String>,
    quality: Option<String>,
}

/// Reads a JSON array of readings.
pub fn from_json(body: &[u8]) -> Result<Vec<Result<Reading, ReadingError>>, BodyError> {
    let items: Vec<Value> = serde_json::from_slice(body)
        .map_err(|e| BodyError(format!("expected a JSON array of readings: {e}")))?;
    Ok(items
        .into_iter()
        .enumerate()
        .map(|(index, item)| {
            let fail =
                |station: Option<String>, time: Option<String>, error: String| ReadingError {
                    index: Some(index),
                    line: None,
                    station,
                    time,
                    error,
                };
            let r: JsonReading = serde_json::from_value(item).map_err(|e| {
                fail(
                    None,
                    None,
                    format!("expected {{station, time, value}}: {e}"),
                )
            })?;
            let station = match r.station {
                Some(Value::String(s)) => s,
                Some(Value::Number(n)) => n.to_string(),
                _ => return Err(fail(None, None, "station is missing".into())),
            };
            let time = match r.time {
                Some(Value::String(s)) => s,
                _ => {
                    return Err(fail(
                        Some(station),
                        None,
                        "time is missing (RFC 3339 text with zone)".into(),
                    ));
                }
            };
            let value = match &r.value {
                Some(Value::Number(n)) => n.as_f64(),
                _ => None,
            };
            let checked = parse_time(&time).and_then(|t| match value {
                Some(v) if v.is_finite() => Ok((t, v)),
                _ => Err(format!(
                    "value {} is not a number",
                    r.value.map_or("(missing)".to_owned(), |v| v.to_string())
                )),
            });
            match checked {
                Ok((time, value)) => Ok(Reading {
                    station,
                    parameter: r.parameter,
                    time,
                    value,
                    quality: r.quality,
                }),
                Err(e) => Err(fail(Some(station), Some(time), e)),
            }
        })
        .collect())
}

/// Which CSV columns hold what, and how to read them.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CsvColumns {
    #[serde(default = "station")]
    pub station: String,
    #[serde(default = "time")]
    pub time: String,
    #[serde(default = "value")]
    pub value: String,
    pub parameter: Option<String>,
    pub quality: Option<String>,
    /// The offset of times and dates without zone, e.g. `"+01:00"` (German gauges keep CET
    /// all year); without it they are refused.
    pub zone: Option<String>,
    /// Values that mark a missing reading (e.g. `"999.999"`): such rows are skipped.
    #[serde(default)]
    pub null: Vec<String>,
}

fn station() -> String {
    "station".into()
}

fn time() -> String {
    "time".into()
}

fn value() -> String {
    "value".into()
}

impl Default for CsvColumns {
    fn default() -> Self {
        CsvColumns {
            station: station(),
            time: time(),
            value: value(),
            parameter: Some("parameter".into()),
            quality: Some("quality".into()),
            zone: None,
            null: Vec::new(),
        }
    }
}

impl CsvColumns {
    /// The `zone` as an offset.
    pub fn offset(&self) -> Result<Option<FixedOffset>, String> {
        self.zone
            .as_deref()
            .map(|z| {
                z.parse::<FixedOffset>()
                    .map_err(|_| format!("zone '{z}': use an offset such as \"+01:00\""))
            })
            .transpose()
    }
}

/// Reads CSV with a header naming `station`, `time`, `value` (and optionally `parameter`,
/// `quality`), comma- or semicolon-separated.
pub fn from_csv(body: &[u8]) -> Result<Vec<Result<Reading, ReadingError>>, BodyError> {
    from_csv_with(body, &CsvColumns::default()).map(|(readings, _)| readings)
}

/// Reads CSV with the given columns; also returns how many rows held a null token.
pub fn from_csv_with(
    body: &[u8],
    columns: &CsvColumns,
) -> Result<(Vec<Result<Reading, ReadingError>>, usize), BodyError> {
    let mut readings = CsvReadings::new(body, columns)?;
    let out = readings.by_ref().collect();
    Ok((out, readings.nulls))
}

/// The readings of a CSV source, one record at a time (a history file is never in memory
/// whole). The delimiter is `;` when the header has semicolons and no commas, else `,`; a
/// UTF-8 byte-order mark is skipped; a record that is not UTF-8 is an error of its line.
pub struct CsvReadings<R: std::io::Read> {
    records: csv::StringRecordsIntoIter<std::io::BufReader<R>>,
    columns: CsvColumns,
    zone: Option<FixedOffset>,
    /// Positions of station, time, value, parameter and quality in the header.
    at: (usize, usize, usize, Option<usize>, Option<usize>),
    /// Rows skipped so far because their value was a null token.
    pub nulls: usize,
}

impl<R: std::io::Read> CsvReadings<R> {
    pub fn new(source: R, columns: &CsvColumns) -> Result<CsvReadings<R>, BodyError> {
        use std::io::BufRead;
        let zone = columns.offset().map_err(BodyError)?;
        let mut buffered = std::io::BufReader::with_capacity(1 << 16, source);
        let head = buffered
            .fill_buf()
            .map_err(|e| BodyError(format!("reading the CSV: {e}")))?;
        let head = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(head);
        let first = head.split(|b| *b == b'\n').next().unwrap_or_default();
        let delimiter = if first.contains(&b';') && !first.contains(&b',') {
            b';'
        } else {
            b','
        };
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .flexible(true)
            .from_reader(buffered);
        let headers = reader
            .headers()
            .map_err(|e| BodyError(format!("CSV header: {e}")))?
            .clone();
        let column = |name: &str| {
            headers.iter().position(|h| {
                h.trim()
                    .trim_start_matches('\u{feff}')
                    .eq_ignore_ascii_case(name)
            })
        };
        let (Some(s), Some(t), Some(v)) = (
            column(&columns.station),
            column(&columns.time),
            column(&columns.value),
        ) else {
            return Err(BodyError(format!(
                "the CSV header must name the columns {}, {} and {}",
                columns.station, columns.time, columns.value
            )));
        };
        let p = columns.parameter.as_deref().and_then(column);
        let q = columns.quality.as_deref().and_then(column);
        Ok(CsvReadings {
            records: reader.into_records(),
            columns: columns.clone(),
            zone,
            at: (s, t, v, p, q),
            nulls: 0,
        })
    }
}

impl<R: std::io::Read> Iterator for CsvReadings<R> {
    type Item = Result<Reading, ReadingError>;

    fn next(&mut self) -> Option<Self::Item> {
        let (s, t, v, p, q) = self.at;
        loop {
            let record = match self.records.next()? {
                Ok(r) => r,
                Err(e) => {
                    return Some(Err(ReadingError {
                        index: None,
                        line: e.position().map(|p| p.line()),
                        station: None,
                        time: None,
                        error: e.to_string(),
                    }));
                }
            };
            let line = record.position().map(|p| p.line());
            if record
                .get(v)
                .is_some_and(|raw| self.columns.null.iter().any(|n| n == raw.trim()))
            {
                self.nulls += 1;
                continue;
            }
            let field = |i: usize| record.get(i).map(str::trim).filter(|f| !f.is_empty());
            let station = field(s).map(str::to_owned);
            let time = field(t).map(str::to_owned);
            let checked = match (&station, &time) {
                (None, _) => Err("station is missing".to_owned()),
                (_, None) => Err("time is missing (RFC 3339 text with zone)".to_owned()),
                (Some(_), Some(time)) => parse_time_in(time, self.zone).and_then(|ms| {
                    let raw = field(v).unwrap_or_default();
                    match raw.parse::<f64>() {
                        Ok(x) if x.is_finite() => Ok((ms, x)),
                        _ => Err(format!("value '{raw}' is not a number")),
                    }
                }),
            };
            return Some(match checked {
                Ok((ms, value)) => Ok(Reading {
                    station: station.unwrap_or_default(),
                    parameter: p.and_then(field).map(str::to_owned),
                    time: ms,
                    value,
                    quality: q.and_then(field).map(str::to_owned),
                }),
                Err(error) => Err(ReadingError {
                    index: None,
                    line,
                    station,
                    time,
                    error,
                }),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_readings_are_checked_one_by_one() {
        let body = br#"[
            {"station": "Ahlen", "time": "2024-01-03T12:15:00+01:00", "value": 171.5},
            {"station": "Ahlen", "time": "2024-01-03T12:30:00", "value": 172},
            {"station": "Ahlen", "time": "2024-01-03T12:45:00Z", "value": "hoch"},
            {"time": "2024-01-03T12:45:00Z", "value": 1}
        ]"#;
        let readings = from_json(body).expect("array");
        assert_eq!(readings.len(), 4);
        let first = readings[0].as_ref().expect("valid");
        // 12:15 at +01:00 is 11:15 UTC: 1704280500000 ms (date -d '2024-01-03T11:15:00Z' +%s).
        assert_eq!(first.time, 1_704_280_500_000);
        assert_eq!(first.value, 171.5);
        let errors: Vec<&str> = readings[1..]
            .iter()
            .map(|r| r.as_ref().expect_err("invalid").error.as_str())
            .collect();
        assert!(errors[0].contains("no zone"), "{errors:?}");
        assert!(errors[1].contains("not a number"), "{errors:?}");
        assert!(errors[2].contains("station is missing"), "{errors:?}");
        assert!(from_json(b"{\"station\": 1}").is_err());
    }

    #[test]
    fn csv_readings_with_semicolons_and_bad_lines() {
        let body = "station;time;value\nAhlen;2024-01-03T11:15:00Z;171.5\nAhlen;2024-01-03 11:30:00;1\nAhlen;2024-01-03T11:45:00Z;x\n";
        let readings = from_csv(body.as_bytes()).expect("csv");
        assert_eq!(readings.len(), 3);
        assert_eq!(readings[0].as_ref().expect("valid").time, 1_704_280_500_000);
        let second = readings[1].as_ref().expect_err("no zone");
        assert_eq!(second.line, Some(3));
        assert!(second.error.contains("no zone"));
        assert!(readings[2].as_ref().expect_err("nan").error.contains("'x'"));
        assert!(from_csv(b"a,b\n1,2\n").is_err());
    }

    #[test]
    fn history_columns_with_dates_a_zone_and_null_tokens() {
        let columns = CsvColumns {
            station: "Name".into(),
            time: "Datum".into(),
            value: "Mittelwert".into(),
            parameter: None,
            quality: None,
            zone: Some("+01:00".into()),
            null: vec!["999.999".into()],
        };
        let body = "Name,Datum,Minimum,Maximum,Mittelwert\nAhlen,2013-01-01,52.0,62.0,55.53\nAhlen,2013-01-02,1,1,999.999\n";
        let (readings, nulls) = from_csv_with(body.as_bytes(), &columns).expect("csv");
        assert_eq!(nulls, 1);
        let first = readings[0].as_ref().expect("valid");
        // 2013-01-01T00:00+01:00 = 2012-12-31T23:00Z: 1356994800 s (date -u -d … +%s).
        assert_eq!((first.time, first.value), (1_356_994_800_000, 55.53));
        assert_eq!(readings.len(), 1);
    }
}
