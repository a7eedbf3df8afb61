//! A time-series dataset in memory: its stations, every current value, and each station's
//! warning level. Pushes are checked against it, committed through the [`ObservationStore`]
//! and then applied, so `/latest` is answered without touching the disk.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use arrow::array::{Array, AsArray};
use arrow::compute::cast;
use arrow::datatypes::DataType;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde::{Deserialize, Serialize};

use super::events::EventLog;
use super::readings::{Reading, ReadingError};
use super::store::{Observation, ObservationStore, Parts};
use crate::error::{IngestError, Result};

/// `[timeseries]` of a `kind = "timeseries"` dataset.toml: how the dataset's own table (the
/// stations) is read, and the warning levels.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TimeseriesConfig {
    /// The stations' id column; pushed readings name a station by it.
    #[serde(default = "default_station")]
    pub station: String,
    /// The column with the station's name (the id when absent).
    pub name: Option<String>,
    /// The column with the river or lake.
    pub water: Option<String>,
    /// The unit of the values, e.g. `cm`.
    pub unit: Option<String>,
    /// The parameter of readings that do not name one (PEGELONLINE's `W` = water level).
    #[serde(default = "default_parameter")]
    pub parameter: String,
    /// Columns with the warning thresholds, lowest level first (e.g. the LANUV
    /// "Informationsstufe 1" to "3"). A station without a value in a column has no such level.
    #[serde(default)]
    pub levels: Vec<String>,
    /// How far below a threshold the value must fall before its level is left, in the values'
    /// unit, so that a value wobbling around a threshold does not flap.
    #[serde(default)]
    pub hysteresis: f64,
    /// How long a new level must hold before it counts, e.g. `"30m"`; at once when absent.
    pub min_duration: Option<String>,
    /// The columns of history files imported with `allmende ingest --append --source …`
    /// (default: `station`, `time`, `value`).
    pub import: Option<super::readings::CsvColumns>,
    /// URLs that receive each level event of this dataset as a signed JSON POST (the server's
    /// `ALLMENDE_WEBHOOKS` receive those of every dataset).
    #[serde(default)]
    pub webhooks: Vec<String>,
    /// Archived readings replayed as live ones (demonstrations; `allmende demo`).
    pub replay: Option<super::replay::ReplayConfig>,
}

fn default_station() -> String {
    "id".into()
}

fn default_parameter() -> String {
    "W".into()
}

impl Default for TimeseriesConfig {
    fn default() -> Self {
        TimeseriesConfig {
            station: default_station(),
            name: None,
            water: None,
            unit: None,
            parameter: default_parameter(),
            levels: Vec::new(),
            hysteresis: 0.0,
            min_duration: None,
            import: None,
            webhooks: Vec::new(),
            replay: None,
        }
    }
}

impl TimeseriesConfig {
    /// `min_duration` in milliseconds: `90s`, `15m`, `1h`.
    pub fn min_duration_ms(&self) -> std::result::Result<i64, String> {
        match &self.min_duration {
            None => Ok(0),
            Some(text) => super::duration_ms(text).map_err(|e| format!("min_duration {e}")),
        }
    }
}

/// A station of the dataset's table.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Station {
    pub id: String,
    pub name: String,
    pub water: Option<String>,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    /// Threshold of each level (`None`: the station has no such level).
    pub thresholds: Vec<Option<f64>>,
}

/// A value that replaced an earlier one with the same key.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Correction {
    pub station: String,
    pub parameter: String,
    pub time: String,
    pub old: f64,
    pub new: f64,
}

/// A change of a station's warning level.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LevelEvent {
    pub station: String,
    pub from: u8,
    pub to: u8,
    /// The reading that confirmed the change.
    pub time: String,
    /// `time` in milliseconds since 1970.
    #[serde(skip)]
    pub at: i64,
    pub value: f64,
}

/// What a push did.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PushOutcome {
    pub received: usize,
    /// New readings stored.
    pub accepted: usize,
    /// Readings equal to a stored one: nothing to do.
    pub duplicates: usize,
    pub corrections: Vec<Correction>,
    /// Stored readings (new or corrections) older than their series' latest before this push:
    /// kept, but they do not move warning levels.
    pub late: usize,
    pub rejected: Vec<ReadingError>,
    pub events: Vec<LevelEvent>,
}

