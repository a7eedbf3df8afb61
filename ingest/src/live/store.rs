//! Observations on disk: immutable Parquet parts under a JSON manifest (`parts.json`).
//!
//! An append writes one part with only the batch's rows and then replaces the manifest, so it
//! costs the batch, not the history. Both are written to a temporary name, fsync'd, renamed and
//! the folder fsync'd: once [`ObservationStore::append`] returns, the readings survive a crash.
//! Readers read the manifest once and see exactly the parts it names. [`ObservationStore::compact`]
//! merges the current parts into one (latest value per key) and moves superseded values into a
//! history part; the replaced files are deleted one compaction later, so that a query that
//! started on the older manifest can still read them.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use allmende_catalog::Catalog;
use arrow::array::{
    Array, ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray, TimestampMillisecondArray,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use serde::{Deserialize, Serialize};

use crate::error::{IngestError, Result};

/// The folder of a dataset's observations, beside its versions.
pub const OBSERVATIONS_DIR: &str = "observations";
/// The manifest of the parts: the commit point of an append or a compaction.
pub const PARTS_FILE: &str = "parts.json";

/// The manifest: which part files hold the observations now.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Parts {
    /// Increases with every commit; stored in each row as `seq`, so later values win.
    pub generation: u64,
    /// Number of the next part file.
    pub next_part: u64,
    /// Appends committed so far (compaction leaves it alone): a writer that finds it higher
    /// than it left it knows that someone else appended.
    #[serde(default)]
    pub appends: u64,
    /// The current observations. While a part holds corrections, readers pick the row with the
    /// highest `seq` per key.
    pub parts: Vec<Part>,
    /// Values replaced by corrections, moved out of `parts` by compaction.
    #[serde(default)]
    pub history: Vec<Part>,
    /// Files no longer named above, deleted by the next compaction.
    #[serde(default)]
    pub retired: Vec<String>,
}

impl Parts {
    /// Whether some key has more than one row in `parts` (a correction not yet compacted).
    pub fn has_pending_corrections(&self) -> bool {
        self.parts.iter().any(|p| p.corrections > 0)
    }
}

/// One immutable Parquet file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Part {
    pub file: String,
    pub rows: u64,
    /// Rows that replace an earlier value of the same key.
    #[serde(default)]
    pub corrections: u64,
    /// First and last observation time, milliseconds since 1970 (UTC).
    pub min_time: i64,
    pub max_time: i64,
}

/// One stored reading.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    pub station: String,
    pub parameter: String,
    /// Milliseconds since 1970, UTC.
    pub time: i64,
    pub value: f64,
    pub quality: Option<String>,
}

/// A row as stored: the reading, when it was committed, and the commit's generation.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredObservation {
    pub observation: Observation,
    pub recorded: i64,
    pub seq: i64,
}

/// The Arrow schema of every part.
pub fn schema() -> SchemaRef {
    let ts = DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()));
    Arc::new(Schema::new(vec![
        Field::new("station", DataType::Utf8, false),
        Field::new("parameter", DataType::Utf8, false),
        Field::new("time", ts.clone(), false),
        Field::new("value", DataType::Float64, false),
        Field::new("quality", DataType::Utf8, true),
        Field::new("recorded", ts, false),
        Field::new("seq", DataType::Int64, false),
    ]))
}

/// The observation store of one dataset.
#[derive(Debug, Clone)]
pub struct ObservationStore {
    dir: PathBuf,
}

