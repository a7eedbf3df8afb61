//! What changed between two versions: columns added and removed, and rows added, removed and
//! changed over the columns both have. With key columns a row is matched by its key (so an
//! edited value is a change); without, rows are compared as a multiset (an edit is one row
//! removed and one added).
//!
//! The old version is streamed once into a map of row hashes (about 24 bytes a row), then the
//! new one is streamed against it.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fs::File;
use std::hash::BuildHasher;
use std::path::Path;

use allmende_catalog::{Changes, Column};
use arrow::array::{ArrayRef, RecordBatch};
use arrow::datatypes::DataType;
use arrow::error::ArrowError;
use arrow::row::{RowConverter, SortField};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::error::{IngestError, Result};

/// One side of the comparison: a version's Parquet file and its columns.
pub struct Side<'a> {
    pub number: u32,
    pub parquet: &'a Path,
    pub columns: &'a [Column],
}

/// The changes from `old` to `new`; `key` names the columns that identify a row (may be empty).
pub fn between(old: &Side, new: &Side, key: &[String]) -> Result<Changes> {
    let names = |s: &Side| -> Vec<String> { s.columns.iter().map(|c| c.name.clone()).collect() };
    let (old_names, new_names) = (names(old), names(new));
    let mut changes = Changes {
        previous: old.number,
        columns_added: new_names
            .iter()
            .filter(|n| !old_names.contains(n))
            .cloned()
            .collect(),
        columns_removed: old_names
            .iter()
            .filter(|n| !new_names.contains(n))
            .cloned()
            .collect(),
        ..Changes::default()
    };
    // Rows are compared over the columns both versions have with the same type.
    let common: Vec<&str> = new
        .columns
        .iter()
        .filter(|c| {
            old.columns
                .iter()
                .any(|o| o.name == c.name && o.data_type == c.data_type)
        })
        .map(|c| c.name.as_str())
        .collect();
    let keyed = !key.is_empty() && key.iter().all(|k| common.contains(&k.as_str()));
    let key = if keyed { key } else { &[] };
    let hasher = std::hash::RandomState::new();

    // Rows are matched whole first, so rows repeated under one key pair up; the rows left over
    // on both sides are then matched by key: a pair is a changed row.
    let mut old_rows: HashMap<u64, (u32, u64)> = HashMap::new();
    scan(old.parquet, &common, key, &hasher, |k, row| {
        old_rows.entry(row).or_insert((0, k)).0 += 1;
    })?;
    let mut unmatched_new: Vec<u64> = Vec::new();
    scan(
        new.parquet,
        &common,
        key,
        &hasher,
        |k, row| match old_rows.entry(row) {
            Entry::Occupied(mut e) if e.get().0 > 1 => e.get_mut().0 -= 1,
            Entry::Occupied(e) => {
                e.remove();
            }
            Entry::Vacant(_) => unmatched_new.push(k),
        },
    )?;
    if !keyed {
        changes.rows_added = unmatched_new.len() as u64;
        changes.rows_removed = old_rows.values().map(|(n, _)| u64::from(*n)).sum();
        return Ok(changes);
    }
    let mut unmatched_old: HashMap<u64, u64> = HashMap::new();
    for (n, k) in old_rows.into_values() {
        *unmatched_old.entry(k).or_default() += u64::from(n);
    }
    for k in unmatched_new {
        match unmatched_old.get_mut(&k) {
            Some(n) if *n > 0 => {
                *n -= 1;
                changes.rows_changed += 1;
            }
            _ => changes.rows_added += 1,
        }
    }
    changes.rows_removed = unmatched_old.values().sum();
    Ok(changes)
}

/// Streams `columns` of a Parquet file, calling `row(key hash, row hash)` for each row.
fn scan(
    path: &Path,
    columns: &[&str],
    key: &[String],
    hasher: &impl BuildHasher,
    mut row: impl FnMut(u64, u64),
) -> Result<()> {
    let fail = |e: &dyn std::fmt::Display| IngestError::write(path, e.to_string());
    let file = File::open(path).map_err(|e| IngestError::io(path, e))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| fail(&e))?;
    let roots: Vec<usize> = columns
        .iter()
        .filter_map(|c| builder.schema().index_of(c).ok())
        .collect();
    let mask = ProjectionMask::roots(builder.parquet_schema(), roots);
    let reader = builder
        .with_projection(mask)
        .build()
        .map_err(|e| fail(&e))?;
    let mut converters: Option<(RowConverter, RowConverter, Vec<usize>)> = None;
    for batch in reader {
        let batch = batch.map_err(|e| fail(&e))?;
        if converters.is_none() {
            converters = Some(converters_for(&batch, key).map_err(|e| fail(&e))?);
        }
        let Some((full, keys, key_index)) = &converters else {
            continue;
        };
        let key_columns: Vec<ArrayRef> =
            key_index.iter().map(|&i| batch.column(i).clone()).collect();
        let full_rows = full
            .convert_columns(batch.columns())
            .map_err(|e| fail(&e))?;
        let key_rows = match key_columns.is_empty() {
            true => None,
            false => Some(keys.convert_columns(&key_columns).map_err(|e| fail(&e))?),
        };
        for i in 0..batch.num_rows() {
            let k = key_rows
                .as_ref()
                .map_or(0, |rows| hasher.hash_one(rows.row(i).as_ref()));
            row(k, hasher.hash_one(full_rows.row(i).as_ref()));
        }
    }
    Ok(())
}

/// Row converters for the whole row and for the key columns present in the batch.
fn converters_for(
    batch: &RecordBatch,
    key: &[String],
) -> Result<(RowConverter, RowConverter, Vec<usize>), ArrowError> {
    let schema = batch.schema();
    let field = |t: &DataType| SortField::new(t.clone());
    let full = RowConverter::new(
        schema
            .fields()
            .iter()
            .map(|f| field(f.data_type()))
            .collect(),
    )?;
    let key_index: Vec<usize> = key.iter().filter_map(|k| schema.index_of(k).ok()).collect();
    let keys = RowConverter::new(
        key_index
            .iter()
            .map(|&i| field(schema.field(i).data_type()))
            .collect(),
    )?;
    Ok((full, keys, key_index))
}
