//! Query parameters of the OGC API: parsed strictly, so an unknown, repeated or malformed
//! parameter is a 400 with the OGC exception body instead of being silently ignored.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate};

use super::crs::Supported;
use crate::error::ApiError;

/// The most features one page returns; larger `limit`s are reduced to it (Part 1 says a too
/// large limit is not an error).
pub const MAX_LIMIT: usize = 10_000;
pub const DEFAULT_LIMIT: usize = 10;

/// The parameters of a request, by name.
#[derive(Debug, Default, Clone)]
pub struct Params(BTreeMap<String, String>);

impl Params {
    /// Parses a raw query string, accepting only the names in `allowed`.
    pub fn parse(raw: Option<&str>, allowed: &[&str]) -> Result<Params, ApiError> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.unwrap_or(""))
            .map_err(|e| ApiError::bad_request(format!("malformed query string: {e}")))?;
        let mut map = BTreeMap::new();
        for (name, value) in pairs {
            if !allowed.contains(&name.as_str()) {
                return Err(ApiError::bad_request(format!(
                    "unknown parameter '{name}'; this resource takes {}",
                    allowed.join(", ")
                )));
            }
            if map.insert(name.clone(), value).is_some() {
                return Err(ApiError::bad_request(format!(
                    "parameter '{name}' is given more than once"
                )));
            }
        }
        Ok(Params(map))
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// The query string with some parameters set to other values (for paging links).
    pub fn with(&self, changes: &[(&str, &str)]) -> String {
        let mut map = self.0.clone();
        for (name, value) in changes {
            map.insert((*name).to_owned(), (*value).to_owned());
        }
        serde_urlencoded::to_string(&map).unwrap_or_default()
    }

    /// A non-negative integer parameter.
    pub fn integer(&self, name: &str) -> Result<Option<usize>, ApiError> {
        self.get(name)
            .map(|v| {
                v.parse::<usize>().map_err(|_| {
                    ApiError::bad_request(format!("{name}={v} is not a non-negative integer"))
                })
            })
            .transpose()
    }

    /// `limit`: default 10, at least 1, at most [`MAX_LIMIT`].
    pub fn limit(&self) -> Result<usize, ApiError> {
        match self.integer("limit")? {
            None => Ok(DEFAULT_LIMIT),
            Some(0) => Err(ApiError::bad_request("limit must be at least 1")),
            Some(n) => Ok(n.min(MAX_LIMIT)),
        }
    }

    /// `crs`, CRS84 when absent.
    pub fn crs(&self, name: &str) -> Result<Supported, ApiError> {
        self.get(name)
            .map_or(Ok(Supported::CRS84), |v| Supported::parse(name, v))
    }

    /// `bbox` (four or six numbers) in `bbox-crs`, as a WGS 84 lon/lat ring.
    pub fn bbox(&self) -> Result<Option<Vec<(f64, f64)>>, ApiError> {
        let Some(text) = self.get("bbox") else {
            if self.get("bbox-crs").is_some() {
                return Err(ApiError::bad_request("bbox-crs needs a bbox"));
            }
            return Ok(None);
        };
        let numbers = text
            .split(',')
            .map(|n| n.trim().parse::<f64>().ok().filter(|n| n.is_finite()))
            .collect::<Option<Vec<f64>>>()
            .ok_or_else(|| ApiError::bad_request(format!("bbox={text}: not a list of numbers")))?;
        let b = match numbers[..] {
            [a, b, c, d] => [a, b, c, d],
            // Six numbers: minimum and maximum height, which flat data ignores.
            [a, b, _, d, e, _] => [a, b, d, e],
            _ => {
                return Err(ApiError::bad_request(format!(
                    "bbox={text}: needs 4 (or 6) numbers"
                )));
            }
        };
        let crs = self.crs("bbox-crs")?;
        // Latitudes must be ordered; longitudes may cross the antimeridian in CRS84 boxes,
        // which this server does not split, so those too must be ordered.
        if b[1] > b[3] || b[0] > b[2] {
            return Err(ApiError::bad_request(format!(
                "bbox={text}: the lower corner must come first"
            )));
        }
        if !crs.projected() {
            let (lon, lat) = if crs.lat_lon() { (1, 0) } else { (0, 1) };
            let lat_ok = (-90.0..=90.0).contains(&b[lat]) && (-90.0..=90.0).contains(&b[lat + 2]);
            let lon_ok =
                (-180.0..=180.0).contains(&b[lon]) && (-180.0..=180.0).contains(&b[lon + 2]);
            if !lat_ok || !lon_ok {
                return Err(ApiError::bad_request(format!(
                    "bbox={text}: outside the range of longitudes and latitudes"
                )));
            }
        }
        crs.bbox_ring_wgs84(b).map(Some)
    }

    /// `datetime`: an instant or an interval, each end open (`..` or empty) or RFC 3339.
    pub fn datetime(&self) -> Result<Option<Interval>, ApiError> {
        let Some(text) = self.get("datetime") else {
            return Ok(None);
        };
        let bad = || {
            ApiError::bad_request(format!(
                "datetime={text}: an RFC 3339 date or time, or an interval start/end with '..' for an open end"
            ))
        };
        let instant = |s: &str| -> Result<Option<Instant>, ApiError> {
            if s.is_empty() || s == ".." {
                return Ok(None);
            }
            parse_instant(s).map(Some).ok_or_else(bad)
        };
        let interval = match text.split_once('/') {
            None => {
                let at = parse_instant(text).ok_or_else(bad)?;
                Interval {
                    start: Some(at.clone()),
                    end: Some(at),
                }
            }
            Some((a, b)) => Interval {
                start: instant(a)?,
                end: instant(b)?,
            },
        };
        if interval.start.is_none() && interval.end.is_none() && text.contains('/') {
            // `../..` means any time: no filter.
            return Ok(None);
        }
        if let (Some(s), Some(e)) = (&interval.start, &interval.end)
            && s.utc_start() > e.utc_start()
        {
            return Err(ApiError::bad_request(format!(
                "datetime={text}: the start is after the end"
            )));
        }
        Ok(Some(interval))
    }
}

