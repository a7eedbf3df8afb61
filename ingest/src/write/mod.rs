//! Writers of the published files. Each consumes the same record batches; [`Outputs`] fans one
//! pass out to all of them: GeoParquet (or plain Parquet), CSV, and for spatial data GeoJSON and
//! FlatGeobuf. Spatial versions are written in Hilbert order (see [`order`]).

mod csv;
mod fgb;
mod geojson;
mod order;
mod parquet;

use std::path::{Path, PathBuf};

use allmende_catalog::Format;
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;

use crate::error::{IngestError, Result};

/// One output file being written.
pub trait BatchSink {
    fn write(&mut self, batch: &RecordBatch) -> Result<()>;
    /// Completes the file.
    fn finish(self: Box<Self>) -> Result<()>;
}

/// All outputs of one version.
pub struct Outputs {
    sinks: Vec<(Format, PathBuf, Box<dyn BatchSink>)>,
    /// Spatial rows wait here to be sorted; `None` streams straight to the sinks.
    held: Option<Vec<RecordBatch>>,
}

impl Outputs {
    /// Creates the files of a version in `dir`. `geometry_types` (GeoParquet names) is `Some`
    /// for spatial data: the last column of `schema` is then the WKB geometry.
    pub fn create(
        dir: &Path,
        schema: &SchemaRef,
        title: &str,
        geometry_types: Option<&[&str]>,
    ) -> Result<Outputs> {
        let path = |f: Format| dir.join(f.file_name());
        let mut sinks: Vec<(Format, PathBuf, Box<dyn BatchSink>)> = vec![
            (
                Format::Parquet,
                path(Format::Parquet),
                Box::new(parquet::GeoParquetSink::create(
                    &path(Format::Parquet),
                    schema,
                    geometry_types.is_some(),
                )?),
            ),
            (
                Format::Csv,
                path(Format::Csv),
                Box::new(csv::CsvSink::create(
                    &path(Format::Csv),
                    schema,
                    geometry_types.is_some(),
                )?),
            ),
        ];
        if let Some(types) = geometry_types {
            sinks.push((
                Format::Geojson,
                path(Format::Geojson),
                Box::new(geojson::GeoJsonSink::create(
                    &path(Format::Geojson),
                    schema,
                )?),
            ));
            sinks.push((
                Format::Fgb,
                path(Format::Fgb),
                Box::new(fgb::FgbSink::create(
                    &path(Format::Fgb),
                    schema,
                    title,
                    types,
                )?),
            ));
        }
        let held = geometry_types.is_some().then(Vec::new);
        Ok(Outputs { sinks, held })
    }

    /// No files at all: for dry runs.
    pub fn none() -> Outputs {
        Outputs {
            sinks: Vec::new(),
            held: None,
        }
    }

    /// No files: the batches are kept for [`Outputs::into_batches`] (for `--append`).
    pub fn collect() -> Outputs {
        Outputs {
            sinks: Vec::new(),
            held: Some(Vec::new()),
        }
    }

    /// The batches an [`Outputs::collect`] received.
    pub fn into_batches(mut self) -> Vec<RecordBatch> {
        self.held.take().unwrap_or_default()
    }

    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        if let Some(held) = &mut self.held {
            held.push(batch.clone());
            return Ok(());
        }
        self.write_now(batch)
    }

    fn write_now(&mut self, batch: &RecordBatch) -> Result<()> {
        for (_, _, sink) in &mut self.sinks {
            sink.write(batch)?;
        }
        Ok(())
    }

    fn dir(&self) -> PathBuf {
        self.sinks
            .first()
            .and_then(|(_, p, _)| p.parent())
            .map(Path::to_path_buf)
            .unwrap_or_default()
    }

    /// Completes every file; returns what was written.
    pub fn finish(mut self) -> Result<Vec<(Format, PathBuf)>> {
        if let Some(held) = self.held.take() {
            let sorted = order::hilbert_sorted(&held, parquet::SPATIAL_ROW_GROUP_ROWS)
                .map_err(|e| IngestError::write(self.dir(), e))?;
            drop(held);
            for batch in &sorted {
                self.write_now(batch)?;
            }
        }
        let mut written = Vec::new();
        for (format, path, sink) in self.sinks {
            sink.finish()?;
            written.push((format, path));
        }
        Ok(written)
    }
}
