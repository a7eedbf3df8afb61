//! A replay of archived readings as live ones (`[timeseries.replay]`), for demonstrations:
//! another published dataset's values, time-lapsed. Each step advances an archive clock by
//! `step` and yields, per station, its value at that moment, interpolated linearly between
//! the archived readings around it. The caller stamps them with the wall clock and pushes
//! them through the ordinary push path, every `every`.

use std::collections::BTreeMap;
use std::path::Path;

use allmende_catalog::{Catalog, Format};
use arrow::array::{Array, AsArray};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Float64Type};
use chrono::FixedOffset;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde::{Deserialize, Serialize};

use super::readings::parse_time_in;
use crate::error::{IngestError, Result};

/// `[timeseries.replay]` of a dataset.toml.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ReplayConfig {
    /// The published dataset whose rows are replayed (e.g. daily values).
    pub dataset: String,
    /// Its column naming the station (by the time series' station id).
    pub station: String,
    /// Its column with the time or date of each value.
    pub time: String,
    /// Its column with the value.
    pub value: String,
    /// The offset of times and dates without zone, e.g. `"+01:00"`.
    pub zone: Option<String>,
    /// Where in the archive the replay begins (RFC 3339); its first reading when absent.
    pub start: Option<String>,
    /// Archive time each push advances, e.g. `"3h"`.
    pub step: String,
    /// Wall time between pushes, e.g. `"5s"`.
    pub every: String,
}

/// An archive being replayed: each station's readings in time order, and the archive clock.
#[derive(Debug, Clone)]
pub struct Replay {
    stations: Vec<(String, Vec<(i64, f64)>)>,
    /// The archive time of the next step, in milliseconds since 1970.
    clock: i64,
    /// Where the replay begins again after the archive's end.
    start: i64,
    end: i64,
    step: i64,
}

impl Replay {
    /// Reads the replayed dataset's latest version under `root`.
    pub fn load(root: &Path, config: &ReplayConfig) -> Result<Replay> {
        let catalog = Catalog::open(root)?;
        let version = catalog
            .get(&config.dataset)
            .and_then(|m| m.latest())
            .ok_or_else(|| {
                IngestError::config(
                    Catalog::dataset_dir(root, &config.dataset),
                    format!(
                        "[timeseries.replay] dataset '{}' is not published",
                        config.dataset
                    ),
                )
            })?
            .number;
        let path = catalog.file_path(&config.dataset, version, Format::Parquet);
        let zone = config
            .zone
            .as_deref()
            .map(|z| {
                z.parse::<FixedOffset>()
                    .map_err(|e| format!("[timeseries.replay] zone '{z}': {e}"))
            })
            .transpose()
            .map_err(|e| IngestError::config(&path, e))?;
        let rows = read_rows(&path, config, zone)?;
        let start = config
            .start
            .as_deref()
            .map(|s| parse_time_in(s, zone).map_err(|e| format!("[timeseries.replay] start: {e}")))
            .transpose()
            .map_err(|e| IngestError::config(&path, e))?;
        let step = super::duration_ms(&config.step)
            .map_err(|e| IngestError::config(&path, format!("[timeseries.replay] step: {e}")))?;
        Replay::new(rows, start, step).ok_or_else(|| {
            IngestError::config(
                &path,
                format!(
                    "[timeseries.replay] dataset '{}' has no readings to replay",
                    config.dataset
                ),
            )
        })
    }

    /// A replay of `rows` (station, time, value) from `start` (the first reading when absent),
    /// advancing `step` milliseconds a step; none without rows or with a step of zero.
    pub fn new(rows: Vec<(String, i64, f64)>, start: Option<i64>, step: i64) -> Option<Replay> {
        if step <= 0 {
            return None;
        }
        let mut by_station: BTreeMap<String, Vec<(i64, f64)>> = BTreeMap::new();
        for (station, time, value) in rows {
            by_station.entry(station).or_default().push((time, value));
        }
        let mut stations: Vec<(String, Vec<(i64, f64)>)> = by_station.into_iter().collect();
        for (_, readings) in &mut stations {
            readings.sort_by_key(|(t, _)| *t);
            readings.dedup_by_key(|(t, _)| *t);
        }
        let first = stations
            .iter()
            .filter_map(|(_, r)| r.first())
            .map(|r| r.0)
            .min()?;
        let end = stations
            .iter()
            .filter_map(|(_, r)| r.last())
            .map(|r| r.0)
            .max()?;
        let start = start.unwrap_or(first).clamp(first, end);
        Some(Replay {
            stations,
            clock: start,
            start,
            end,
            step,
        })
    }