impl ObservationStore {
    pub fn new(root: &Path, id: &str) -> ObservationStore {
        ObservationStore {
            dir: Catalog::dataset_dir(root, id).join(OBSERVATIONS_DIR),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The committed manifest; none yet is an empty store.
    pub fn load(&self) -> Result<Parts> {
        read_parts(&self.dir)
    }

    /// The path of a part file named in the manifest.
    pub fn part_path(&self, part: &Part) -> PathBuf {
        self.dir.join(&part.file)
    }

    /// Reads every row of the given parts, in manifest order.
    pub fn read(&self, parts: &[Part]) -> Result<Vec<StoredObservation>> {
        let mut rows = Vec::new();
        for part in parts {
            read_part(&self.part_path(part), &mut rows)?;
        }
        Ok(rows)
    }

    /// Calls `f` with every row of `parts`, part by part in manifest order (which is commit
    /// order), without holding more than one batch in memory.
    pub fn visit(&self, parts: &[Part], mut f: impl FnMut(RowRef)) -> Result<()> {
        for part in parts {
            visit_part(&self.part_path(part), &mut f)?;
        }
        Ok(())
    }

    /// Commits `observations` as one new part, durably; `corrections` of them replace earlier
    /// values. Returns the new manifest.
    pub fn append(&self, observations: &[Observation], corrections: u64) -> Result<Parts> {
        create_dir_durably(&self.dir)?;
        let _lock = lock(&self.dir.join(".append.lock"))?;
        let mut parts = self.load()?;
        if observations.is_empty() {
            return Ok(parts);
        }
        let generation = parts.generation + 1;
        let recorded = chrono::Utc::now().timestamp_millis();
        let rows: Vec<StoredObservation> = observations
            .iter()
            .map(|o| StoredObservation {
                observation: o.clone(),
                recorded,
                seq: generation as i64,
            })
            .collect();
        let file = format!("part-{:08}.parquet", parts.next_part);
        write_part(&self.dir.join(&file), &rows)?;
        parts.parts.push(describe(file, &rows, corrections));
        parts.next_part += 1;
        parts.appends += 1;
        parts.generation = generation;
        write_parts(&self.dir, &parts)?;
        Ok(parts)
    }

    /// Merges recent parts into one with the latest value per key (see [`merge_run`]);
    /// superseded values go to a history part. Appends may run meanwhile: they land after the
    /// merged part. Returns the new manifest, or `None` when there was nothing to merge.
    pub fn compact(&self) -> Result<Option<Parts>> {
        self.compact_within(MAX_MERGE_ROWS)
    }

    /// [`ObservationStore::compact`] with a bound on the rows merged at once.
    pub fn compact_within(&self, max_rows: u64) -> Result<Option<Parts>> {
        fs::create_dir_all(&self.dir).map_err(|e| IngestError::io(&self.dir, e))?;
        let _compacting = lock(&self.dir.join(".compact.lock"))?;
        let before = self.load()?;
        let (kept, merged_parts) = merge_run(&before.parts, max_rows);
        // One part alone is rewritten only to resolve its corrections, when nothing is older.
        let resolvable = kept.is_empty() && merged_parts.iter().any(|p| p.corrections > 0);
        if merged_parts.len() < 2 && !resolvable {
            return Ok(None);
        }
        // Files retired by the previous compaction: no reader can still be planning on them.
        for file in &before.retired {
            let path = self.dir.join(file);
            if let Err(e) = fs::remove_file(&path)
                && e.kind() != std::io::ErrorKind::NotFound
            {
                return Err(IngestError::io(&path, e));
            }
        }
        let rows = self.read(&merged_parts)?;
        let (current, superseded) = latest_per_key(rows);
        // A correction whose replaced value was merged too is resolved (it went to history);
        // one whose replaced value is in a kept part still is pending.
        let pending = if kept.is_empty() {
            0
        } else {
            merged_parts
                .iter()
                .map(|p| p.corrections)
                .sum::<u64>()
                .saturating_sub(superseded.len() as u64)
        };
        // Named after the generation merged; only one compaction runs at a time (the lock).
        let file = format!("compact-{:08}.parquet", before.generation);
        write_part(&self.dir.join(&file), &current)?;
        let history_file =
            (!superseded.is_empty()).then(|| format!("history-{:08}.parquet", before.generation));
        if let Some(h) = &history_file {
            write_part(&self.dir.join(h), &superseded)?;
        }
        let _appending = lock(&self.dir.join(".append.lock"))?;
        let mut parts = self.load()?;
        // Parts committed since `before` stay, after the merged one.
        let newer: Vec<Part> = parts
            .parts
            .iter()
            .filter(|p| !merged_parts.contains(p) && !kept.contains(p))
            .cloned()
            .collect();
        parts.parts = kept
            .into_iter()
            .chain(std::iter::once(describe(file, &current, pending)))
            .chain(newer)
            .collect();
        if let Some(h) = history_file {
            parts.history.push(describe(h, &superseded, 0));
        }
        parts.retired = merged_parts.into_iter().map(|p| p.file).collect();
        parts.generation += 1;
        write_parts(&self.dir, &parts)?;
        Ok(Some(parts))
    }
}

/// Rows one compaction merges at most. Merging holds the merged rows in memory (about 600
/// bytes a reading at its peak, measured with benches/gauges.py), so this bounds a compaction
/// to a few hundred MiB; parts that reached it stay as they are.
pub const MAX_MERGE_ROWS: u64 = 1_000_000;

/// Which parts a compaction merges: the newest run of two or more consecutive parts that fit
/// in `max_rows` together, each older part of the run at most four times the rows of the
/// newer ones (size tiers: recent small parts merge often, large old ones rarely, so a
/// reading is rewritten a logarithmic number of times; parts that reached the budget stay).
/// A run may sit before newer parts: the merged part takes its place, so the manifest stays in
/// commit order. Returns the parts before the run, and the run (empty when none qualifies).
fn merge_run(parts: &[Part], max_rows: u64) -> (Vec<Part>, Vec<Part>) {
    for end in (2..=parts.len()).rev() {
        let mut start = end;
        let mut rows = 0u64;
        while let Some(older) = start.checked_sub(1).map(|i| &parts[i]) {
            let tier_boundary = rows > 0 && older.rows > 4 * rows;
            let too_many = rows > 0 && rows + older.rows > max_rows;
            if tier_boundary || too_many {
                break;
            }
            rows += older.rows;
            start -= 1;
        }
        if end - start >= 2 {
            return (parts[..start].to_vec(), parts[start..end].to_vec());
        }
    }
    // No run: a lone part with corrections and nothing before it may still be rewritten.
    (
        Vec::new(),
        parts
            .iter()
            .take(1)
            .filter(|_| parts.len() == 1)
            .cloned()
            .collect(),
    )
}

/// Splits rows into the latest per key (highest `seq`) and the rest, each in time order.
fn latest_per_key(
    rows: Vec<StoredObservation>,
) -> (Vec<StoredObservation>, Vec<StoredObservation>) {
    let mut latest: HashMap<(String, String, i64), StoredObservation> = HashMap::new();
    let mut superseded = Vec::new();
    for row in rows {
        let key = (
            row.observation.station.clone(),
            row.observation.parameter.clone(),
            row.observation.time,
        );
        match latest.get_mut(&key) {
            Some(old) if old.seq <= row.seq => superseded.push(std::mem::replace(old, row)),
            Some(_) => superseded.push(row),
            None => {
                latest.insert(key, row);
            }
        }
    }
    let order = |a: &StoredObservation, b: &StoredObservation| {
        (
            &a.observation.station,
            &a.observation.parameter,
            a.observation.time,
        )
            .cmp(&(
                &b.observation.station,
                &b.observation.parameter,
                b.observation.time,
            ))
    };
    let mut current: Vec<_> = latest.into_values().collect();
    current.sort_by(order);
    superseded.sort_by(order);
    (current, superseded)
}

fn describe(file: String, rows: &[StoredObservation], corrections: u64) -> Part {
    let times = rows.iter().map(|r| r.observation.time);
    Part {
        file,
        rows: rows.len() as u64,
        corrections,
        min_time: times.clone().min().unwrap_or(0),
        max_time: times.max().unwrap_or(0),
    }
}

/// An exclusive lock on `path`, released when the returned file closes (also if we die).
pub(crate) fn lock(path: &Path) -> Result<File> {
    let file = File::create(path).map_err(|e| IngestError::io(path, e))?;
    file.lock().map_err(|e| IngestError::io(path, e))?;
    Ok(file)
}

/// Reads the manifest in `dir`.
pub fn read_parts(dir: &Path) -> Result<Parts> {
    let path = dir.join(PARTS_FILE);
    match fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map_err(|e| IngestError::config(&path, format!("not a parts manifest: {e}"))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Parts::default()),
        Err(e) => Err(IngestError::io(&path, e)),
    }
}

pub(crate) fn write_parts(dir: &Path, parts: &Parts) -> Result<()> {
    let path = dir.join(PARTS_FILE);
    let json = serde_json::to_vec_pretty(parts).map_err(|e| IngestError::write(&path, e))?;
    let tmp = dir.join(format!("{PARTS_FILE}.tmp"));
    let mut file = File::create(&tmp).map_err(|e| IngestError::io(&tmp, e))?;
    file.write_all(&json)
        .and_then(|()| file.sync_all())
        .map_err(|e| IngestError::io(&tmp, e))?;
    fs::rename(&tmp, &path).map_err(|e| IngestError::io(&path, e))?;
    sync_dir(dir)
}

/// Creates `dir` if needed, and makes its entry in the parent durable too: a committed part in
/// a folder that a power cut forgets would be lost with it.
pub(crate) fn create_dir_durably(dir: &Path) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    fs::create_dir_all(dir).map_err(|e| IngestError::io(dir, e))?;
    match dir.parent() {
        Some(parent) => sync_dir(parent),
        None => Ok(()),
    }
}

