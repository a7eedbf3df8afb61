//! Live time-series datasets (`kind = "timeseries"`): a station table published like any
//! dataset, plus observations pushed in small batches and stored as Parquet parts under a
//! manifest (see [`store`] and ARCHITECTURE.md).

pub mod events;
pub mod readings;
pub mod series;
pub mod store;

pub use events::EventLog;
pub use readings::{BodyError, Reading, ReadingError};
pub use series::{Latest, LevelEvent, PushOutcome, Series, Station, TimeseriesConfig};
pub use store::{Observation, ObservationStore, Part, Parts};
