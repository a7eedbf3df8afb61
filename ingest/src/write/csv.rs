//! CSV downloads: UTF-8 with a byte order mark (so Excel opens umlauts right), RFC 4180 quoting
//! and CRLF line ends, numbers with a decimal point, geometry as WKT.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use arrow::array::{Array, AsArray};
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use arrow::util::display::{ArrayFormatter, FormatOptions};
use geozero::ToWkt;
use geozero::wkb::Wkb;

use super::BatchSink;
use crate::convert::GEOMETRY;
use crate::error::{IngestError, Result};

pub struct CsvSink {
    path: PathBuf,
    writer: csv::Writer<BufWriter<File>>,
    spatial: bool,
}

impl CsvSink {
    pub fn create(path: &Path, schema: &SchemaRef, spatial: bool) -> Result<Self> {
        let mut file = BufWriter::new(File::create(path).map_err(|e| IngestError::io(path, e))?);
        file.write_all(b"\xEF\xBB\xBF")
            .map_err(|e| IngestError::io(path, e))?;
        let mut writer = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer(file);
        writer
            .write_record(schema.fields().iter().map(|f| f.name()))
            .map_err(|e| IngestError::write(path, e))?;
        Ok(CsvSink {
            path: path.to_owned(),
            writer,
            spatial,
        })
    }
}

impl BatchSink for CsvSink {
    fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        let options = FormatOptions::default().with_null("");
        let schema = batch.schema();
        let geometry_index = if self.spatial {
            schema.index_of(GEOMETRY).ok()
        } else {
            None
        };
        let formatters = batch
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &options))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| IngestError::write(&self.path, e))?;
        let mut row: Vec<String> = Vec::with_capacity(formatters.len());
        for i in 0..batch.num_rows() {
            row.clear();
            for (c, f) in formatters.iter().enumerate() {
                if Some(c) == geometry_index {
                    let wkb = batch.column(c).as_binary::<i32>();
                    let wkt = if wkb.is_null(i) {
                        String::new()
                    } else {
                        Wkb(wkb.value(i))
                            .to_wkt()
                            .map_err(|e| IngestError::write(&self.path, e))?
                    };
                    row.push(wkt);
                } else {
                    row.push(f.value(i).to_string());
                }
            }
            self.writer
                .write_record(&row)
                .map_err(|e| IngestError::write(&self.path, e))?;
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<()> {
        self.writer
            .flush()
            .map_err(|e| IngestError::io(&self.path, e))
    }
}