/// Makes renames in `dir` durable.
fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| IngestError::io(dir, e))
}

fn write_part(path: &Path, rows: &[StoredObservation]) -> Result<()> {
    let batch = to_batch(rows).map_err(|e| IngestError::write(path, e))?;
    write_batch(path, &batch)
}

/// Writes `batch` as the Parquet file `path`, durably (temp file, fsync, rename, fsync folder).
pub(crate) fn write_batch(path: &Path, batch: &RecordBatch) -> Result<()> {
    let tmp = path.with_extension("parquet.tmp");
    let file = File::create(&tmp).map_err(|e| IngestError::io(&tmp, e))?;
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .build();
    let mut writer = ArrowWriter::try_new(file, batch.schema(), Some(props))
        .map_err(|e| IngestError::write(&tmp, e))?;
    writer
        .write(batch)
        .map_err(|e| IngestError::write(&tmp, e))?;
    let file = writer
        .into_inner()
        .map_err(|e| IngestError::write(&tmp, e))?;
    file.sync_all().map_err(|e| IngestError::io(&tmp, e))?;
    fs::rename(&tmp, path).map_err(|e| IngestError::io(path, e))?;
    sync_dir(path.parent().unwrap_or(Path::new(".")))
}

fn to_batch(
    rows: &[StoredObservation],
) -> std::result::Result<RecordBatch, arrow::error::ArrowError> {
    let o = |f: fn(&Observation) -> &str| -> ArrayRef {
        Arc::new(StringArray::from_iter_values(
            rows.iter().map(|r| f(&r.observation)),
        ))
    };
    let columns: Vec<ArrayRef> = vec![
        o(|o| &o.station),
        o(|o| &o.parameter),
        Arc::new(
            TimestampMillisecondArray::from_iter_values(rows.iter().map(|r| r.observation.time))
                .with_timezone("UTC"),
        ),
        Arc::new(Float64Array::from_iter_values(
            rows.iter().map(|r| r.observation.value),
        )),
        Arc::new(StringArray::from_iter(
            rows.iter().map(|r| r.observation.quality.as_deref()),
        )),
        Arc::new(
            TimestampMillisecondArray::from_iter_values(rows.iter().map(|r| r.recorded))
                .with_timezone("UTC"),
        ),
        Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.seq))),
    ];
    RecordBatch::try_new(schema(), columns)
}