/// A station's latest value, level and trend.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Latest {
    pub station: String,
    pub name: String,
    pub water: Option<String>,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    pub parameter: String,
    pub unit: Option<String>,
    pub time: String,
    pub value: f64,
    /// 0 = below every threshold.
    pub level: u8,
    /// The level's column name, e.g. "Informationsstufe 2".
    pub level_name: Option<String>,
    /// `rising`, `falling` or `steady` against the earliest reading of the hour before; none
    /// without one.
    pub trend: Option<&'static str>,
}

#[derive(Debug, Clone, Default)]
struct LevelState {
    level: u8,
    /// A level reached but not yet held for `min_duration`: (level, since).
    pending: Option<(u8, i64)>,
    /// Time of the newest reading applied.
    last: Option<i64>,
}

/// An observation's key: station, parameter, time.
type Key = (String, String, i64);

/// A reading of a push about to be stored: value, quality, whether it corrects a stored one.
type Pending = (f64, Option<String>, bool);

/// One time-series dataset, in memory.
#[derive(Debug)]
pub struct Series {
    pub id: String,
    /// The version of the stations table this was built from.
    pub version: u32,
    config: TimeseriesConfig,
    min_duration: i64,
    store: ObservationStore,
    appends: u64,
    events: EventLog,
    stations: BTreeMap<String, Station>,
    values: HashMap<(String, String), BTreeMap<i64, f64>>,
    levels: HashMap<String, LevelState>,
}

impl Series {
    /// Reads the stations from `stations_parquet` (the dataset's latest version) and every
    /// current observation from the store.
    pub fn open(
        root: &Path,
        id: &str,
        version: u32,
        config: TimeseriesConfig,
        stations_parquet: &Path,
    ) -> Result<Series> {
        let min_duration = config
            .min_duration_ms()
            .map_err(|e| IngestError::config(stations_parquet, e))?;
        let stations = read_stations(stations_parquet, &config)?;
        let store = ObservationStore::new(root, id);
        let parts = store.load()?;
        let mut rows = store.read(&parts.parts)?;
        rows.sort_by_key(|r| r.seq);
        let mut series = Series {
            id: id.to_owned(),
            version,
            config,
            min_duration,
            store,
            appends: parts.appends,
            events: EventLog::new(root, id),
            stations,
            values: HashMap::new(),
            levels: HashMap::new(),
        };
        for row in rows {
            let o = row.observation;
            series
                .values
                .entry((o.station, o.parameter))
                .or_default()
                .insert(o.time, o.value);
        }
        // Levels follow the stored values in time order, as they would have live.
        let parameter = series.config.parameter.clone();
        let ids: Vec<String> = series.stations.keys().cloned().collect();
        for station in ids {
            let readings: Vec<(i64, f64)> = series
                .values
                .get(&(station.clone(), parameter.clone()))
                .map(|m| m.iter().map(|(t, v)| (*t, *v)).collect())
                .unwrap_or_default();
            for (time, value) in readings {
                series.apply_level(&station, time, value);
            }
        }
        Ok(series)
    }

    pub fn config(&self) -> &TimeseriesConfig {
        &self.config
    }

    pub fn stations(&self) -> impl Iterator<Item = &Station> {
        self.stations.values()
    }

