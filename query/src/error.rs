//! Errors of running a public query. The variants map to HTTP statuses in the API.

/// Result alias of this crate.
pub type Result<T, E = QueryError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum QueryError {
    /// The statement is not a single read-only query.
    #[error("{0}")]
    NotReadOnly(String),
    /// The SQL does not parse or refers to something that does not exist.
    #[error("{0}")]
    Invalid(String),
    #[error("the query ran longer than the limit of {0} s")]
    Timeout(u64),
    #[error("the query needs more memory than the limit allows: {0}")]
    ResourcesExhausted(String),
    #[error("registering dataset '{id}': {message}")]
    Registration { id: String, message: String },
    #[error("query failed: {0}")]
    Execution(String),
}

impl From<datafusion::error::DataFusionError> for QueryError {
    fn from(e: datafusion::error::DataFusionError) -> Self {
        use datafusion::error::DataFusionError as E;
        match e.find_root() {
            E::ResourcesExhausted(m) => QueryError::ResourcesExhausted(m.clone()),
            E::SQL(..) | E::Plan(..) | E::SchemaError(..) | E::NotImplemented(..) => {
                QueryError::Invalid(e.find_root().to_string())
            }
            E::Execution(m) if m.contains("not allowed") => QueryError::NotReadOnly(m.clone()),
            other => QueryError::Execution(other.to_string()),
        }
    }
}