/// A row of a part as read, borrowing its text from the batch.
#[derive(Debug, Clone, Copy)]
pub struct RowRef<'a> {
    pub station: &'a str,
    pub parameter: &'a str,
    pub time: i64,
    pub value: f64,
    pub quality: Option<&'a str>,
    pub recorded: i64,
    pub seq: i64,
}

fn read_part(path: &Path, out: &mut Vec<StoredObservation>) -> Result<()> {
    visit_part(path, &mut |r: RowRef| {
        out.push(StoredObservation {
            observation: Observation {
                station: r.station.to_owned(),
                parameter: r.parameter.to_owned(),
                time: r.time,
                value: r.value,
                quality: r.quality.map(str::to_owned),
            },
            recorded: r.recorded,
            seq: r.seq,
        });
    })
}

/// Calls `f` with each row of the part at `path`, in file order, one batch in memory at a time.
fn visit_part(path: &Path, f: &mut impl FnMut(RowRef)) -> Result<()> {
    let file = File::open(path).map_err(|e| IngestError::io(path, e))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .and_then(|b| b.build())
        .map_err(|e| IngestError::config(path, e.to_string()))?;
    let bad = |what: &str| IngestError::config(path, format!("not an observation part: {what}"));
    for batch in reader {
        let batch = batch.map_err(|e| IngestError::config(path, e.to_string()))?;
        let strings = |i: usize| {
            batch
                .column(i)
                .as_any()
                .downcast_ref::<StringArray>()
                .ok_or_else(|| bad("string column"))
        };
        let times = |i: usize| {
            batch
                .column(i)
                .as_any()
                .downcast_ref::<TimestampMillisecondArray>()
                .ok_or_else(|| bad("time column"))
        };
        let (station, parameter, quality) = (strings(0)?, strings(1)?, strings(4)?);
        let (time, recorded) = (times(2)?, times(5)?);
        let value = batch
            .column(3)
            .as_any()
            .downcast_ref::<Float64Array>()
            .ok_or_else(|| bad("value column"))?;
        let seq = batch
            .column(6)
            .as_any()
            .downcast_ref::<Int64Array>()
            .ok_or_else(|| bad("seq column"))?;
        for i in 0..batch.num_rows() {
            f(RowRef {
                station: station.value(i),
                parameter: parameter.value(i),
                time: time.value(i),
                value: value.value(i),
                quality: (!quality.is_null(i)).then(|| quality.value(i)),
                recorded: recorded.value(i),
                seq: seq.value(i),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obs(station: &str, time: i64, value: f64) -> Observation {
        Observation {
            station: station.into(),
            parameter: "W".into(),
            time,
            value,
            quality: None,
        }
    }

    #[test]
    fn appends_add_parts_and_compaction_keeps_the_latest_and_the_history() {
        let root = tempfile::tempdir().expect("tempdir");
        let store = ObservationStore::new(root.path(), "pegel");
        assert_eq!(store.load().expect("load"), Parts::default());
        store
            .append(&[obs("A", 0, 1.0), obs("B", 0, 2.0)], 0)
            .expect("append");
        let parts = store.append(&[obs("A", 0, 1.5)], 1).expect("append");
        assert_eq!(parts.parts.len(), 2);
        assert_eq!(parts.generation, 2);
        assert!(parts.has_pending_corrections());
        // Each append wrote only its own rows.
        assert_eq!(
            parts.parts.iter().map(|p| p.rows).collect::<Vec<_>>(),
            vec![2, 1]
        );

        let compacted = store.compact().expect("compact").expect("merged");
        assert_eq!(compacted.parts.len(), 1);
        assert!(!compacted.has_pending_corrections());
        let current = store.read(&compacted.parts).expect("read");
        let values: Vec<(String, f64, i64)> = current
            .iter()
            .map(|r| (r.observation.station.clone(), r.observation.value, r.seq))
            .collect();
        assert_eq!(values, vec![("A".into(), 1.5, 2), ("B".into(), 2.0, 1)]);
        let history = store.read(&compacted.history).expect("history");
        assert_eq!(history.len(), 1);
        assert_eq!(history[0].observation.value, 1.0);
        // The merged files stay until the next compaction, for readers still on them.
        assert_eq!(compacted.retired.len(), 2);
        for file in &compacted.retired {
            assert!(store.dir().join(file).is_file());
        }
        store.append(&[obs("C", 5, 3.0)], 0).expect("append");
        store.compact().expect("compact again");
        for file in &compacted.retired {
            assert!(!store.dir().join(file).exists(), "{file} deleted");
        }
        let after = store.load().expect("load");
        let all = store.read(&after.parts).expect("read");
        assert_eq!(all.len(), 3);
    }

    #[test]
    fn small_parts_are_merged_without_rewriting_the_large_one() {
        let root = tempfile::tempdir().expect("tempdir");
        let store = ObservationStore::new(root.path(), "pegel");
        let history: Vec<Observation> = (0..100).map(|t| obs("A", t, 1.0)).collect();
        store.append(&history, 0).expect("append");
        store.append(&[obs("A", 100, 2.0)], 0).expect("append");
        store
            .append(&[obs("A", 100, 2.5)], 1)
            .expect("correction within the small parts");
        store
            .append(&[obs("A", 5, 9.0)], 1)
            .expect("correction of the large part");
        let compacted = store.compact().expect("compact").expect("merged");
        assert_eq!(compacted.parts.len(), 2);
        assert_eq!(
            compacted.parts[0].file, "part-00000000.parquet",
            "kept as it was"
        );
        assert_eq!(
            (compacted.parts[1].rows, compacted.parts[1].corrections),
            (2, 1),
            "A@100 resolved, A@5 still shadows the large part"
        );
        assert!(compacted.has_pending_corrections());
        assert_eq!(store.read(&compacted.history).expect("history").len(), 1);
        assert_eq!(compacted.retired.len(), 3);
        // The rest grows past a quarter of the large part: everything is merged.
        let more: Vec<Observation> = (200..230).map(|t| obs("A", t, 3.0)).collect();
        store.append(&more, 0).expect("append");
        let full = store.compact().expect("compact").expect("merged");
        assert_eq!(full.parts.len(), 1);
        assert!(!full.has_pending_corrections());
        let rows = store.read(&full.parts).expect("read");
        assert_eq!(rows.len(), 131);
        let five = rows.iter().find(|r| r.observation.time == 5).expect("A@5");
        assert_eq!(five.observation.value, 9.0);
    }

    #[test]
    fn a_compaction_merges_at_most_its_budget_of_rows() {
        let root = tempfile::tempdir().expect("tempdir");
        let store = ObservationStore::new(root.path(), "pegel");
        for chunk in 0..5 {
            let rows: Vec<Observation> = (0..40).map(|t| obs("A", chunk * 40 + t, 1.0)).collect();
            store.append(&rows, 0).expect("append");
        }
        // 5 parts of 40 rows, at most 100 merged: the newest two.
        let first = store.compact_within(100).expect("compact").expect("merged");
        let rows: Vec<u64> = first.parts.iter().map(|p| p.rows).collect();
        assert_eq!(rows, vec![40, 40, 40, 80]);
        // The newest run of two is the two 40s before the 80 (40 + 80 would pass 100).
        let second = store.compact_within(100).expect("compact").expect("merged");
        let rows: Vec<u64> = second.parts.iter().map(|p| p.rows).collect();
        assert_eq!(rows, vec![40, 80, 80]);
        assert!(
            store.compact_within(100).expect("compact").is_none(),
            "nothing fits"
        );
        // Two parts of one row arrive: they merge with each other; the 80 is a tier above
        // (more than four times their 2 rows).
        store.append(&[obs("A", 500, 1.0)], 0).expect("append");
        store.append(&[obs("A", 501, 1.0)], 0).expect("append");
        let third = store.compact_within(100).expect("compact").expect("merged");
        let rows: Vec<u64> = third.parts.iter().map(|p| p.rows).collect();
        assert_eq!(rows, vec![40, 80, 80, 2]);
        let all = store.read(&third.parts).expect("read");
        assert_eq!(all.len(), 202);
        // In commit order: a key's rows come part by part as they were written.
        let times: Vec<i64> = all.iter().map(|r| r.observation.time).collect();
        let mut sorted = times.clone();
        sorted.sort();
        assert_eq!(times, sorted);
    }

    /// What `kill -9` leaves between writing a file and committing the manifest: files the
    /// manifest does not name. They are never read, and the next write of that name replaces
    /// them.
    #[test]
    fn files_left_by_a_crash_before_the_commit_are_ignored_and_replaced() {
        let root = tempfile::tempdir().expect("tempdir");
        let store = ObservationStore::new(root.path(), "pegel");
        store.append(&[obs("A", 0, 1.0)], 0).expect("append");
        store.append(&[obs("A", 1, 2.0)], 0).expect("append");
        let committed = store.load().expect("load");
        // An append died after its part (and a half-written manifest), a compaction after its
        // merged file.
        let dir = store.dir();
        fs::write(dir.join("part-00000002.parquet"), b"half a part").expect("orphan");
        fs::write(dir.join("part-00000002.parquet.tmp"), b"half").expect("orphan");
        fs::write(dir.join("parts.json.tmp"), b"{\"gener").expect("orphan");
        let merged = format!("compact-{:08}.parquet", committed.generation);
        fs::write(dir.join(&merged), b"half a merge").expect("orphan");
        assert_eq!(store.load().expect("load"), committed);
        assert_eq!(store.read(&committed.parts).expect("read").len(), 2);

        let parts = store.append(&[obs("A", 2, 3.0)], 0).expect("append");
        assert_eq!(parts.parts[2].file, "part-00000002.parquet");
        let compacted = store.compact().expect("compact").expect("merged");
        assert_eq!(compacted.parts.len(), 1);
        let values: Vec<f64> = store
            .read(&compacted.parts)
            .expect("read")
            .iter()
            .map(|r| r.observation.value)
            .collect();
        assert_eq!(values, vec![1.0, 2.0, 3.0]);
    }
}
