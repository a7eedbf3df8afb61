//! Changes of warning level, stored like observations: Parquet parts under
//! `events/parts.json`, appended durably before a push is answered, and queryable as
//! `<table>__events`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use allmende_catalog::Catalog;
use arrow::array::{
    ArrayRef, Float64Array, RecordBatch, StringArray, TimestampMillisecondArray, UInt8Array,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::series::LevelEvent;
use super::store::{Part, Parts, create_dir_durably, lock, read_parts, write_batch, write_parts};
use crate::error::{IngestError, Result};

/// The folder of a dataset's level events.
pub const EVENTS_DIR: &str = "events";

/// The Arrow schema of the event parts.
pub fn schema() -> SchemaRef {
    let ts = DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()));
    Arc::new(Schema::new(vec![
        Field::new("station", DataType::Utf8, false),
        Field::new("from_level", DataType::UInt8, false),
        Field::new("to_level", DataType::UInt8, false),
        Field::new("time", ts.clone(), false),
        Field::new("value", DataType::Float64, false),
        Field::new("recorded", ts, false),
    ]))
}

/// An event as committed, with its number in the log.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    /// 1 for the first event of the dataset.
    pub number: u64,
    pub station: String,
    pub from: u8,
    pub to: u8,
    /// The confirming reading's time, ms since 1970.
    pub at: i64,
    pub value: f64,
    /// When the event was committed, ms since 1970.
    pub recorded: i64,
}

/// The event log of one dataset.
#[derive(Debug, Clone)]
pub struct EventLog {
    dir: PathBuf,
}

impl EventLog {
    pub fn new(root: &Path, id: &str) -> EventLog {
        EventLog {
            dir: Catalog::dataset_dir(root, id).join(EVENTS_DIR),
        }
    }

    /// The committed manifest; none yet is an empty log.
    pub fn load(&self) -> Result<Parts> {
        read_parts(&self.dir)
    }

    /// The path of a part file named in the manifest.
    pub fn part_path(&self, part: &Part) -> PathBuf {
        self.dir.join(&part.file)
    }

    /// Every committed event in log order; the first is number 1 (events are never rewritten,
    /// so a number names the same event for good).
    pub fn read(&self) -> Result<Vec<StoredEvent>> {
        let parts = self.load()?;
        let mut out = Vec::new();
        for part in &parts.parts {
            let path = self.part_path(part);
            let file = std::fs::File::open(&path).map_err(|e| IngestError::io(&path, e))?;
            let reader = ParquetRecordBatchReaderBuilder::try_new(file)
                .and_then(|b| b.build())
                .map_err(|e| IngestError::config(&path, e.to_string()))?;
            let bad = || IngestError::config(&path, "not an event part");
            for batch in reader {
                let batch = batch.map_err(|e| IngestError::config(&path, e.to_string()))?;
                let col = |i: usize| batch.column(i).as_any();
                let station = col(0).downcast_ref::<StringArray>().ok_or_else(bad)?;
                let from = col(1).downcast_ref::<UInt8Array>().ok_or_else(bad)?;
                let to = col(2).downcast_ref::<UInt8Array>().ok_or_else(bad)?;
                let time = col(3)
                    .downcast_ref::<TimestampMillisecondArray>()
                    .ok_or_else(bad)?;
                let value = col(4).downcast_ref::<Float64Array>().ok_or_else(bad)?;
                let recorded = col(5)
                    .downcast_ref::<TimestampMillisecondArray>()
                    .ok_or_else(bad)?;
                for row in 0..batch.num_rows() {
                    out.push(StoredEvent {
                        number: out.len() as u64 + 1,
                        station: station.value(row).to_owned(),
                        from: from.value(row),
                        to: to.value(row),
                        at: time.value(row),
                        value: value.value(row),
                        recorded: recorded.value(row),
                    });
                }
            }
        }
        Ok(out)
    }

    /// Commits `events` as one part, durably.
    pub fn append(&self, events: &[LevelEvent]) -> Result<Parts> {
        create_dir_durably(&self.dir)?;
        let _lock = lock(&self.dir.join(".append.lock"))?;
        let mut parts = self.load()?;
        if events.is_empty() {
            return Ok(parts);
        }
        let file = format!("part-{:08}.parquet", parts.next_part);
        let path = self.dir.join(&file);
        let recorded = chrono::Utc::now().timestamp_millis();
        let batch = to_batch(events, recorded).map_err(|e| IngestError::write(&path, e))?;
        write_batch(&path, &batch)?;
        let times = events.iter().map(|e| e.at);
        parts.parts.push(Part {
            file,
            rows: events.len() as u64,
            corrections: 0,
            min_time: times.clone().min().unwrap_or(0),
            max_time: times.max().unwrap_or(0),
        });
        parts.next_part += 1;
        parts.generation += 1;
        write_parts(&self.dir, &parts)?;
        Ok(parts)
    }
}

fn to_batch(
    events: &[LevelEvent],
    recorded: i64,
) -> std::result::Result<RecordBatch, arrow::error::ArrowError> {
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(
            events.iter().map(|e| &e.station),
        )),
        Arc::new(UInt8Array::from_iter_values(events.iter().map(|e| e.from))),
        Arc::new(UInt8Array::from_iter_values(events.iter().map(|e| e.to))),
        Arc::new(
            TimestampMillisecondArray::from_iter_values(events.iter().map(|e| e.at))
                .with_timezone("UTC"),
        ),
        Arc::new(Float64Array::from_iter_values(
            events.iter().map(|e| e.value),
        )),
        Arc::new(
            TimestampMillisecondArray::from_iter_values(events.iter().map(|_| recorded))
                .with_timezone("UTC"),
        ),
    ];
    RecordBatch::try_new(schema(), columns)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(station: &str, from: u8, to: u8, at: i64, value: f64) -> LevelEvent {
        LevelEvent {
            station: station.into(),
            from,
            to,
            time: String::new(),
            at,
            value,
        }
    }

    #[test]
    fn events_read_back_numbered_in_log_order_across_parts() {
        let root = tempfile::tempdir().expect("tempdir");
        let log = EventLog::new(root.path(), "p");
        assert!(log.read().expect("empty log").is_empty());
        log.append(&[event("A", 0, 1, 1000, 175.0), event("B", 0, 2, 2000, 210.0)])
            .expect("first part");
        log.append(&[]).expect("nothing");
        log.append(&[event("A", 1, 0, 3000, 120.0)])
            .expect("second part");
        let read = log.read().expect("read");
        let got: Vec<(u64, &str, u8, u8, i64, f64)> = read
            .iter()
            .map(|e| (e.number, e.station.as_str(), e.from, e.to, e.at, e.value))
            .collect();
        assert_eq!(
            got,
            vec![
                (1, "A", 0, 1, 1000, 175.0),
                (2, "B", 0, 2, 2000, 210.0),
                (3, "A", 1, 0, 3000, 120.0),
            ]
        );
        assert!(read.iter().all(|e| e.recorded > 0));
    }
}
