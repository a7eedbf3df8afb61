//! Streamed result formats for `/api/sql`: each encoder turns batches into bytes as they come,
//! so a result of any size leaves in bounded memory. CSV, GeoJSON (RFC 7946), Parquet and the
//! Arrow IPC stream format.

use arrow::array::{Array, AsArray};
use arrow::datatypes::{DataType, SchemaRef};
use arrow::ipc::writer::StreamWriter;
use arrow::record_batch::RecordBatch;
use geozero::ToJson;
use geozero::wkb::Wkb;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

use crate::error::{QueryError, Result};
use crate::output::{is_binary, json_cells, to_csv};

/// Rows per Parquet row group: what the writer holds in memory before it hands bytes on.
const PARQUET_ROW_GROUP_ROWS: usize = 64 * 1024;

/// A streamed output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    GeoJson,
    Parquet,
    ArrowStream,
}

impl Format {
    /// The format for a `format=` value.
    pub fn parse(name: &str) -> Option<Format> {
        match name {
            "csv" => Some(Format::Csv),
            "geojson" => Some(Format::GeoJson),
            "parquet" => Some(Format::Parquet),
            "arrow" | "arrows" => Some(Format::ArrowStream),
            _ => None,
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::GeoJson => "application/geo+json",
            Format::Parquet => "application/vnd.apache.parquet",
            Format::ArrowStream => "application/vnd.apache.arrow.stream",
        }
    }

    /// The file name extension for `Content-Disposition`.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::GeoJson => "geojson",
            Format::Parquet => "parquet",
            Format::ArrowStream => "arrows",
        }
    }

    /// An encoder for results of `schema`. GeoJSON needs a geometry column
    /// ([`QueryError::Invalid`] otherwise).
    pub fn encoder(self, schema: &SchemaRef) -> Result<Box<dyn ResultEncoder>> {
        let err = |e: &dyn std::fmt::Display| QueryError::Execution(e.to_string());
        Ok(match self {
            Format::Csv => Box::new(Csv {
                schema: schema.clone(),
                header_written: false,
            }),
            Format::GeoJson => Box::new(GeoJson::new(schema)?),
            Format::Parquet => {
                let props = WriterProperties::builder()
                    .set_compression(Compression::SNAPPY)
                    .set_max_row_group_row_count(Some(PARQUET_ROW_GROUP_ROWS))
                    .build();
                Box::new(Parquet(
                    ArrowWriter::try_new(Vec::new(), schema.clone(), Some(props))
                        .map_err(|e| err(&e))?,
                ))
            }
            Format::ArrowStream => Box::new(Ipc(
                StreamWriter::try_new(Vec::new(), schema).map_err(|e| err(&e))?
            )),
        })
    }
}

/// Turns a stream of batches into bytes, one batch at a time.
pub trait ResultEncoder: Send {
    /// The bytes for one batch; empty while the format buffers (a Parquet row group).
    fn batch(&mut self, batch: &RecordBatch) -> Result<Vec<u8>>;
    /// The closing bytes, after the last batch.
    fn finish(&mut self) -> Result<Vec<u8>>;
}

struct Csv {
    schema: SchemaRef,
    header_written: bool,
}

impl ResultEncoder for Csv {
    fn batch(&mut self, batch: &RecordBatch) -> Result<Vec<u8>> {
        let header = !std::mem::replace(&mut self.header_written, true);
        to_csv(batch, header)
    }

    fn finish(&mut self) -> Result<Vec<u8>> {
        if self.header_written {
            return Ok(Vec::new());
        }
        self.header_written = true;
        to_csv(&RecordBatch::new_empty(self.schema.clone()), true)
    }
}

/// The column a GeoJSON feature takes its geometry from: a binary column named `geometry`,
/// else the first binary (WKB) column.
pub fn geometry_column(schema: &SchemaRef) -> Option<usize> {
    let binary = |i: &usize| is_binary(schema.field(*i).data_type());
    (0..schema.fields().len())
        .filter(binary)
        .find(|&i| schema.field(i).name() == "geometry")
        .or_else(|| (0..schema.fields().len()).find(binary))
}

struct GeoJson {
    geometry: usize,
    /// The property names, already JSON-quoted, in column order without the geometry.
    keys: Vec<String>,
    started: bool,
    features: u64,
}

impl GeoJson {
    fn new(schema: &SchemaRef) -> Result<GeoJson> {
        let geometry = geometry_column(schema).ok_or_else(|| {
            QueryError::Invalid(
                "format=geojson needs a geometry column (WKB, e.g. the tables' `geometry`); \
                 this result has none"
                    .into(),
            )
        })?;
        let keys = schema
            .fields()
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != geometry)
            .map(|(_, f)| serde_json::to_string(f.name()).expect("a string serialises"))
            .collect();
        Ok(GeoJson {
            geometry,
            keys,
            started: false,
            features: 0,
        })
    }

    fn head(&mut self, out: &mut Vec<u8>) {
        if !std::mem::replace(&mut self.started, true) {
            out.extend_from_slice(br#"{"type":"FeatureCollection","features":["#);
        }
    }
}

