//! The public base URL of this server, for the absolute links that DCAT, CKAN and OGC clients
//! need: `ALLMENDE_BASE_URL` when set (behind a proxy), else `http://<Host header>`.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;

use crate::error::ApiError;

/// Extracts the base URL without a trailing slash, e.g. `https://daten.goslar.de`.
#[derive(Debug, Clone)]
pub struct BaseUrl(pub String);

impl BaseUrl {
    /// `path` (starting with `/`) made absolute.
    pub fn join(&self, path: &str) -> String {
        format!("{}{path}", self.0)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for BaseUrl {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        if let Ok(configured) = std::env::var("ALLMENDE_BASE_URL")
            && !configured.is_empty()
        {
            return Ok(BaseUrl(configured.trim_end_matches('/').to_owned()));
        }
        let host = parts
            .headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .filter(|h| {
                !h.is_empty()
                    && h.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
            })
            .ok_or_else(|| {
                ApiError::bad_request(
                    "a Host header is needed for absolute links (or set ALLMENDE_BASE_URL)",
                )
            })?;
        Ok(BaseUrl(format!("http://{host}")))
    }
}
