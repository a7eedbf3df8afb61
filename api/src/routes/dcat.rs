//! DCAT-AP.de 2.0 documents for harvesting portals (GovData and others), each in Turtle,
//! JSON-LD and RDF/XML:
//!
//! - `/catalog.{ttl,jsonld,rdf}?page=N`: the catalogue, 100 datasets per page, with a
//!   `hydra:PagedCollection` (total, page size, first/previous/next/last page) as ckanext-dcat
//!   writes it; the page defaults to 1.
//! - `/api/datasets/{id}/dcat.{ttl,jsonld,rdf}`: one dataset as it is now.
//! - `/api/datasets/{id}/versions/{n}/dcat.{ttl,jsonld,rdf}`: one version with its immutable
//!   files.
//!
//! The catalogue's own title and publisher and the GovData contributor id come from the
//! environment (`ALLMENDE_CATALOG_TITLE`, `ALLMENDE_CATALOG_DESCRIPTION`,
//! `ALLMENDE_CATALOG_PUBLISHER`, `ALLMENDE_CONTRIBUTOR_ID`), as the public base URL does.

use allmende_catalog::dcat::{self, CatalogInfo, Graph, PAGE_SIZE, RdfSyntax};
use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::base_url::BaseUrl;
use crate::error::ApiError;
use crate::state::AppState;

/// The DCAT routes, to merge into the main router.
pub fn routes() -> Router<AppState> {
    let mut router = Router::new();
    for syntax in RdfSyntax::ALL {
        let ext = syntax.extension();
        router = router
            .route(
                &format!("/catalog.{ext}"),
                get(
                    move |state: State<AppState>, base: BaseUrl, query: RawQuery| {
                        catalog(state, base, query, syntax)
                    },
                ),
            )
            .route(
                &format!("/api/datasets/{{id}}/dcat.{ext}"),
                get(
                    move |state: State<AppState>, base: BaseUrl, id: Path<String>| {
                        dataset(state, base, id, syntax)
                    },
                ),
            )
            .route(
                &format!("/api/datasets/{{id}}/versions/{{n}}/dcat.{ext}"),
                get(
                    move |state: State<AppState>, base: BaseUrl, path: Path<(String, String)>| {
                        version(state, base, path, syntax)
                    },
                ),
            );
    }
    router
}

async fn catalog(
    State(state): State<AppState>,
    base: BaseUrl,
    RawQuery(query): RawQuery,
    syntax: RdfSyntax,
) -> Result<Response, ApiError> {
    let page = page_param(query.as_deref())?;
    let snapshot = state.snapshot().await?;
    let manifests: Vec<_> = snapshot.catalog.datasets().collect();
    let graph = dcat::catalog_page(
        &manifests,
        &catalog_info(),
        &base.0,
        syntax,
        page,
        PAGE_SIZE,
    )
    .ok_or_else(|| ApiError::not_found(format!("the catalogue has no page {page}")))?;
    rdf(&graph, syntax)
}

async fn dataset(
    State(state): State<AppState>,
    base: BaseUrl,
    Path(id): Path<String>,
    syntax: RdfSyntax,
) -> Result<Response, ApiError> {
    let snapshot = state.snapshot().await?;
    let manifest = snapshot
        .catalog
        .get(&id)
        .ok_or_else(|| ApiError::not_found(format!("dataset '{id}' not found")))?;
    rdf(
        &dcat::dataset_graph(manifest, &catalog_info(), &base.0),
        syntax,
    )
}

async fn version(
    State(state): State<AppState>,
    base: BaseUrl,
    Path((id, n)): Path<(String, String)>,
    syntax: RdfSyntax,
) -> Result<Response, ApiError> {
    let number: u32 = n
        .parse()
        .map_err(|_| ApiError::bad_request(format!("'{n}' is not a version number")))?;
    let snapshot = state.snapshot().await?;
    let manifest = snapshot
        .catalog
        .get(&id)
        .ok_or_else(|| ApiError::not_found(format!("dataset '{id}' not found")))?;
    let graph = dcat::version_graph(manifest, number, &catalog_info(), &base.0)
        .ok_or_else(|| ApiError::not_found(format!("dataset '{id}' has no version {number}")))?;
    rdf(&graph, syntax)
}

/// `?page=N`, 1 when absent; anything else is a 400.
fn page_param(query: Option<&str>) -> Result<usize, ApiError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query.unwrap_or(""))
        .map_err(|e| ApiError::bad_request(format!("query string: {e}")))?;
    match pairs.iter().rev().find(|(k, _)| k == "page") {
        None => Ok(1),
        Some((_, v)) => v.parse().ok().filter(|&p: &usize| p >= 1).ok_or_else(|| {
            ApiError::bad_request(format!("page: '{v}' is not a page number (1, 2, …)"))
        }),
    }
}

fn catalog_info() -> CatalogInfo {
    let var = |key: &str| {
        std::env::var(key)
            .ok()
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let mut info = CatalogInfo::default();
    if let Some(title) = var("ALLMENDE_CATALOG_TITLE") {
        info.publisher = title.clone();
        info.title = title;
    }
    if let Some(description) = var("ALLMENDE_CATALOG_DESCRIPTION") {
        info.description = description;
    }
    if let Some(publisher) = var("ALLMENDE_CATALOG_PUBLISHER") {
        info.publisher = publisher;
    }
    info.contributor_id = var("ALLMENDE_CONTRIBUTOR_ID");
    info
}

fn rdf(graph: &Graph, syntax: RdfSyntax) -> Result<Response, ApiError> {
    let body = graph.serialize(syntax).map_err(ApiError::internal)?;
    Ok(([(header::CONTENT_TYPE, syntax.media_type())], body).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_parameter() {
        assert_eq!(page_param(None).ok(), Some(1));
        assert_eq!(page_param(Some("page=3")).ok(), Some(3));
        assert_eq!(page_param(Some("other=x")).ok(), Some(1));
        for bad in ["page=0", "page=-1", "page=zwei", "page="] {
            let e = page_param(Some(bad)).expect_err(bad);
            assert_eq!(e.status, axum::http::StatusCode::BAD_REQUEST, "{bad}");
        }
    }
}
