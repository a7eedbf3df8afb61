//! Live time-series datasets (`kind = "timeseries"`): a station table published like any
//! dataset, plus observations pushed in small batches and stored as Parquet parts under a
//! manifest (see [`store`] and ARCHITECTURE.md).

pub mod events;
pub mod feed;
pub mod published;
pub mod readings;
pub mod replay;
pub mod series;
pub mod store;

use std::path::Path;

use allmende_catalog::{Catalog, Format};

use crate::error::{IngestError, Result};

pub use events::{EventLog, StoredEvent};
pub use feed::{Feed, FeedFormat, StationField};
pub use published::{events_id, publish_events};
pub use readings::{BodyError, CsvColumns, Reading, ReadingError};
pub use series::{Latest, LevelEvent, PushOutcome, Series, Station, TimeseriesConfig};
pub use store::{Observation, ObservationStore, Part, Parts};

/// A duration as written in dataset.toml, in milliseconds: a whole number with `s`, `m` or
/// `h` (`90s`, `15m`, `1h`). The error quotes the text, for the caller to prefix with its key.
pub fn duration_ms(text: &str) -> std::result::Result<i64, String> {
    let trimmed = text.trim();
    let fail = || format!("'{trimmed}': use a whole number with s, m or h, e.g. \"30m\"");
    let (number, unit) = trimmed.split_at(trimmed.len().saturating_sub(1));
    let factor = match unit {
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        _ => return Err(fail()),
    };
    number
        .parse::<u32>()
        .map(|n| i64::from(n) * factor)
        .map_err(|_| fail())
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
    // Tidy the parts the import wrote, run by run, each under the merge budget.
    let store = ObservationStore::new(root, id);
    while store.compact()?.is_some() {}
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

#[cfg(test)]
mod tests {
    #[test]
    fn durations() {
        assert_eq!(super::duration_ms("90s"), Ok(90_000));
        assert_eq!(super::duration_ms(" 15m "), Ok(900_000));
        assert_eq!(super::duration_ms("1h"), Ok(3_600_000));
        for bad in ["", "m", "15", "-5m", "1.5h", "30 minutes", "15min"] {
            let err = super::duration_ms(bad).expect_err(bad);
            assert!(err.contains("e.g. \"30m\""), "{err}");
        }
    }
}
