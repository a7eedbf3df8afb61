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
    /// Like `ResourcesExhausted`, naming the configured limit (what the engine reports).
    #[error(
        "the query needs more than the {limit_mib} MiB of memory one SQL query may use \
         (--sql-memory-mb shared by --sql-concurrency queries); narrow it with WHERE, fewer columns or a smaller join ({detail})"
    )]
    MemoryLimit { limit_mib: usize, detail: String },
    /// Every query slot is taken and the waiting queue is full; try again after the seconds.
    #[error(
        "the SQL service is busy ({running} queries running, {queued} waiting); try again in {retry_after} s"
    )]
    Busy {
        running: usize,
        queued: usize,
        retry_after: u64,
    },
    #[error("registering dataset '{id}': {message}")]
    Registration { id: String, message: String },
    #[error("query failed: {0}")]
    Execution(String),
}

impl QueryError {
    /// Where in the SQL text the parser stopped (line and column, from 1), when it said so:
    /// sqlparser ends its messages with "at Line: X, Column: Y".
    pub fn position(&self) -> Option<(u64, u64)> {
        let QueryError::Invalid(m) = self else {
            return None;
        };
        let rest = &m[m.rfind("Line: ")? + "Line: ".len()..];
        let (line, rest) = rest.split_once(", Column: ")?;
        let column: String = rest.chars().take_while(char::is_ascii_digit).collect();
        Some((line.trim().parse().ok()?, column.parse().ok()?))
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parser_positions_are_read_from_the_message() {
        let e = QueryError::Invalid(
            "SQL error: ParserError(\"Expected: an expression, found: FROM at Line: 2, Column: 3\")"
                .into(),
        );
        assert_eq!(e.position(), Some((2, 3)));
        assert_eq!(
            QueryError::Invalid("table 'x' not found".into()).position(),
            None
        );
    }
}
