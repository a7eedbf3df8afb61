//! GeoParquet 1.1: WKB geometry, the `geo` file metadata, and a `bbox` covering column so that
//! readers can skip row groups by their statistics. Without geometry: plain Parquet.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Float64Builder, StructArray};
use arrow::buffer::NullBuffer;
use arrow::datatypes::{DataType, Field, Fields, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_writer::ArrowWriterOptions;
use parquet::basic::Compression;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use serde_json::json;

use super::BatchSink;
use crate::convert::GEOMETRY;
use crate::error::{IngestError, Result};
use crate::geometry::{Bounds, bounds, type_name};

const BBOX: &str = "bbox";
/// Small enough that the bbox statistics let readers skip most of a large file.
const ROW_GROUP_ROWS: usize = 64 * 1024;
/// Rows per row group of spatial versions: small enough that, in Hilbert order, a town-sized
/// bbox query skips most groups through their `bbox` statistics.
pub const SPATIAL_ROW_GROUP_ROWS: usize = 8 * 1024;

pub struct GeoParquetSink {
    path: PathBuf,
    writer: ArrowWriter<BufWriter<File>>,
    schema: SchemaRef,
    spatial: bool,
    types: BTreeSet<&'static str>,
    extent: Option<Bounds>,
}

fn bbox_fields() -> Fields {
    ["xmin", "ymin", "xmax", "ymax"]
        .into_iter()
        .map(|n| Field::new(n, DataType::Float64, false))
        .collect()
}

impl GeoParquetSink {
    pub fn create(path: &Path, schema: &SchemaRef, spatial: bool) -> Result<Self> {
        let schema = if spatial {
            let mut fields: Vec<Arc<Field>> = schema.fields().iter().cloned().collect();
            fields.push(Arc::new(Field::new(
                BBOX,
                DataType::Struct(bbox_fields()),
                true,
            )));
            Arc::new(Schema::new(fields))
        } else {
            schema.clone()
        };
        let file = File::create(path).map_err(|e| IngestError::io(path, e))?;
        let props = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_max_row_group_row_count(Some(if spatial {
                SPATIAL_ROW_GROUP_ROWS
            } else {
                ROW_GROUP_ROWS
            }))
            .build();
        // No embedded Arrow schema: it would be written before the bbox is known, and Arrow
        // readers (pyarrow, geopandas) then take their metadata from it and miss `geo`. Every
        // type written here maps exactly to a Parquet logical type.
        let options = ArrowWriterOptions::new()
            .with_properties(props)
            .with_skip_arrow_metadata(true);
        let writer =
            ArrowWriter::try_new_with_options(BufWriter::new(file), schema.clone(), options)
                .map_err(|e| IngestError::write(path, e))?;
        Ok(GeoParquetSink {
            path: path.to_owned(),
            writer,
            schema,
            spatial,
            types: BTreeSet::new(),
            extent: None,
        })
    }

    fn bbox_column(&mut self, geometry: &dyn Array) -> Result<ArrayRef> {
        let wkb = geometry.as_binary::<i32>();
        let mut cols: [Float64Builder; 4] = Default::default();
        let mut valid = Vec::with_capacity(wkb.len());
        for i in 0..wkb.len() {
            let b = if wkb.is_null(i) {
                None
            } else {
                let value = wkb.value(i);
                if let Some(t) = type_name(value) {
                    self.types.insert(t);
                }
                bounds(value).map_err(|e| IngestError::write(&self.path, e))?
            };
            if let Some(b) = b {
                self.extent = Some(self.extent.map_or(b, |e| e.union(b)));
            }
            valid.push(b.is_some());
            let v = b.map_or([0.0; 4], Bounds::to_array);
            for (col, x) in cols.iter_mut().zip(v) {
                col.append_value(x);
            }
        }
        let arrays: Vec<ArrayRef> = cols
            .iter_mut()
            .map(|c| Arc::new(c.finish()) as ArrayRef)
            .collect();
        let s = StructArray::try_new(bbox_fields(), arrays, Some(NullBuffer::from(valid)))
            .map_err(|e| IngestError::write(&self.path, e))?;
        Ok(Arc::new(s))
    }
}

impl BatchSink for GeoParquetSink {
    fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        let batch = if self.spatial {
            let geometry = batch
                .column_by_name(GEOMETRY)
                .cloned()
                .ok_or_else(|| IngestError::write(&self.path, "no geometry column"))?;
            let mut columns = batch.columns().to_vec();
            columns.push(self.bbox_column(geometry.as_ref())?);
            RecordBatch::try_new(self.schema.clone(), columns)
                .map_err(|e| IngestError::write(&self.path, e))?
        } else {
            batch.clone()
        };
        self.writer
            .write(&batch)
            .map_err(|e| IngestError::write(&self.path, e))
    }

    fn finish(mut self: Box<Self>) -> Result<()> {
        if self.spatial {
            let geo = json!({
                "version": "1.1.0",
                "primary_column": GEOMETRY,
                "columns": {
                    GEOMETRY: {
                        "encoding": "WKB",
                        "geometry_types": self.types.iter().collect::<Vec<_>>(),
                        "bbox": self.extent.map(Bounds::to_array),
                        "covering": {
                            "bbox": {
                                "xmin": [BBOX, "xmin"],
                                "ymin": [BBOX, "ymin"],
                                "xmax": [BBOX, "xmax"],
                                "ymax": [BBOX, "ymax"],
                            }
                        }
                    }
                }
            });
            let mut geo = geo;
            if self.extent.is_none()
                && let Some(col) = geo["columns"][GEOMETRY].as_object_mut()
            {
                col.remove("bbox");
            }
            self.writer
                .append_key_value_metadata(KeyValue::new("geo".to_owned(), geo.to_string()));
        }
        let path = self.path.clone();
        self.writer
            .close()
            .map_err(|e| IngestError::write(&path, e))?;
        Ok(())
    }
}