    /// Checks the readings, commits the new ones and corrections durably as one part, and
    /// applies them. Rejected readings are listed; the valid ones are kept.
    pub fn push(&mut self, readings: Vec<Result<Reading, ReadingError>>) -> Result<PushOutcome> {
        let received = readings.len();
        let mut rejected = Vec::new();
        let mut duplicates = 0;
        let mut corrections = Vec::new();
        // This batch's values by key: a key twice in one batch is a duplicate or a correction
        // of the first.
        let mut batch: BTreeMap<Key, Pending> = BTreeMap::new();
        for (index, reading) in readings.into_iter().enumerate() {
            let r = match reading {
                Ok(r) => r,
                Err(e) => {
                    rejected.push(e);
                    continue;
                }
            };
            if !self.stations.contains_key(&r.station) {
                rejected.push(ReadingError {
                    index: Some(index),
                    line: None,
                    station: Some(r.station.clone()),
                    time: Some(format_time(r.time)),
                    error: format!("unknown station '{}'", r.station),
                });
                continue;
            }
            let parameter = r.parameter.unwrap_or_else(|| self.config.parameter.clone());
            let key = (r.station, parameter, r.time);
            // The value known for the key, and whether the store holds one (then a new value
            // is stored as a correction; a key only this batch had is stored once, last wins).
            let (known, stored) = match batch.get(&key) {
                Some((v, _, stored)) => (Some(*v), *stored),
                None => {
                    let v = self
                        .values
                        .get(&(key.0.clone(), key.1.clone()))
                        .and_then(|m| m.get(&key.2))
                        .copied();
                    (v, v.is_some())
                }
            };
            match known {
                Some(old) if old == r.value => duplicates += 1,
                Some(old) => {
                    corrections.push(Correction {
                        station: key.0.clone(),
                        parameter: key.1.clone(),
                        time: format_time(key.2),
                        old,
                        new: r.value,
                    });
                    batch.insert(key, (r.value, r.quality, stored));
                }
                None => {
                    batch.insert(key, (r.value, r.quality, false));
                }
            }
        }
        let rows: Vec<Observation> = batch
            .iter()
            .map(
                |((station, parameter, time), (value, quality, _))| Observation {
                    station: station.clone(),
                    parameter: parameter.clone(),
                    time: *time,
                    value: *value,
                    quality: quality.clone(),
                },
            )
            .collect();
        let corrected = batch.values().filter(|(_, _, c)| *c).count() as u64;
        self.appends = self.store.append(&rows, corrected)?.appends;
        let accepted = rows.len() - corrected as usize;
        let mut events = Vec::new();
        let mut late = 0;
        for row in rows {
            if self
                .values
                .get(&(row.station.clone(), row.parameter.clone()))
                .and_then(|m| m.keys().next_back())
                .is_some_and(|&last| row.time < last)
            {
                late += 1;
            }
            let newest = self
                .levels
                .get(&row.station)
                .and_then(|s| s.last)
                .is_none_or(|last| row.time > last);
            self.values
                .entry((row.station.clone(), row.parameter.clone()))
                .or_default()
                .insert(row.time, row.value);
            // Levels move with new readings; a late or corrected older reading does not move
            // them back in time.
            if row.parameter == self.config.parameter && newest {
                events.extend(self.apply_level(&row.station, row.time, row.value));
            }
        }
        // Committed before the answer too; a crash between the two commits loses the events
        // of this push (the levels themselves are recomputed from the readings on restart).
        self.events.append(&events)?;
        Ok(PushOutcome {
            received,
            accepted,
            duplicates,
            corrections,
            late,
            rejected,
            events,
        })
    }

    /// Appends committed when this series last read or wrote the store: when the store has
    /// more, another process appended and this series is behind.
    pub fn appends(&self) -> u64 {
        self.appends
    }

    /// The readings of one station and parameter, by time in milliseconds since 1970.
    pub fn values(&self, station: &str, parameter: &str) -> Option<&BTreeMap<i64, f64>> {
        self.values.get(&(station.to_owned(), parameter.to_owned()))
    }

    /// The parameters a station has readings of, sorted.
    pub fn parameters(&self, station: &str) -> Vec<&str> {
        let mut found: Vec<&str> = self
            .values
            .iter()
            .filter(|((s, _), v)| s == station && !v.is_empty())
            .map(|((_, p), _)| p.as_str())
            .collect();
        found.sort_unstable();
        found
    }

    /// A station's warning level (0 = below every threshold, or none reached yet).
    pub fn level(&self, station: &str) -> u8 {
        self.levels.get(station).map_or(0, |s| s.level)
    }

    /// The committed manifest of the observation parts.
    pub fn parts(&self) -> Result<Parts> {
        self.store.load()
    }

    /// The latest value of every station that has one, with level and trend.
    pub fn latest(&self) -> Vec<Latest> {
        let parameter = &self.config.parameter;
        self.stations
            .values()
            .filter_map(|station| {
                let values = self.values.get(&(station.id.clone(), parameter.clone()))?;
                let (&time, &value) = values.iter().next_back()?;
                let hour_before = values.range(time - 3_600_000..time).next();
                let trend = hour_before.map(|(_, &earlier)| {
                    if value > earlier {
                        "rising"
                    } else if value < earlier {
                        "falling"
                    } else {
                        "steady"
                    }
                });
                let level = self.levels.get(&station.id).map_or(0, |s| s.level);
                Some(Latest {
                    station: station.id.clone(),
                    name: station.name.clone(),
                    water: station.water.clone(),
                    lon: station.lon,
                    lat: station.lat,
                    parameter: parameter.clone(),
                    unit: self.config.unit.clone(),
                    time: format_time(time),
                    value,
                    level,
                    level_name: level
                        .checked_sub(1)
                        .and_then(|i| self.config.levels.get(i as usize).cloned()),
                    trend,
                })
            })
            .collect()
    }

