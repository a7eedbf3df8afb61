//! `--append`: merges a batch of new rows into the latest version, de-duplicated on the key
//! columns that `dataset.toml` declares.
//!
//! The new rows are held in memory (a batch is small); the previous version is streamed from
//! its Parquet file once. For every previous row whose key the batch also has, the rows are
//! compared: equal means the reading was sent again (the batch row is dropped), different means
//! a correction (the batch row replaces the old one). Within the batch the last row of a key wins.

use std::cmp::Ordering;
use std::collections::{BTreeSet, HashMap};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use allmende_catalog::{Catalog, Format, Version};

use arrow::array::{ArrayRef, BooleanArray, RecordBatch, new_null_array};
use arrow::compute::{cast, filter_record_batch};
use arrow::datatypes::{Field, Schema, SchemaRef};
use arrow::error::ArrowError;
use arrow::row::{RowConverter, Rows, SortField};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::config::{DatasetSpec, TypeName};
use crate::convert::GEOMETRY;
use crate::error::{IngestError, Result};
use crate::pipeline::Converted;
use crate::read::Columns;
use crate::report::AppendReport;
use crate::write::Outputs;

/// The published version an `--append` adds to.
pub(crate) struct Base {
    pub version: Version,
    parquet: PathBuf,
}

impl Base {
    pub fn new(spec: &DatasetSpec, data_root: &Path, latest: &Version) -> Result<Base> {
        if spec.key.is_empty() {
            return Err(IngestError::config(
                config_path(spec),
                "--append needs the key columns that identify a row: add e.g. key = [\"station\", \"date\"] to dataset.toml",
            ));
        }
        let parquet = Catalog::version_dir(data_root, &spec.id, latest.number)
            .join(Format::Parquet.file_name());
        Ok(Base {
            version: latest.clone(),
            parquet,
        })
    }

    /// The published name of a source column (see the renaming in `pipeline::convert`).
    fn published(&self, source: &str) -> String {
        if self.version.geometry.is_some() && (source == GEOMETRY || source == "bbox") {
            format!("{source}_source")
        } else {
            source.to_owned()
        }
    }

    /// The spec with every column's type forced to its type in the base version, so the new
    /// rows convert exactly like the published ones. Columns the base lacks are an error.
    pub fn forcing_types(&self, spec: &DatasetSpec, columns: &Columns) -> Result<DatasetSpec> {
        let mut spec = spec.clone();
        let known: Vec<&str> = self
            .version
            .columns
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        for name in columns.names() {
            let published = self.published(name);
            let Some(column) = self.version.columns.iter().find(|c| c.name == published) else {
                return Err(IngestError::config(
                    config_path(&spec),
                    format!(
                        "--append: column '{name}' is not in version {} (columns: {}); ingest without --append to change the columns",
                        self.version.number,
                        known.join(", ")
                    ),
                ));
            };
            if let Some(t) = TypeName::from_name(&column.data_type) {
                spec.columns.entry(name.clone()).or_default().data_type = Some(t);
            }
        }
        if let Some(missing) = spec.key.iter().find(|k| columns.get(k).is_none()) {
            return Err(IngestError::config(
                config_path(&spec),
                format!(
                    "key column '{missing}' is not in the source (columns: {})",
                    columns.names().join(", ")
                ),
            ));
        }
        Ok(spec)
    }

    /// Merges the converted batch into the base version and writes the new version's files
    /// into `dir`; `converted` then describes the merged version.
    pub fn merge(
        &self,
        spec: &DatasetSpec,
        converted: &mut Converted,
        dir: &Path,
    ) -> Result<Merged> {
        let schema = self.schema(&converted.schema)?;
        let report = &mut converted.report;
        let types: BTreeSet<String> = self
            .version
            .geometry
            .iter()
            .flat_map(|g| g.types.iter().cloned())
            .chain(report.geometry.iter().flat_map(|g| g.types.iter().cloned()))
            .collect();
        let types: Vec<&str> = types.iter().map(String::as_str).collect();
        let mut outputs = Outputs::create(
            dir,
            &schema,
            &spec.meta.title,
            self.version.geometry.is_some().then_some(types.as_slice()),
        )?;
        let key: Vec<String> = spec.key.iter().map(|k| self.published(k)).collect();
        let merged = merge(
            &self.parquet,
            &schema,
            &converted.batches,
            &key,
            &mut outputs,
        )?;
        converted.batches.clear();
        converted.files = outputs.finish()?;

        let batch_columns = std::mem::replace(&mut converted.columns, self.version.columns.clone());
        for column in &mut converted.columns {
            if let Ok(i) = schema.index_of(&column.name) {
                column.null_count = merged.null_counts[i];
            }
            // Bounds over both; a corrected extreme may leave them a little wide. The distinct
            // estimate of the old rows is not kept, so it is dropped rather than guessed.
            if let Some(new) = batch_columns.iter().find(|c| c.name == column.name) {
                let numeric = matches!(column.data_type.as_str(), "integer" | "number");
                column.min = extreme(column.min.take(), new.min.clone(), numeric, Ordering::Less);
                column.max = extreme(
                    column.max.take(),
                    new.max.clone(),
                    numeric,
                    Ordering::Greater,
                );
            }
            column.distinct = None;
        }
        report.rows_published = merged.rows;
        report.append = Some(AppendReport {
            previous_version: self.version.number,
            rows_before: merged.rows_before,
            rows_added: merged.added,
            rows_changed: merged.changed,
            rows_duplicate: merged.duplicates,
        });
        if let (Some(g), Some(base)) = (&mut report.geometry, &self.version.geometry) {
            g.types = types.iter().map(|t| (*t).to_owned()).collect();
            g.bbox = match (g.bbox, base.bbox) {
                (Some(a), Some(b)) => Some([
                    a[0].min(b[0]),
                    a[1].min(b[1]),
                    a[2].max(b[2]),
                    a[3].max(b[3]),
                ]),
                (a, b) => a.or(b),
            };
        }
        Ok(merged)
    }

