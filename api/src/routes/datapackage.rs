//! `/api/datasets/{id}/datapackage.json`: the latest version as a Frictionless Data Package
//! whose one resource is the version's CSV download (see `allmende_catalog::datapackage`).
//!
//! String columns holding codes with leading zeros get a `pattern` constraint. Finding them
//! takes one scan of the table's string columns; versions are immutable, so the answer is
//! kept per CSV checksum.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, OnceLock};

use allmende_catalog::datapackage::{CodeShapes, code_pattern, datapackage};
use allmende_catalog::{Column, Manifest, table_name};
use allmende_query::QueryEngine;
use axum::Json;
use axum::extract::{Path, State};
use serde_json::Value;

use crate::base_url::BaseUrl;
use crate::error::ApiError;
use crate::state::AppState;

pub async fn latest(
    State(state): State<AppState>,
    Path(id): Path<String>,
    base: BaseUrl,
) -> Result<Json<Value>, ApiError> {
    let snapshot = state.snapshot().await?;
    let m = snapshot
        .catalog
        .get(&id)
        .ok_or_else(|| ApiError::not_found(format!("dataset '{id}' not found")))?;
    let v = m
        .latest()
        .ok_or_else(|| ApiError::not_found(format!("dataset '{id}' has no published version")))?;
    let patterns = patterns(&snapshot.engine, m).await;
    datapackage(m, v, &base.0, &patterns)
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("dataset '{id}' has no CSV download")))
}

/// Patterns per CSV checksum. Bounded: cleared when it grows past many versions.
fn cache() -> &'static Mutex<HashMap<String, BTreeMap<String, String>>> {
    static CACHE: OnceLock<Mutex<HashMap<String, BTreeMap<String, String>>>> = OnceLock::new();
    CACHE.get_or_init(Mutex::default)
}

/// The pattern constraints of the latest version's code columns. A failed scan is logged and
/// leaves the constraints out rather than the whole package.
async fn patterns(engine: &QueryEngine, m: &Manifest) -> BTreeMap<String, String> {
    let Some(v) = m.latest() else {
        return BTreeMap::new();
    };
    let key = v
        .distribution(allmende_catalog::Format::Csv)
        .map(|d| d.sha256.clone())
        .unwrap_or_default();
    if let Some(found) = cache().lock().ok().and_then(|c| c.get(&key).cloned()) {
        return found;
    }
    let strings: Vec<&Column> = v
        .columns
        .iter()
        .filter(|c| c.data_type == "string" && c.null_count < v.row_count)
        .collect();
    if strings.is_empty() {
        return BTreeMap::new();
    }
    match scan(engine, &table_name(&m.id), &strings).await {
        Ok(found) => {
            if let Ok(mut c) = cache().lock() {
                if c.len() > 10_000 {
                    c.clear();
                }
                c.insert(key, found.clone());
            }
            found
        }
        Err(e) => {
            tracing::warn!("finding the code columns of '{}': {e}", m.id);
            BTreeMap::new()
        }
    }
}

const AGGREGATES: usize = 7;

/// One scan: per string column whether its values are codes, and their shapes and lengths.
async fn scan(
    engine: &QueryEngine,
    table: &str,
    columns: &[&Column],
) -> Result<BTreeMap<String, String>, allmende_query::QueryError> {
    let ident = |n: &str| format!("\"{}\"", n.replace('"', "\"\""));
    let mut select = Vec::new();
    for c in columns {
        let col = ident(&c.name);
        let shape = format!("regexp_replace({col}, '[0-9]', '9', 'g')");
        select.extend([
            format!("bool_and(regexp_like({col}, '^[0-9]+([./ -][0-9]+)*$'))"),
            format!("bool_or(starts_with({col}, '0'))"),
            format!("bool_and(regexp_like({col}, '^[0-9]+$'))"),
            format!("min({shape})"),
            format!("max({shape})"),
            format!("min(character_length({col}))"),
            format!("max(character_length({col}))"),
        ]);
    }
    let sql = format!("SELECT {} FROM {}", select.join(", "), ident(table));
    let (schema, batches, _) = engine.collect(&sql, 1).await?;
    let result = allmende_query::to_json_table(&schema, &batches, false)?;
    let row: Vec<Value> = result
        .rows
        .first()
        .map(|r| {
            r.iter()
                .map(|raw| serde_json::from_str(raw.get()).unwrap_or(Value::Null))
                .collect()
        })
        .unwrap_or_default();
    let mut patterns = BTreeMap::new();
    for (c, values) in columns.iter().zip(row.chunks(AGGREGATES)) {
        let [
            all_codes,
            leading_zero,
            digits_only,
            min_shape,
            max_shape,
            min_len,
            max_len,
        ] = values
        else {
            continue;
        };
        let (Some(min_shape), Some(max_shape)) = (min_shape.as_str(), max_shape.as_str()) else {
            continue;
        };
        let shapes = CodeShapes {
            all_codes: all_codes.as_bool() == Some(true),
            leading_zero: leading_zero.as_bool() == Some(true),
            digits_only: digits_only.as_bool() == Some(true),
            shapes: if min_shape == max_shape { 1 } else { 2 },
            shape: min_shape.to_owned(),
            min_len: min_len.as_u64().unwrap_or(0),
            max_len: max_len.as_u64().unwrap_or(0),
        };
        if let Some(p) = code_pattern(&shapes) {
            patterns.insert(c.name.clone(), p);
        }
    }
    Ok(patterns)
}