    /// Moves a station's level with a new reading: up as soon as a threshold is reached, down
    /// only once the value is `hysteresis` below the threshold; either way only after the new
    /// level held for `min_duration`. Returns the event of a change.
    fn apply_level(&mut self, station: &str, time: i64, value: f64) -> Option<LevelEvent> {
        let thresholds = &self.stations.get(station)?.thresholds;
        let target = target_level(
            thresholds,
            self.levels.get(station).map_or(0, |s| s.level),
            value,
            self.config.hysteresis,
        );
        let state = self.levels.entry(station.to_owned()).or_default();
        state.last = Some(time);
        if target == state.level {
            state.pending = None;
            return None;
        }
        let since = match state.pending {
            Some((level, since)) if level == target => since,
            _ => time,
        };
        if time - since >= self.min_duration {
            let from = std::mem::replace(&mut state.level, target);
            state.pending = None;
            Some(LevelEvent {
                station: station.to_owned(),
                from,
                to: target,
                time: format_time(time),
                at: time,
                value,
            })
        } else {
            state.pending = Some((target, since));
            None
        }
    }
}

/// The level `value` calls for when the station is at `current`.
pub fn target_level(thresholds: &[Option<f64>], current: u8, value: f64, hysteresis: f64) -> u8 {
    let reached = thresholds
        .iter()
        .enumerate()
        .filter(|(_, t)| t.is_some_and(|t| value >= t))
        .map(|(i, _)| i + 1)
        .max()
        .unwrap_or(0);
    let reached = reached as u8;
    if reached >= current {
        return reached;
    }
    // Going down: leave each level only when clearly below its threshold.
    let mut level = current;
    while level > reached {
        match thresholds.get(level as usize - 1).copied().flatten() {
            Some(t) if value >= t - hysteresis => break,
            _ => level -= 1,
        }
    }
    level
}

/// RFC 3339 in UTC, milliseconds only when there are some.
pub fn format_time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
        .unwrap_or_default()
}

/// Checks that the stations in `path` have the columns `config` names; returns their number.
pub fn check_stations(path: &Path, config: &TimeseriesConfig) -> Result<usize> {
    read_stations(path, config).map(|s| s.len())
}

fn read_stations(path: &Path, config: &TimeseriesConfig) -> Result<BTreeMap<String, Station>> {
    let file = std::fs::File::open(path).map_err(|e| IngestError::io(path, e))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .and_then(|b| b.build())
        .map_err(|e| IngestError::config(path, e.to_string()))?;
    let mut stations = BTreeMap::new();
    for batch in reader {
        let batch = batch.map_err(|e| IngestError::config(path, e.to_string()))?;
        let text = |name: &str| -> Result<Option<Vec<Option<String>>>> {
            let Some(column) = batch.column_by_name(name) else {
                return Ok(None);
            };
            let column = cast(column, &DataType::Utf8)
                .map_err(|e| IngestError::config(path, format!("column '{name}': {e}")))?;
            let strings = column.as_string::<i32>();
            Ok(Some(
                (0..strings.len())
                    .map(|i| (!strings.is_null(i)).then(|| strings.value(i).to_owned()))
                    .collect(),
            ))
        };
        let ids = text(&config.station)?.ok_or_else(|| {
            IngestError::config(
                path,
                format!(
                    "[timeseries] station = \"{}\" is not a column of the stations",
                    config.station
                ),
            )
        })?;
        let names = match &config.name {
            Some(n) => text(n)?,
            None => None,
        };
        let waters = match &config.water {
            Some(w) => text(w)?,
            None => None,
        };
        let mut thresholds = Vec::new();
        for level in &config.levels {
            let column = batch.column_by_name(level).ok_or_else(|| {
                IngestError::config(
                    path,
                    format!("[timeseries] levels: '{level}' is not a column of the stations"),
                )
            })?;
            let numbers = cast(column, &DataType::Float64)
                .map_err(|e| IngestError::config(path, format!("column '{level}': {e}")))?;
            let numbers = numbers
                .as_primitive::<arrow::datatypes::Float64Type>()
                .clone();
            thresholds.push(numbers);
        }
        let geometry = batch
            .column_by_name("geometry")
            .and_then(|g| cast(g, &DataType::Binary).ok());
        for (i, id) in ids.into_iter().enumerate() {
            let Some(id) = id else { continue };
            let (lon, lat) = geometry
                .as_ref()
                .map(|g| g.as_binary::<i32>())
                .filter(|g| !g.is_null(i))
                .and_then(|g| wkb_point(g.value(i)))
                .map_or((None, None), |(x, y)| (Some(x), Some(y)));
            let station = Station {
                name: names
                    .as_ref()
                    .and_then(|n| n[i].clone())
                    .unwrap_or_else(|| id.clone()),
                water: waters.as_ref().and_then(|w| w[i].clone()),
                lon,
                lat,
                thresholds: thresholds
                    .iter()
                    .map(|t| (!t.is_null(i)).then(|| t.value(i)))
                    .collect(),
                id: id.clone(),
            };
            stations.insert(id, station);
        }
    }
    Ok(stations)
}

