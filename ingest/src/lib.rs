//! Allmende's ingest: turns the files a town hall has into published, versioned datasets.
//!
//! A source is read twice, streaming: once to infer every column's type from all its values,
//! once to convert rows into Arrow batches that are written to GeoParquet, CSV, GeoJSON and
//! FlatGeobuf in one pass. Rows that cannot be read are rejected with their place and listed
//! in the report; the manifest is committed last, so a failed ingest publishes nothing.

mod append;
mod config;
mod convert;
pub mod crs;
mod detect;
mod diff;
mod error;
pub mod fuzzing;
mod geometry;
mod infer;
pub mod live;
mod pipeline;
mod progress;
mod read;
mod report;
mod write;

pub use config::{DatasetKind, DatasetSpec, DatasetToml, SourceFormat, slugify};
pub use error::{IngestError, Result};
pub use pipeline::{CONFIG_FILE, IngestOptions, Outcome, ingest, validate};
pub use read::{Location, Rejection};
pub use report::{AppendReport, ColumnReport, FileReport, IngestReport};