impl ResultEncoder for GeoJson {
    fn batch(&mut self, batch: &RecordBatch) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        self.head(&mut out);
        let mut properties = batch.clone();
        properties.remove_column(self.geometry);
        let cells = json_cells(&properties)?;
        let geometry = batch.column(self.geometry);
        for (row, cells) in cells.into_iter().enumerate() {
            if self.features > 0 {
                out.push(b',');
            }
            self.features += 1;
            out.extend_from_slice(br#"{"type":"Feature","geometry":"#);
            match wkb_at(geometry.as_ref(), row) {
                None => out.extend_from_slice(b"null"),
                Some(bytes) => {
                    let json = Wkb(bytes).to_json().map_err(|e| {
                        QueryError::Execution(format!("row {row}: not a WKB geometry: {e}"))
                    })?;
                    out.extend_from_slice(json.as_bytes());
                }
            }
            out.extend_from_slice(br#","properties":{"#);
            for (i, (key, value)) in self.keys.iter().zip(cells).enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(key.as_bytes());
                out.push(b':');
                out.extend_from_slice(value.as_bytes());
            }
            out.extend_from_slice(b"}}");
        }
        Ok(out)
    }

    fn finish(&mut self) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        self.head(&mut out);
        out.extend_from_slice(b"]}");
        Ok(out)
    }
}

/// GeoJSON features of record batches without the collection around them, for callers that
/// write their own envelope (OGC API items): an optional `id` column and an optional swap of
/// x and y (EPSG:4326 in latitude/longitude order).
pub struct FeatureWriter {
    geometry: usize,
    id: Option<usize>,
    /// The property names, already JSON-quoted, with the indexes of their columns.
    keys: Vec<(usize, String)>,
    swap_axes: bool,
    written: u64,
}

