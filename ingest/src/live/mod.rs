//! Live time-series datasets (`kind = "timeseries"`): a station table published like any
//! dataset, plus observations pushed in small batches and stored as Parquet parts under a
//! manifest (see [`store`] and ARCHITECTURE.md).

pub mod events;
pub mod published;
pub mod readings;
pub mod replay;
pub mod series;
pub mod store;

use std::path::Path;

use allmende_catalog::{Catalog, Format};

use crate::error::{IngestError, Result};

pub use events::{EventLog, StoredEvent};
pub use published::{events_id, publish_events};
pub use readings::{BodyError, CsvColumns, Reading, ReadingError};
pub use series::{Latest, LevelEvent, PushOutcome, Series, Station, TimeseriesConfig};
pub use store::{Observation, ObservationStore, Part, Parts};

/// A duration as dataset.toml writes it (`90s`, `15m`, `1h`), in milliseconds.
pub fn duration_ms(text: &str) -> std::result::Result<i64, String> {
    let text = text.trim();
    let (number, unit) = text.split_at(text.len().saturating_sub(1));
    let factor = match unit {
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        _ => return Err(format!("'{text}': use s, m or h, e.g. \"30m\"")),
    };
    match number.parse::<i64>() {
        Ok(n) if n >= 0 => Ok(n * factor),
        _ => Err(format!("'{text}': use s, m or h, e.g. \"30m\"")),
    }
}

/// Readings a history import pushes per part.
const IMPORT_CHUNK: usize = 100_000;

/// Imports history files (`allmende ingest --append --source FILE` on a time series) through
/// the same checks as a push: the station must exist, keys already stored are duplicates or
/// corrections. Rows holding a null token are skipped and counted in `skipped`.
pub fn import(
    root: &Path,
    id: &str,
    config: &TimeseriesConfig,
    files: &[std::path::PathBuf],
) -> Result<Import> {
    let catalog = Catalog::open(root)?;
    let version = catalog
        .get(id)
        .and_then(|m| m.latest())
        .ok_or_else(|| {
            IngestError::config(
                Catalog::dataset_dir(root, id),
                "publish the stations first (allmende ingest without --append)",
            )
        })?
        .number;
    let stations = catalog.file_path(id, version, Format::Parquet);
    let mut series = Series::open(root, id, version, config.clone(), &stations)?;
    let columns = config.import.clone().unwrap_or_default();
    let mut total = Import::default();
    for file in files {
        let source = std::fs::File::open(file).map_err(|e| IngestError::io(file, e))?;
        let mut readings = readings::CsvReadings::new(source, &columns)
            .map_err(|e| IngestError::config(file, e.0))?;
        loop {
            let chunk: Vec<_> = readings.by_ref().take(IMPORT_CHUNK).collect();
            if chunk.is_empty() {
                break;
            }
            let outcome = series.push(chunk)?;
            total.received += outcome.received;
            total.accepted += outcome.accepted;
            total.duplicates += outcome.duplicates;
            total.corrections += outcome.corrections.len();
            total.events += outcome.events.len();
            total.rejected.extend(outcome.rejected);
        }
        total.skipped += readings.nulls;
    }
    if total.events > 0 {
        let stations: Vec<Station> = series.stations().cloned().collect();
        let parent = catalog.get(id).map(|m| m.meta.clone()).unwrap_or_default();
        publish_events(root, id, &parent, &stations, config)?;
    }
    Ok(total)
}

/// What a history import did.
#[derive(Debug, Default, Clone, serde::Serialize, PartialEq)]
pub struct Import {
    pub received: usize,
    pub accepted: usize,
    pub duplicates: usize,
    pub corrections: usize,
    /// Rows whose value was a null token.
    pub skipped: usize,
    /// Level changes found in the history.
    pub events: usize,
    pub rejected: Vec<ReadingError>,
}
