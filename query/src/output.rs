//! Query results as people read them: JSON tables (`{columns, rows, truncated}`) and CSV.
//! WKB geometry columns are shown as WKT.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, StringBuilder};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::json::writer::{EncoderOptions, make_encoder};
use arrow::record_batch::RecordBatch;
use geozero::ToWkt;
use geozero::wkb::Wkb;
use serde_json::value::RawValue;

use crate::error::{QueryError, Result};

/// A JSON result: column names and types, rows as arrays.
#[derive(Debug, serde::Serialize)]
pub struct ResultTable {
    pub columns: Vec<ResultColumn>,
    pub rows: Vec<Vec<Box<RawValue>>>,
    pub truncated: bool,
    /// Where the rest of a truncated result is; set by the caller that knows its URLs.
    pub next: Option<String>,
}

#[derive(Debug, serde::Serialize)]
pub struct ResultColumn {
    pub name: String,
    #[serde(rename = "type")]
    pub data_type: String,
}

/// Replaces binary columns by text: WKT where the bytes are WKB, hex otherwise.
pub fn displayable(batch: &RecordBatch) -> Result<RecordBatch> {
    if !batch.columns().iter().any(|c| is_binary(c.data_type())) {
        return Ok(batch.clone());
    }
    let mut fields = Vec::new();
    let mut columns: Vec<ArrayRef> = Vec::new();
    for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
        if is_binary(field.data_type()) {
            fields.push(Arc::new(Field::new(field.name(), DataType::Utf8, true)));
            columns.push(binary_as_text(column.as_ref()));
        } else {
            fields.push(field.clone());
            columns.push(column.clone());
        }
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
        .map_err(|e| QueryError::Execution(e.to_string()))
}

pub(crate) fn is_binary(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView
    )
}

fn binary_as_text(column: &dyn Array) -> ArrayRef {
    let value = |bytes: &[u8]| Wkb(bytes).to_wkt().unwrap_or_else(|_| hex(bytes));
    let mut out = StringBuilder::new();
    for i in 0..column.len() {
        if column.is_null(i) {
            out.append_null();
            continue;
        }
        let bytes = match column.data_type() {
            DataType::Binary => column.as_binary::<i32>().value(i),
            DataType::LargeBinary => column.as_binary::<i64>().value(i),
            _ => column.as_binary_view().value(i),
        };
        out.append_value(value(bytes));
    }
    Arc::new(out.finish())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Renders collected batches as a JSON table.
pub fn to_json_table(
    schema: &SchemaRef,
    batches: &[RecordBatch],
    truncated: bool,
) -> Result<ResultTable> {
    let columns = schema
        .fields()
        .iter()
        .map(|f| ResultColumn {
            name: f.name().clone(),
            data_type: f.data_type().to_string(),
        })
        .collect();
    let mut rows = Vec::new();
    for batch in batches {
        for cells in json_cells(batch)? {
            rows.push(
                cells
                    .into_iter()
                    .map(RawValue::from_string)
                    .collect::<std::result::Result<Vec<_>, _>>()
                    .map_err(|e| QueryError::Execution(e.to_string()))?,
            );
        }
    }
    Ok(ResultTable {
        columns,
        rows,
        truncated,
        next: None,
    })
}

/// Encodes every cell of a batch as JSON text, row by row (binary columns as WKT or hex,
/// non-finite floats as `null`).
pub(crate) fn json_cells(batch: &RecordBatch) -> Result<Vec<Vec<String>>> {
    let err = |e: arrow::error::ArrowError| QueryError::Execution(e.to_string());
    let options = EncoderOptions::default();
    let batch = displayable(batch)?;
    let schema = batch.schema();
    let mut encoders = schema
        .fields()
        .iter()
        .zip(batch.columns())
        .map(|(f, c)| make_encoder(f, c.as_ref(), &options))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(err)?;
    let mut rows = Vec::with_capacity(batch.num_rows());
    let mut buf = Vec::new();
    for row in 0..batch.num_rows() {
        let mut values = Vec::with_capacity(encoders.len());
        for encoder in &mut encoders {
            buf.clear();
            if encoder.is_null(row) {
                buf.extend_from_slice(b"null");
            } else {
                encoder.encode(row, &mut buf);
            }
            let text =
                String::from_utf8(buf.clone()).map_err(|e| QueryError::Execution(e.to_string()))?;
            // Non-finite floats have no JSON form.
            let text = match text.as_str() {
                "NaN" | "-NaN" | "inf" | "-inf" | "Infinity" | "-Infinity" => "null".to_owned(),
                _ => text,
            };
            values.push(text);
        }
        rows.push(values);
    }
    Ok(rows)
}

/// Renders one batch as CSV (RFC 4180); the header only when asked.
pub fn to_csv(batch: &RecordBatch, header: bool) -> Result<Vec<u8>> {
    let batch = displayable(batch)?;
    let mut out = Vec::new();
    {
        let mut writer = arrow::csv::WriterBuilder::new()
            .with_header(header)
            .build(&mut out);
        writer
            .write(&batch)
            .map_err(|e| QueryError::Execution(e.to_string()))?;
    }
    Ok(out)
}