impl FeatureWriter {
    /// A writer for batches of `schema`; `id` names the column whose value becomes the
    /// feature's `id` (it stays a property too).
    pub fn new(schema: &SchemaRef, id: Option<&str>, swap_axes: bool) -> Result<FeatureWriter> {
        let geometry = geometry_column(schema).ok_or_else(|| {
            QueryError::Invalid("no geometry column to write GeoJSON from".into())
        })?;
        let id = match id {
            Some(name) => Some(
                schema
                    .index_of(name)
                    .map_err(|e| QueryError::Invalid(e.to_string()))?,
            ),
            None => None,
        };
        let keys = schema
            .fields()
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != geometry)
            .map(|(i, f)| {
                (
                    i,
                    serde_json::to_string(f.name()).expect("a string serialises"),
                )
            })
            .collect();
        Ok(FeatureWriter {
            geometry,
            id,
            keys,
            swap_axes,
            written: 0,
        })
    }

    /// Leaves the id column out of the properties (when the client did not ask for it).
    pub fn hide_id(mut self) -> FeatureWriter {
        if let Some(id) = self.id {
            self.keys.retain(|(i, _)| *i != id);
        }
        self
    }

    /// Features written so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Appends the batch's features to `out`, each after a comma but the very first.
    pub fn write(&mut self, batch: &RecordBatch, out: &mut Vec<u8>) -> Result<()> {
        let columns: Vec<usize> = self.keys.iter().map(|(i, _)| *i).collect();
        let properties = batch
            .project(&columns)
            .map_err(|e| QueryError::Execution(e.to_string()))?;
        let cells = json_cells(&properties)?;
        let ids = match self.id {
            Some(i) => Some(json_cells(
                &batch
                    .project(&[i])
                    .map_err(|e| QueryError::Execution(e.to_string()))?,
            )?),
            None => None,
        };
        let geometry = batch.column(self.geometry);
        for (row, cells) in cells.into_iter().enumerate() {
            if self.written > 0 {
                out.push(b',');
            }
            self.written += 1;
            out.extend_from_slice(br#"{"type":"Feature","#);
            if let Some(id) = ids.as_ref().and_then(|ids| ids[row].first()) {
                out.extend_from_slice(br#""id":"#);
                out.extend_from_slice(id.as_bytes());
                out.push(b',');
            }
            out.extend_from_slice(br#""geometry":"#);
            match wkb_at(geometry.as_ref(), row) {
                None => out.extend_from_slice(b"null"),
                Some(bytes) => {
                    let json = self.geometry_json(bytes).map_err(|e| {
                        QueryError::Execution(format!("row {row}: not a WKB geometry: {e}"))
                    })?;
                    out.extend_from_slice(json.as_bytes());
                }
            }
            out.extend_from_slice(br#","properties":{"#);
            for (i, ((_, key), value)) in self.keys.iter().zip(cells).enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(key.as_bytes());
                out.push(b':');
                out.extend_from_slice(value.as_bytes());
            }
            out.extend_from_slice(b"}}");
        }
        Ok(())
    }

    fn geometry_json(
        &self,
        wkb: &[u8],
    ) -> std::result::Result<String, geozero::error::GeozeroError> {
        if !self.swap_axes {
            return Wkb(wkb).to_json();
        }
        use geo::MapCoordsInPlace;
        use geozero::ToGeo;
        let mut geometry = Wkb(wkb).to_geo()?;
        geometry.map_coords_in_place(|c| geo_types::Coord { x: c.y, y: c.x });
        geometry.to_json()
    }
}

fn wkb_at(column: &dyn Array, row: usize) -> Option<&[u8]> {
    if column.is_null(row) {
        return None;
    }
    Some(match column.data_type() {
        DataType::Binary => column.as_binary::<i32>().value(row),
        DataType::LargeBinary => column.as_binary::<i64>().value(row),
        _ => column.as_binary_view().value(row),
    })
}

struct Parquet(ArrowWriter<Vec<u8>>);

impl ResultEncoder for Parquet {
    fn batch(&mut self, batch: &RecordBatch) -> Result<Vec<u8>> {
        self.0
            .write(batch)
            .map_err(|e| QueryError::Execution(e.to_string()))?;
        // The writer counts offsets itself, so the bytes written so far can leave now.
        Ok(std::mem::take(self.0.inner_mut()))
    }

    fn finish(&mut self) -> Result<Vec<u8>> {
        self.0
            .finish()
            .map_err(|e| QueryError::Execution(e.to_string()))?;
        Ok(std::mem::take(self.0.inner_mut()))
    }
}

struct Ipc(StreamWriter<Vec<u8>>);

impl ResultEncoder for Ipc {
    fn batch(&mut self, batch: &RecordBatch) -> Result<Vec<u8>> {
        self.0
            .write(batch)
            .map_err(|e| QueryError::Execution(e.to_string()))?;
        Ok(std::mem::take(self.0.get_mut()))
    }

    fn finish(&mut self) -> Result<Vec<u8>> {
        self.0
            .finish()
            .map_err(|e| QueryError::Execution(e.to_string()))?;
        Ok(std::mem::take(self.0.get_mut()))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use arrow::array::{BinaryArray, Int32Array};
    use arrow::datatypes::{Field, Schema};

    fn points() -> RecordBatch {
        // WKB POINT(7 51), little-endian.
        let mut wkb = vec![1u8, 1, 0, 0, 0];
        wkb.extend_from_slice(&7f64.to_le_bytes());
        wkb.extend_from_slice(&51f64.to_le_bytes());
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int32, false),
            Field::new("geometry", DataType::Binary, true),
        ]));
        RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int32Array::from(vec![1, 2])),
                Arc::new(BinaryArray::from(vec![Some(wkb.as_slice()), None])),
            ],
        )
        .expect("batch")
    }

    #[test]
    fn geojson_is_a_feature_collection_with_properties() {
        let batch = points();
        let mut enc = Format::GeoJson.encoder(&batch.schema()).expect("encoder");
        let mut out = enc.batch(&batch).expect("batch");
        out.extend(enc.finish().expect("finish"));
        let v: serde_json::Value = serde_json::from_slice(&out).expect("JSON");
        assert_eq!(v["type"], "FeatureCollection");
        assert_eq!(v["features"][0]["geometry"]["type"], "Point");
        assert_eq!(v["features"][0]["geometry"]["coordinates"][0], 7.0);
        assert_eq!(v["features"][0]["properties"]["id"], 1);
        assert!(v["features"][1]["geometry"].is_null());
    }

    #[test]
    fn geojson_without_geometry_is_refused_and_empty_results_are_valid() {
        let schema = Arc::new(Schema::new(vec![Field::new("n", DataType::Int32, false)]));
        assert!(matches!(
            Format::GeoJson.encoder(&schema).err(),
            Some(QueryError::Invalid(_))
        ));
        let mut enc = Format::GeoJson
            .encoder(&points().schema())
            .expect("encoder");
        let v: serde_json::Value =
            serde_json::from_slice(&enc.finish().expect("finish")).expect("JSON");
        assert_eq!(v["features"].as_array().map(Vec::len), Some(0));
    }

    #[test]
    fn csv_has_a_header_even_without_rows() {
        let mut enc = Format::Csv.encoder(&points().schema()).expect("encoder");
        assert_eq!(enc.finish().expect("finish"), b"id,geometry\n");
    }
}
