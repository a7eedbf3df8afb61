//! `stations/{station}/{timeseries}/measurements.json` (`start`, `end`, ISO 8601 periods such
//! as `P8D`) and `…/currentmeasurement.json`.

use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use chrono::{DateTime, Months, NaiveDate, Utc};
use serde_json::{Value, json};

use super::gauges::{self, timestamp};
use super::timeseries::lookup;
use super::{Failure, Params, respond};
use crate::state::AppState;

/// The window when `start` is not given: the day before `end`.
const DEFAULT_WINDOW_MS: i64 = 24 * 3_600_000;

pub async fn resource(
    State(state): State<AppState>,
    Path((station, timeseries, file)): Path<(String, String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, Failure> {
    let params = Params::parse(query.as_deref())?;
    let all = gauges::all(&state).await?;
    let (gauge, series) = lookup(&all, &station, &timeseries)?;
    match file.as_str() {
        "measurements.json" => {
            let (start, end) = window(&params, Utc::now().timestamp_millis())?;
            let (id, parameter) = (gauge.number.clone(), series.parameter.clone());
            let values = crate::live::read_series(&state, &gauge.dataset, move |s| {
                s.values(&id, &parameter)
                    .map(|v| {
                        v.range(start..=end)
                            .map(|(&t, &value)| json!({"timestamp": timestamp(t), "value": value}))
                            .collect::<Vec<Value>>()
                    })
                    .unwrap_or_default()
            })
            .await?;
            respond(&headers, &params, &Value::Array(values))
        }
        "currentmeasurement.json" => {
            let current = series.current.as_ref().ok_or_else(|| {
                Failure::not_found(format!(
                    "Timeseries '{timeseries}' of station '{station}' has no measurement yet."
                ))
            })?;
            respond(&headers, &params, &current.json())
        }
        "measurements.png" => Err(Failure::not_found(
            "measurements.png: no diagrams here; measurements.json has the values",
        )),
        other => Err(Failure::not_found(format!(
            "{other}: use measurements.json or currentmeasurement.json"
        ))),
    }
}

/// The inclusive window in milliseconds since 1970. `end` is a time (default `now`); `start`
/// a time or a period before `end` (default one day). `end` may also be a period after a
/// `start` time.
fn window(params: &Params, now: i64) -> Result<(i64, i64), Failure> {
    let start = params.get("start");
    let end = params.get("end");
    let (start, end) = match (start, end) {
        (Some(s), Some(e)) if is_period(e) && !is_period(s) => {
            let start = time("start", s)?;
            (start, shift("end", e, start, 1)?)
        }
        (s, e) => {
            let end = match e {
                Some(e) => time("end", e)?,
                None => now,
            };
            let start = match s {
                Some(s) if is_period(s) => shift("start", s, end, -1)?,
                Some(s) => time("start", s)?,
                None => end - DEFAULT_WINDOW_MS,
            };
            (start, end)
        }
    };
    if start > end {
        return Err(Failure::bad_request("start is after end"));
    }
    Ok((start, end))
}

fn is_period(text: &str) -> bool {
    text.trim().starts_with(['P', 'p'])
}

/// A time: RFC 3339 with zone (`+` may arrive as a space when not escaped), or a date
/// (midnight UTC).
fn time(name: &str, text: &str) -> Result<i64, Failure> {
    let text = text.trim().replace(' ', "+");
    if let Ok(t) = DateTime::parse_from_rfc3339(&text) {
        return Ok(t.timestamp_millis());
    }
    if let Ok(t) = DateTime::parse_from_str(&text, "%Y-%m-%dT%H:%M%:z") {
        return Ok(t.timestamp_millis());
    }
    if let Ok(d) = NaiveDate::parse_from_str(&text, "%Y-%m-%d")
        && let Some(t) = d.and_hms_opt(0, 0, 0)
    {
        return Ok(t.and_utc().timestamp_millis());
    }
    Err(Failure::bad_request(format!(
        "{name}={text}: use an ISO 8601 time with zone (2024-01-03T12:00:00+01:00), a date \
         (2024-01-03) or a period (P8D, PT6H)"
    )))
}

/// `from` moved by the ISO 8601 period `text` (`PnYnMnWnDTnHnMnS`), back when `sign` is -1.
fn shift(name: &str, text: &str, from: i64, sign: i64) -> Result<i64, Failure> {
    let bad = || {
        Failure::bad_request(format!(
            "{name}={text}: an ISO 8601 period is like P8D, P1M, PT6H or P1DT12H"
        ))
    };
    let (months, ms) = period(text).ok_or_else(bad)?;
    let from = DateTime::from_timestamp_millis(from).ok_or_else(bad)?;
    let moved = if sign < 0 {
        from.checked_sub_months(Months::new(months))
    } else {
        from.checked_add_months(Months::new(months))
    }
    .ok_or_else(bad)?;
    Ok(moved.timestamp_millis() + sign * ms)
}

/// An ISO 8601 period as (months, milliseconds); whole numbers only, at least one part.
fn period(text: &str) -> Option<(u32, i64)> {
    let upper = text.trim().to_uppercase();
    let rest = upper.strip_prefix('P')?;
    let (date, clock) = match rest.split_once('T') {
        Some((d, c)) => (d, Some(c)),
        None => (rest, None),
    };
    let mut months: u32 = 0;
    let mut ms: i64 = 0;
    let mut parts = 0;
    let mut number = String::new();
    for c in date.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let n: i64 = std::mem::take(&mut number).parse().ok()?;
        match c {
            'Y' => months = months.checked_add(u32::try_from(n.checked_mul(12)?).ok()?)?,
            'M' => months = months.checked_add(u32::try_from(n).ok()?)?,
            'W' => ms = ms.checked_add(n.checked_mul(7 * 86_400_000)?)?,
            'D' => ms = ms.checked_add(n.checked_mul(86_400_000)?)?,
            _ => return None,
        }
        parts += 1;
    }
    if !number.is_empty() {
        return None;
    }
    if let Some(clock) = clock {
        let before = parts;
        for c in clock.chars() {
            if c.is_ascii_digit() {
                number.push(c);
                continue;
            }
            let n: i64 = std::mem::take(&mut number).parse().ok()?;
            let unit = match c {
                'H' => 3_600_000,
                'M' => 60_000,
                'S' => 1_000,
                _ => return None,
            };
            ms = ms.checked_add(n.checked_mul(unit)?)?;
            parts += 1;
        }
        if !number.is_empty() || parts == before {
            return None;
        }
    }
    (parts > 0).then_some((months, ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(query: &str) -> Params {
        Params::parse(Some(query)).expect("query")
    }

    #[test]
    fn periods_and_windows() {
        assert_eq!(period("P8D"), Some((0, 8 * 86_400_000)));
        assert_eq!(period("PT6H"), Some((0, 6 * 3_600_000)));
        assert_eq!(period("P1DT12H30M"), Some((0, 86_400_000 + 45_000_000)));
        assert_eq!(period("P1Y2M1W"), Some((14, 7 * 86_400_000)));
        for bad in ["P", "PT", "P8", "P8X", "PT6", "8D", "P1.5D"] {
            assert_eq!(period(bad), None, "{bad}");
        }
        // 2024-01-03T12:00:00Z = 1704283200 s (date -u -d … +%s).
        let noon = 1_704_283_200_000;
        assert_eq!(
            window(&params("start=P8D"), noon).ok().map(|w| w.0),
            Some(noon - 8 * 86_400_000)
        );
        assert_eq!(
            window(&params("end=2024-01-03T13:00:00%2B01:00&start=PT1H"), 0).ok(),
            Some((noon - 3_600_000, noon))
        );
        // An unescaped + arrives as a space.
        assert_eq!(
            window(&params("start=2024-01-03T13:00:00+01:00&end=PT30M"), 0).ok(),
            Some((noon, noon + 1_800_000))
        );
        assert_eq!(
            window(&params("start=2024-01-03&end=2024-01-04"), 0).ok(),
            Some((noon - 12 * 3_600_000, noon + 12 * 3_600_000))
        );
        assert_eq!(
            window(&params(""), noon).ok(),
            Some((noon - 86_400_000, noon))
        );
        assert!(window(&params("start=2024-01-03T12:00:00"), noon).is_err());
        assert!(window(&params("start=2024-01-05&end=2024-01-04"), noon).is_err());
        // P1M back from 31 March is the end of February.
        let march = DateTime::parse_from_rfc3339("2024-03-31T00:00:00Z")
            .expect("time")
            .timestamp_millis();
        let feb = DateTime::parse_from_rfc3339("2024-02-29T00:00:00Z")
            .expect("time")
            .timestamp_millis();
        assert_eq!(shift("start", "P1M", march, -1).ok(), Some(feb));
    }
}
