//! A replay of archived readings as live ones (`[timeseries.replay]`), for demonstrations:
//! another published dataset's values, time-lapsed. Each step advances an archive clock by
//! `step` and yields, per station, its value at that moment, interpolated linearly between
//! the archived readings around it. The caller stamps them with the wall clock and pushes
//! them through the ordinary push path, every `every`.

use serde::{Deserialize, Serialize};

/// `[timeseries.replay]` of a dataset.toml.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ReplayConfig {
    /// The published dataset whose rows are replayed (e.g. daily values).
    pub dataset: String,
    /// Its column naming the station (by the time series' station id).
    pub station: String,
    /// Its column with the time or date of each value.
    pub time: String,
    /// Its column with the value.
    pub value: String,
    /// The offset of times and dates without zone, e.g. `"+01:00"`.
    pub zone: Option<String>,
    /// Where in the archive the replay begins (RFC 3339); its first reading when absent.
    pub start: Option<String>,
    /// Archive time each push advances, e.g. `"3h"`.
    pub step: String,
    /// Wall time between pushes, e.g. `"5s"`.
    pub every: String,
}
