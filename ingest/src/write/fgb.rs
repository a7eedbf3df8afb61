//! FlatGeobuf downloads with a packed Hilbert R-tree, so GIS tools can read a bbox of a remote
//! file with HTTP range requests.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::{
    DataType, Date32Type, Float64Type, Int64Type, SchemaRef, TimestampMicrosecondType,
};
use arrow::record_batch::RecordBatch;
use flatgeobuf::{ColumnType, FgbCrs, FgbWriter, FgbWriterOptions, GeometryType};
use geozero::wkb::Wkb;
use geozero::{ColumnValue, PropertyProcessor};

use super::BatchSink;
use crate::convert::GEOMETRY;
use crate::error::{IngestError, Result};

pub struct FgbSink {
    path: PathBuf,
    writer: FgbWriter<'static>,
    names: Vec<String>,
}

fn geometry_type(types: &[&str]) -> GeometryType {
    match types {
        [one] => match one.trim_end_matches(" Z") {
            "Point" => GeometryType::Point,
            "LineString" => GeometryType::LineString,
            "Polygon" => GeometryType::Polygon,
            "MultiPoint" => GeometryType::MultiPoint,
            "MultiLineString" => GeometryType::MultiLineString,
            "MultiPolygon" => GeometryType::MultiPolygon,
            "GeometryCollection" => GeometryType::GeometryCollection,
            _ => GeometryType::Unknown,
        },
        _ => GeometryType::Unknown,
    }
}

impl FgbSink {
    pub fn create(path: &Path, schema: &SchemaRef, title: &str, types: &[&str]) -> Result<Self> {
        let options = FgbWriterOptions {
            write_index: true,
            detect_type: false,
            promote_to_multi: false,
            crs: FgbCrs {
                code: 4326,
                ..Default::default()
            },
            title: Some(title),
            ..Default::default()
        };
        let mut writer = FgbWriter::create_with_options("data", geometry_type(types), options)
            .map_err(|e| IngestError::write(path, e))?;
        let mut names = Vec::new();
        for field in schema.fields().iter().filter(|f| f.name() != GEOMETRY) {
            let col_type = match field.data_type() {
                DataType::Int64 => ColumnType::Long,
                DataType::Float64 => ColumnType::Double,
                DataType::Boolean => ColumnType::Bool,
                DataType::Date32 | DataType::Timestamp(_, _) => ColumnType::DateTime,
                _ => ColumnType::String,
            };
            writer.add_column(field.name(), col_type, |_, col| col.nullable = true);
            names.push(field.name().clone());
        }
        Ok(FgbSink {
            path: path.to_owned(),
            writer,
            names,
        })
    }
}

/// A property value as FlatGeobuf stores it.
enum Value {
    Long(i64),
    Double(f64),
    Bool(bool),
    Text(String),
}

fn value(column: &ArrayRef, row: usize) -> Option<Value> {
    if column.is_null(row) {
        return None;
    }
    Some(match column.data_type() {
        DataType::Int64 => Value::Long(column.as_primitive::<Int64Type>().value(row)),
        DataType::Float64 => Value::Double(column.as_primitive::<Float64Type>().value(row)),
        DataType::Boolean => Value::Bool(column.as_boolean().value(row)),
        DataType::Date32 => Value::Text(
            column
                .as_primitive::<Date32Type>()
                .value_as_date(row)?
                .to_string(),
        ),
        DataType::Timestamp(_, _) => Value::Text(
            column
                .as_primitive::<TimestampMicrosecondType>()
                .value_as_datetime(row)?
                .format("%Y-%m-%dT%H:%M:%S%.f")
                .to_string(),
        ),
        _ => Value::Text(column.as_string::<i32>().value(row).to_owned()),
    })
}

impl BatchSink for FgbSink {
    fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        let Some(geometry) = batch.column_by_name(GEOMETRY).map(|c| c.as_binary::<i32>()) else {
            return Err(IngestError::write(&self.path, "no geometry column"));
        };
        let columns: Vec<&ArrayRef> = batch
            .schema()
            .fields()
            .iter()
            .zip(batch.columns())
            .filter(|(f, _)| f.name() != GEOMETRY)
            .map(|(_, c)| c)
            .collect();
        for row in 0..batch.num_rows() {
            // FlatGeobuf features need a geometry; rows without one are in the other formats.
            if geometry.is_null(row) {
                continue;
            }
            let names = &self.names;
            let mut failed = None;
            self.writer
                .add_feature_geom(Wkb(geometry.value(row)), |feature| {
                    for (i, (name, column)) in names.iter().zip(&columns).enumerate() {
                        let result = match value(column, row) {
                            None => continue,
                            Some(Value::Long(v)) => {
                                feature.property(i, name, &ColumnValue::Long(v))
                            }
                            Some(Value::Double(v)) => {
                                feature.property(i, name, &ColumnValue::Double(v))
                            }
                            Some(Value::Bool(v)) => {
                                feature.property(i, name, &ColumnValue::Bool(v))
                            }
                            Some(Value::Text(s))
                                if matches!(column.data_type(), DataType::Utf8) =>
                            {
                                feature.property(i, name, &ColumnValue::String(&s))
                            }
                            Some(Value::Text(s)) => {
                                feature.property(i, name, &ColumnValue::DateTime(&s))
                            }
                        };
                        if let Err(e) = result {
                            failed = Some(e);
                        }
                    }
                })
                .map_err(|e| IngestError::write(&self.path, e))?;
            if let Some(e) = failed {
                return Err(IngestError::write(&self.path, e));
            }
        }
        Ok(())
    }

    fn finish(self: Box<Self>) -> Result<()> {
        let file = File::create(&self.path).map_err(|e| IngestError::io(&self.path, e))?;
        self.writer
            .write(BufWriter::new(file))
            .map_err(|e| IngestError::write(&self.path, e))
    }
}