    /// The merged version's schema: the base version's columns in its order (without the
    /// GeoParquet bbox covering), typed as the converted batch has them.
    fn schema(&self, converted: &SchemaRef) -> Result<SchemaRef> {
        let file = File::open(&self.parquet).map_err(|e| IngestError::io(&self.parquet, e))?;
        let builder =
            ParquetRecordBatchReaderBuilder::try_new(file).map_err(fail_parquet(&self.parquet))?;
        let spatial = self.version.geometry.is_some();
        let fields: Vec<Field> = builder
            .schema()
            .fields()
            .iter()
            .filter(|f| !(spatial && f.name() == "bbox"))
            .map(|f| match converted.field_with_name(f.name()) {
                Ok(mine) => mine.clone(),
                Err(_) => Field::new(f.name(), f.data_type().clone(), true),
            })
            .collect();
        Ok(Arc::new(Schema::new(fields)))
    }
}

/// The smaller (`Less`) or larger (`Greater`) of two column bounds written as text.
fn extreme(a: Option<String>, b: Option<String>, numeric: bool, want: Ordering) -> Option<String> {
    match (a, b) {
        (Some(a), Some(b)) => {
            let order = match (numeric, a.parse::<f64>(), b.parse::<f64>()) {
                (true, Ok(x), Ok(y)) => x.total_cmp(&y),
                _ => a.cmp(&b),
            };
            Some(if order == want { a } else { b })
        }
        (a, b) => a.or(b),
    }
}

fn config_path(spec: &DatasetSpec) -> PathBuf {
    spec.files.first().cloned().unwrap_or_default()
}

/// What a merge did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Merged {
    /// Rows of the previous version.
    pub rows_before: u64,
    /// Rows in the merged version.
    pub rows: u64,
    /// Batch rows with a key the previous version did not have.
    pub added: u64,
    /// Batch rows that replaced a previous row with the same key and other values.
    pub changed: u64,
    /// Batch rows identical to a previous row, or superseded by a later batch row.
    pub duplicates: u64,
    /// Nulls per column of `schema` in the merged version.
    pub null_counts: Vec<u64>,
}

