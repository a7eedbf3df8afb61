//! Errors of the ingest pipeline. Each says where it happened: file, and line or feature.

use std::path::PathBuf;

/// Result alias of this crate.
pub type Result<T, E = IngestError> = std::result::Result<T, E>;

/// An error that stops an ingest. Row-level problems are not errors but
/// [`Rejection`](crate::Rejection)s listed in the report.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IngestError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Config { path: PathBuf, message: String },
    #[error("{path}: {message}")]
    Encoding { path: PathBuf, message: String },
    #[error("{path}:{line}{}: {message}", column.map(|c| format!(":{c}")).unwrap_or_default())]
    Parse {
        path: PathBuf,
        line: u64,
        column: Option<u64>,
        message: String,
    },
    #[error("{path}: no row could be read ({rejected} rejected, the first at {first})")]
    NoRows {
        path: PathBuf,
        rejected: u64,
        first: String,
    },
    #[error("writing {path}: {message}")]
    Write { path: PathBuf, message: String },
    #[error(transparent)]
    Catalog(#[from] allmende_catalog::CatalogError),
}

impl IngestError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn config(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Self::Config {
            path: path.into(),
            message: message.into(),
        }
    }

    pub(crate) fn write(path: impl Into<PathBuf>, message: impl ToString) -> Self {
        Self::Write {
            path: path.into(),
            message: message.to_string(),
        }
    }
}
