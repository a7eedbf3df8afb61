//! Allmende's query engine: one DataFusion session over the latest version of every published
//! dataset, with geodatafusion's spatial functions, read-only SQL and memory and time limits.
//!
//! [`build_session`] is the one place the engine is set up (tables, UDFs, memory pool, limits).

mod cancellation;
mod catalog_tables;
mod covering;
mod date_trunc;
mod error;
mod export;
mod live_table;
mod observations;
mod output;
mod result_cache;
mod session;
mod spatial;
mod spatial_join;

/// The DataFusion this engine is built on, for callers that build plans from expressions.
pub use datafusion;

pub use catalog_tables::{CATALOG_SCHEMA, CATALOG_TABLES, version_table_name};
pub use error::{QueryError, Result};
pub use export::{FeatureWriter, Format, ResultEncoder, geometry_column};
pub use live_table::{LiveRows, LiveTable};
pub use output::{ResultTable, displayable, to_csv, to_json_table};
pub use session::{Limits, QueryEngine, build_session};