    /// The archive time of the values the next [`Replay::step`] yields.
    pub fn clock(&self) -> i64 {
        self.clock
    }

    /// Each station's value at the archive clock (stations without readings on both sides of
    /// it are left out), then advances the clock, back to the start after the archive's end.
    pub fn step(&mut self) -> Vec<(String, f64)> {
        let at = self.clock;
        let values = self
            .stations
            .iter()
            .filter_map(|(station, readings)| {
                interpolate(readings, at).map(|v| (station.clone(), v))
            })
            .collect();
        self.clock = if at + self.step > self.end {
            self.start
        } else {
            at + self.step
        };
        values
    }
}

/// The value at `at`, linear between the readings around it; none outside the readings.
fn interpolate(readings: &[(i64, f64)], at: i64) -> Option<f64> {
    let after = readings.partition_point(|(t, _)| *t < at);
    let (t1, v1) = *readings.get(after)?;
    if t1 == at {
        return Some(v1);
    }
    let (t0, v0) = *readings.get(after.checked_sub(1)?)?;
    let share = (at - t0) as f64 / (t1 - t0) as f64;
    Some(v0 + (v1 - v0) * share)
}

/// The (station, time, value) rows of the replayed Parquet file; rows with a null are skipped.
fn read_rows(
    path: &Path,
    config: &ReplayConfig,
    zone: Option<FixedOffset>,
) -> Result<Vec<(String, i64, f64)>> {
    let file = std::fs::File::open(path).map_err(|e| IngestError::io(path, e))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .and_then(|b| b.build())
        .map_err(|e| IngestError::config(path, e.to_string()))?;
    let mut rows = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|e| IngestError::config(path, e.to_string()))?;
        let column = |name: &str, to: &DataType| {
            let column = batch.column_by_name(name).ok_or_else(|| {
                IngestError::config(
                    path,
                    format!(
                        "[timeseries.replay] '{name}' is not a column of '{}'",
                        config.dataset
                    ),
                )
            })?;
            cast(column, to).map_err(|e| IngestError::config(path, format!("column '{name}': {e}")))
        };
        let stations = column(&config.station, &DataType::Utf8)?;
        let times = column(&config.time, &DataType::Utf8)?;
        let values = column(&config.value, &DataType::Float64)?;
        let (stations, times) = (stations.as_string::<i32>(), times.as_string::<i32>());
        let values = values.as_primitive::<Float64Type>();
        for i in 0..batch.num_rows() {
            if stations.is_null(i) || times.is_null(i) || values.is_null(i) {
                continue;
            }
            let time = parse_time_in(times.value(i), zone)
                .map_err(|e| IngestError::config(path, format!("column '{}': {e}", config.time)))?;
            rows.push((stations.value(i).to_owned(), time, values.value(i)));
        }
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3_600_000;

    fn replay(start: Option<i64>) -> Replay {
        let rows = vec![
            ("a".to_owned(), 0, 100.0),
            ("a".to_owned(), 24 * HOUR, 200.0),
            ("b".to_owned(), 12 * HOUR, 50.0),
            ("b".to_owned(), 48 * HOUR, 50.0),
        ];
        Replay::new(rows, start, 6 * HOUR).expect("rows")
    }

    #[test]
    fn values_are_interpolated_between_readings_and_absent_outside_them() {
        let mut r = replay(None);
        assert_eq!(r.step(), vec![("a".to_owned(), 100.0)]);
        assert_eq!(r.step(), vec![("a".to_owned(), 125.0)]);
        assert_eq!(
            r.step(),
            vec![("a".to_owned(), 150.0), ("b".to_owned(), 50.0)]
        );
        assert_eq!(r.clock(), 18 * HOUR);
    }

    #[test]
    fn the_clock_starts_where_asked_and_wraps_after_the_end() {
        let mut r = replay(Some(42 * HOUR));
        assert_eq!(r.step(), vec![("b".to_owned(), 50.0)]);
        assert_eq!(r.clock(), 48 * HOUR);
        r.step();
        assert_eq!(r.clock(), 42 * HOUR, "back to the start");
        assert!(Replay::new(Vec::new(), None, HOUR).is_none());
        assert!(Replay::new(vec![("a".into(), 0, 1.0)], None, 0).is_none());
    }
}