/// Writes the previous version (read from `previous`, a Parquet file) merged with `batch` to
/// `outputs`, all in `schema` (the previous version's columns, geometry last).
pub fn merge(
    previous: &Path,
    schema: &SchemaRef,
    batch: &[RecordBatch],
    key: &[String],
    outputs: &mut Outputs,
) -> Result<Merged> {
    let fail = |e: ArrowError| IngestError::write(previous, e);
    let batch: Vec<RecordBatch> = batch
        .iter()
        .map(|b| conform(b, schema))
        .collect::<Result<_, _>>()
        .map_err(fail)?;
    let key_columns: Vec<usize> = key
        .iter()
        .map(|k| {
            schema.index_of(k).map_err(|_| {
                IngestError::write(previous, format!("key column '{k}' is not in the dataset"))
            })
        })
        .collect::<Result<_>>()?;
    let keys = Keyer::new(schema, &key_columns).map_err(fail)?;

    // The batch rows by key: the last one of each key is the one that counts.
    let mut merged = Merged {
        null_counts: vec![0; schema.fields().len()],
        ..Merged::default()
    };
    let mut keep: Vec<Vec<bool>> = batch.iter().map(|b| vec![true; b.num_rows()]).collect();
    let mut batch_rows = Vec::with_capacity(batch.len());
    let mut by_key: HashMap<Vec<u8>, (usize, usize)> = HashMap::new();
    for (b, rb) in batch.iter().enumerate() {
        let (key_rows, full_rows) = keys.rows(rb).map_err(fail)?;
        for r in 0..rb.num_rows() {
            if let Some((pb, pr)) = by_key.insert(key_rows.row(r).as_ref().to_vec(), (b, r)) {
                keep[pb][pr] = false;
                merged.duplicates += 1;
            }
        }
        batch_rows.push(full_rows);
    }
    // Batch rows that replace a previous row.
    let mut replaces: Vec<Vec<bool>> = batch.iter().map(|b| vec![false; b.num_rows()]).collect();

    let file = File::open(previous).map_err(|e| IngestError::io(previous, e))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(fail_parquet(previous))?;
    let roots: Vec<usize> = schema
        .fields()
        .iter()
        .map(|f| {
            builder.schema().index_of(f.name()).map_err(|_| {
                IngestError::write(
                    previous,
                    format!("column '{}' is missing in the previous version", f.name()),
                )
            })
        })
        .collect::<Result<_>>()?;
    let mask = ProjectionMask::roots(builder.parquet_schema(), roots);
    let reader = builder
        .with_projection(mask)
        .build()
        .map_err(fail_parquet(previous))?;
    for old in reader {
        let old = conform(&old.map_err(fail)?, schema).map_err(fail)?;
        merged.rows_before += old.num_rows() as u64;
        let (key_rows, full_rows) = keys.rows(&old).map_err(fail)?;
        let mut retain = vec![true; old.num_rows()];
        for (r, kept) in retain.iter_mut().enumerate() {
            let Some(&(b, br)) = by_key.get(key_rows.row(r).as_ref()) else {
                continue;
            };
            if !keep[b][br] {
                // Already matched an earlier identical previous row.
                continue;
            }
            if batch_rows[b].row(br) == full_rows.row(r) {
                keep[b][br] = false;
                merged.duplicates += 1;
            } else {
                *kept = false;
                replaces[b][br] = true;
            }
        }
        let old = filter_record_batch(&old, &BooleanArray::from(retain)).map_err(fail)?;
        write(&old, outputs, &mut merged)?;
    }
    for ((rb, keep), replaces) in batch.iter().zip(keep).zip(replaces) {
        for (kept, replaces) in keep.iter().zip(replaces) {
            match (kept, replaces) {
                (true, true) => merged.changed += 1,
                (true, false) => merged.added += 1,
                _ => {}
            }
        }
        let new = filter_record_batch(rb, &BooleanArray::from(keep)).map_err(fail)?;
        write(&new, outputs, &mut merged)?;
    }
    Ok(merged)
}

fn write(batch: &RecordBatch, outputs: &mut Outputs, merged: &mut Merged) -> Result<()> {
    if batch.num_rows() == 0 {
        return Ok(());
    }
    for (count, column) in merged.null_counts.iter_mut().zip(batch.columns()) {
        *count += column.null_count() as u64;
    }
    merged.rows += batch.num_rows() as u64;
    outputs.write(batch)
}

fn fail_parquet(path: &Path) -> impl Fn(parquet::errors::ParquetError) -> IngestError + '_ {
    move |e| IngestError::write(path, e)
}

/// Brings a batch into `schema`: columns by name, cast where the types differ, null where the
/// batch lacks a column.
fn conform(batch: &RecordBatch, schema: &SchemaRef) -> Result<RecordBatch, ArrowError> {
    let columns: Vec<ArrayRef> = schema
        .fields()
        .iter()
        .map(|field| match batch.schema().index_of(field.name()) {
            Ok(i) if batch.column(i).data_type() == field.data_type() => {
                Ok(batch.column(i).clone())
            }
            Ok(i) => cast(batch.column(i), field.data_type()),
            Err(_) => Ok(new_null_array(field.data_type(), batch.num_rows())),
        })
        .collect::<Result<_, _>>()?;
    RecordBatch::try_new(Arc::clone(schema), columns)
}

/// Byte-comparable encodings of a batch's key columns and of whole rows (arrow's row format).
struct Keyer {
    key_columns: Vec<usize>,
    key: RowConverter,
    full: RowConverter,
}

impl Keyer {
    fn new(schema: &SchemaRef, key_columns: &[usize]) -> Result<Keyer, ArrowError> {
        let field = |i: usize| SortField::new(schema.field(i).data_type().clone());
        Ok(Keyer {
            key_columns: key_columns.to_vec(),
            key: RowConverter::new(key_columns.iter().map(|&i| field(i)).collect())?,
            full: RowConverter::new((0..schema.fields().len()).map(field).collect())?,
        })
    }

    fn rows(&self, batch: &RecordBatch) -> Result<(Rows, Rows), ArrowError> {
        let keys: Vec<ArrayRef> = self
            .key_columns
            .iter()
            .map(|&i| batch.column(i).clone())
            .collect();
        Ok((
            self.key.convert_columns(&keys)?,
            self.full.convert_columns(batch.columns())?,
        ))
    }
}