/// An instant of a `datetime` parameter or a CQL2 temporal literal.
#[derive(Debug, Clone, PartialEq)]
pub enum Instant {
    Date(NaiveDate),
    Timestamp(DateTime<chrono::Utc>),
}

impl Instant {
    /// Its first moment as an RFC 3339 timestamp.
    pub fn utc_start(&self) -> DateTime<chrono::Utc> {
        match self {
            Instant::Date(d) => d.and_time(chrono::NaiveTime::MIN).and_utc(),
            Instant::Timestamp(t) => *t,
        }
    }
}

pub fn parse_instant(s: &str) -> Option<Instant> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(Instant::Timestamp(t.with_timezone(&chrono::Utc)));
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .map(Instant::Date)
}

/// A time interval; `None` ends are open.
#[derive(Debug, Clone, PartialEq)]
pub struct Interval {
    pub start: Option<Instant>,
    pub end: Option<Instant>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(q: &str) -> Params {
        Params::parse(
            Some(q),
            &["bbox", "bbox-crs", "datetime", "limit", "offset"],
        )
        .expect(q)
    }

    #[test]
    fn unknown_and_repeated_parameters_are_refused() {
        assert!(Params::parse(Some("limt=5"), &["limit"]).is_err());
        assert!(Params::parse(Some("limit=5&limit=6"), &["limit"]).is_err());
    }

    #[test]
    fn limit_is_capped_and_must_be_positive() {
        assert_eq!(params("").limit().expect("default"), 10);
        assert_eq!(params("limit=20000").limit().expect("capped"), MAX_LIMIT);
        assert!(params("limit=0").limit().is_err());
        assert!(params("limit=-1").limit().is_err());
    }

    #[test]
    fn open_datetime_intervals() {
        let i = params("datetime=../2020-01-01")
            .datetime()
            .expect("ok")
            .expect("some");
        assert_eq!(i.start, None);
        assert_eq!(i.end, parse_instant("2020-01-01"));
        let i = params("datetime=2020-01-01T00:00:00Z/")
            .datetime()
            .expect("ok")
            .expect("some");
        assert!(i.start.is_some() && i.end.is_none());
        assert!(params("datetime=2021-01-01/2020-01-01").datetime().is_err());
        assert!(params("datetime=yesterday").datetime().is_err());
    }

    #[test]
    fn bbox_needs_four_ordered_numbers() {
        let ring = params("bbox=8,49,9,50").bbox().expect("ok").expect("some");
        assert_eq!(super::super::crs::envelope(&ring), [8.0, 49.0, 9.0, 50.0]);
        assert!(params("bbox=8,49,9").bbox().is_err());
        assert!(params("bbox=9,49,8,50").bbox().is_err());
        assert!(params("bbox=8,49,9,95").bbox().is_err());
        assert!(params("bbox=a,b,c,d").bbox().is_err());
    }
}
