//! GeoJSON downloads (RFC 7946, WGS 84), streamed feature by feature.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use arrow::array::{Array, AsArray};
use arrow::datatypes::SchemaRef;
use arrow::json::writer::{EncoderOptions, make_encoder};
use arrow::record_batch::RecordBatch;
use geozero::ToJson;
use geozero::wkb::Wkb;

use super::BatchSink;
use crate::convert::GEOMETRY;
use crate::error::{IngestError, Result};

pub struct GeoJsonSink {
    path: PathBuf,
    out: BufWriter<File>,
    /// JSON-encoded property names with their colon, by column index.
    keys: Vec<Option<Vec<u8>>>,
    first: bool,
}

impl GeoJsonSink {
    pub fn create(path: &Path, schema: &SchemaRef) -> Result<Self> {
        let mut out = BufWriter::new(File::create(path).map_err(|e| IngestError::io(path, e))?);
        out.write_all(b"{\"type\":\"FeatureCollection\",\"features\":[")
            .map_err(|e| IngestError::io(path, e))?;
        let keys = schema
            .fields()
            .iter()
            .map(|f| {
                (f.name() != GEOMETRY).then(|| {
                    let mut k = serde_json::to_vec(f.name()).unwrap_or_default();
                    k.push(b':');
                    k
                })
            })
            .collect();
        Ok(GeoJsonSink {
            path: path.to_owned(),
            out,
            keys,
            first: true,
        })
    }
}

impl BatchSink for GeoJsonSink {
    fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        let err = |e: &dyn std::fmt::Display| IngestError::write(&self.path, e);
        let options = EncoderOptions::default();
        let schema = batch.schema();
        let mut encoders = Vec::new();
        for (field, column) in schema.fields().iter().zip(batch.columns()) {
            encoders.push(if field.name() == GEOMETRY {
                None
            } else {
                Some(make_encoder(field, column.as_ref(), &options).map_err(|e| err(&e))?)
            });
        }
        let geometry = batch.column_by_name(GEOMETRY).map(|c| c.as_binary::<i32>());
        let mut buf = Vec::with_capacity(1024);
        for row in 0..batch.num_rows() {
            buf.clear();
            if !self.first {
                buf.push(b',');
            }
            self.first = false;
            buf.extend_from_slice(b"\n{\"type\":\"Feature\",\"geometry\":");
            match geometry {
                Some(g) if !g.is_null(row) => {
                    let json = Wkb(g.value(row)).to_json().map_err(|e| err(&e))?;
                    buf.extend_from_slice(json.as_bytes());
                }
                _ => buf.extend_from_slice(b"null"),
            }
            buf.extend_from_slice(b",\"properties\":{");
            let mut first_prop = true;
            for (key, encoder) in self.keys.iter().zip(encoders.iter_mut()) {
                let (Some(key), Some(encoder)) = (key, encoder) else {
                    continue;
                };
                if !first_prop {
                    buf.push(b',');
                }
                first_prop = false;
                buf.extend_from_slice(key);
                if encoder.is_null(row) {
                    buf.extend_from_slice(b"null");
                } else {
                    encoder.encode(row, &mut buf);
                }
            }
            buf.extend_from_slice(b"}}");
            self.out
                .write_all(&buf)
                .map_err(|e| IngestError::io(&self.path, e))?;
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<()> {
        self.out
            .write_all(b"\n]}\n")
            .and_then(|()| self.out.flush())
            .map_err(|e| IngestError::io(&self.path, e))
    }
}
