//! What every handler shares: the catalogue snapshot and the query engine built from it.

use std::sync::Arc;

use allmende_catalog::Catalog;
use allmende_query::{Limits, QueryEngine, build_session};

#[derive(Clone, Debug)]
pub struct AppState {
    pub catalog: Arc<Catalog>,
    pub engine: Arc<QueryEngine>,
}

impl AppState {
    /// Reads the catalogue under `data_root` and builds the query engine over it.
    pub async fn open(
        data_root: &std::path::Path,
        limits: Limits,
    ) -> Result<AppState, Box<dyn std::error::Error + Send + Sync>> {
        let catalog = Catalog::open(data_root)?;
        let engine = build_session(&catalog, limits).await?;
        Ok(AppState {
            catalog: Arc::new(catalog),
            engine: Arc::new(engine),
        })
    }
}