/// The coordinates of a WKB point (2D or with Z/M, either byte order); none for other types.
fn wkb_point(wkb: &[u8]) -> Option<(f64, f64)> {
    let little = *wkb.first()? == 1;
    let word = |at: usize| -> Option<[u8; 4]> { wkb.get(at..at + 4)?.try_into().ok() };
    let double = |at: usize| -> Option<f64> {
        let bytes: [u8; 8] = wkb.get(at..at + 8)?.try_into().ok()?;
        Some(if little {
            f64::from_le_bytes(bytes)
        } else {
            f64::from_be_bytes(bytes)
        })
    };
    let kind = if little {
        u32::from_le_bytes(word(1)?)
    } else {
        u32::from_be_bytes(word(1)?)
    };
    // 1 = Point; 1001/2001/3001 (ISO Z/M) and the EWKB flags keep the X, Y at the same place.
    (kind % 1000 == 1 || kind & 0xFFFF == 1).then_some(())?;
    Some((double(5)?, double(13)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_rise_at_once_and_fall_only_below_the_hysteresis_band() {
        // Ahlen: Informationsstufe 1–3 at 170, 200, 250 cm (lanuv_nrw_gauge_stations.csv).
        let t = [Some(170.0), Some(200.0), Some(250.0)];
        assert_eq!(target_level(&t, 0, 169.9, 5.0), 0);
        assert_eq!(target_level(&t, 0, 170.0, 5.0), 1);
        assert_eq!(target_level(&t, 0, 260.0, 5.0), 3);
        // At level 2, 196 cm is within 5 cm below 200: stays; 194 leaves level 2.
        assert_eq!(target_level(&t, 2, 196.0, 5.0), 2);
        assert_eq!(target_level(&t, 2, 194.0, 5.0), 1);
        assert_eq!(target_level(&t, 2, 150.0, 5.0), 0);
        // A station without thresholds (Ahmsen) never leaves level 0.
        assert_eq!(target_level(&[None, None, None], 0, 900.0, 5.0), 0);
        // Only the levels a station has count.
        assert_eq!(
            target_level(&[Some(100.0), None, Some(300.0)], 0, 310.0, 0.0),
            3
        );
    }

    fn reading(
        station: &str,
        minute: i64,
        value: f64,
    ) -> std::result::Result<Reading, ReadingError> {
        Ok(Reading {
            station: station.into(),
            parameter: None,
            time: minute * 60_000,
            value,
            quality: None,
        })
    }

    /// A series over one station "P" with thresholds 110 and 150, 5 of hysteresis and 30
    /// minutes' minimum duration.
    fn series(root: &Path) -> Series {
        use arrow::array::{Float64Array, RecordBatch, StringArray};
        use std::sync::Arc;
        let batch = RecordBatch::try_from_iter([
            (
                "id",
                Arc::new(StringArray::from(vec!["P"])) as arrow::array::ArrayRef,
            ),
            ("l1", Arc::new(Float64Array::from(vec![110.0]))),
            ("l2", Arc::new(Float64Array::from(vec![150.0]))),
        ])
        .expect("batch");
        let stations = root.join("stations.parquet");
        super::super::store::write_batch(&stations, &batch).expect("stations");
        let config = TimeseriesConfig {
            levels: vec!["l1".into(), "l2".into()],
            hysteresis: 5.0,
            min_duration: Some("30m".into()),
            ..TimeseriesConfig::default()
        };
        Series::open(root, "p", 1, config, &stations).expect("open")
    }

    #[test]
    fn a_level_counts_once_it_held_for_the_minimum_duration() {
        let root = tempfile::tempdir().expect("tempdir");
        let mut s = series(root.path());
        let levels = |o: &PushOutcome| -> Vec<(u8, u8, i64)> {
            o.events
                .iter()
                .map(|e| (e.from, e.to, e.at / 60_000))
                .collect()
        };
        let o = s
            .push(vec![
                reading("P", 0, 100.0),
                reading("P", 15, 120.0),
                reading("P", 30, 125.0),
            ])
            .expect("push");
        assert_eq!(levels(&o), vec![], "held 15 minutes only");
        let o = s.push(vec![reading("P", 45, 130.0)]).expect("push");
        assert_eq!(levels(&o), vec![(0, 1, 45)], "held from minute 15 to 45");
        // 108 is within the 5 below 110: level 1 stays; 104 starts the way down.
        let o = s
            .push(vec![
                reading("P", 60, 108.0),
                reading("P", 75, 104.0),
                reading("P", 90, 100.0),
            ])
            .expect("push");
        assert_eq!(levels(&o), vec![]);
        let o = s.push(vec![reading("P", 105, 90.0)]).expect("push");
        assert_eq!(levels(&o), vec![(1, 0, 105)]);
        // A brief spike over 110 that falls back before 30 minutes is no event.
        let o = s
            .push(vec![
                reading("P", 120, 115.0),
                reading("P", 135, 100.0),
                reading("P", 180, 100.0),
            ])
            .expect("push");
        assert_eq!(levels(&o), vec![]);

        // Duplicates write nothing; a correction is reported; unknown stations are listed.
        let parts = s.parts().expect("parts").parts.len();
        let o = s
            .push(vec![
                reading("P", 0, 100.0),
                reading("P", 15, 121.0),
                reading("Q", 0, 1.0),
            ])
            .expect("push");
        assert_eq!((o.accepted, o.duplicates, o.corrections.len()), (0, 1, 1));
        assert_eq!(
            o.late, 1,
            "the correction of minute 15 is older than minute 180"
        );
        assert_eq!((o.corrections[0].old, o.corrections[0].new), (120.0, 121.0));
        assert_eq!(o.rejected[0].index, Some(2));
        assert_eq!(s.parts().expect("parts").parts.len(), parts + 1);
        let o = s.push(vec![reading("P", 0, 100.0)]).expect("push");
        assert_eq!(o.duplicates, 1);
        assert_eq!(
            s.parts().expect("parts").parts.len(),
            parts + 1,
            "nothing written"
        );
        // A new key twice in one batch is stored once, with the later value.
        let o = s
            .push(vec![reading("P", 195, 100.0), reading("P", 195, 101.0)])
            .expect("push");
        assert_eq!((o.accepted, o.corrections.len()), (1, 1));
        let stored = s.parts().expect("parts");
        let last = stored.parts.last().expect("a part");
        assert_eq!((last.rows, last.corrections), (1, 0));

        // Reopened from disk: the same values, the same level, both events stored.
        let again = series(root.path());
        assert_eq!(again.latest(), s.latest());
        let events = EventLog::new(root.path(), "p").load().expect("events");
        assert_eq!(events.parts.iter().map(|p| p.rows).sum::<u64>(), 2);
    }

    #[test]
    fn durations_and_points() {
        let mut c: TimeseriesConfig = toml::from_str("station = \"Name\"").expect("toml");
        assert_eq!(c.min_duration_ms(), Ok(0));
        c.min_duration = Some("30m".into());
        assert_eq!(c.min_duration_ms(), Ok(1_800_000));
        c.min_duration = Some("30 minutes".into());
        assert!(c.min_duration_ms().is_err());
        let mut wkb = vec![1u8, 1, 0, 0, 0];
        wkb.extend(7.5f64.to_le_bytes());
        wkb.extend(51.25f64.to_le_bytes());
        assert_eq!(wkb_point(&wkb), Some((7.5, 51.25)));
        assert_eq!(format_time(1_704_280_500_000), "2024-01-03T11:15:00Z");
    }
}
