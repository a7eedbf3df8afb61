//! Errors of the catalogue store.

use std::path::PathBuf;

/// Result alias of this crate.
pub type Result<T, E = CatalogError> = std::result::Result<T, E>;

/// What can go wrong reading or writing the catalogue.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CatalogError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not a valid manifest: {source}")]
    Manifest {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error(
        "'{0}' is not a valid dataset id: use lowercase letters, digits and '-', starting with a letter or digit"
    )]
    InvalidId(String),
    #[error("dataset '{0}' not found")]
    NotFound(String),
    #[error("'{0}' is not a sort order: use relevance, title, -title, modified or -modified")]
    InvalidSort(String),
    #[error("not a cursor of this catalogue: pass a next_cursor unchanged")]
    InvalidCursor,
    #[error("search index: {0}")]
    Search(String),
}

impl CatalogError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
}
