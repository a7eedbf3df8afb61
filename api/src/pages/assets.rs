//! The bundled script, style and MapLibre worker (built by `api/build.rs` from `api/web/`),
//! embedded in the binary and served under `/assets/`. Pages link them with `?v=<hash>`, and
//! the chunks have their hash in the name, so a browser may keep them for a year and still
//! sees a new build at once. Browsers that accept
//! gzip get the build's gzip copy (a quarter of the bytes; nothing is compressed per request).

use std::sync::LazyLock;

use axum::extract::{Path, RawQuery};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use crate::error::ApiError;

struct Asset {
    name: &'static str,
    media_type: &'static str,
    bytes: &'static [u8],
    gzip: &'static [u8],
}

/// Every file of the bundle, listed by `api/build.rs`: `app.js`, `app.css`, the chunks
/// `app.js` loads for maps and charts (`chunk-<hash>.js`), MapLibre's worker.
const ASSETS: &[Asset] = include!(concat!(env!("OUT_DIR"), "/assets.rs"));

/// The first 16 hex digits of each asset's SHA-256, in the order of `ASSETS`.
static HASHES: LazyLock<Vec<String>> = LazyLock::new(|| {
    ASSETS
        .iter()
        .map(|a| hex::encode(&Sha256::digest(a.bytes)[..8]))
        .collect()
});

fn find(name: &str) -> Option<(&'static Asset, &'static str)> {
    let i = ASSETS.iter().position(|a| a.name == name)?;
    Some((&ASSETS[i], HASHES[i].as_str()))
}

/// The URL of an asset, with its content hash.
pub fn url(name: &str) -> String {
    match find(name) {
        Some((_, hash)) => format!("/assets/{name}?v={hash}"),
        None => format!("/assets/{name}"),
    }
}

pub async fn serve(
    Path(file): Path<String>,
    RawQuery(query): RawQuery,
    headers: axum::http::HeaderMap,
) -> Result<Response, ApiError> {
    let (asset, hash) =
        find(&file).ok_or_else(|| ApiError::not_found(format!("no asset '{file}'")))?;
    let gzip = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(accepts_gzip);
    // A strong ETag names one representation, so the gzip copy has its own.
    let etag = if gzip {
        format!("\"{hash}-gz\"")
    } else {
        format!("\"{hash}\"")
    };
    // Chunk names carry their content hash themselves.
    let cache = if query.as_deref() == Some(&format!("v={hash}")) || file.starts_with("chunk-") {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    let not_modified = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let mut response = if not_modified {
        StatusCode::NOT_MODIFIED.into_response()
    } else if gzip {
        (
            [
                (header::CONTENT_TYPE, asset.media_type),
                (header::CONTENT_ENCODING, "gzip"),
            ],
            asset.gzip,
        )
            .into_response()
    } else {
        ([(header::CONTENT_TYPE, asset.media_type)], asset.bytes).into_response()
    };
    let h = response.headers_mut();
    h.append(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    if let Ok(etag) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, etag);
    }
    super::security_headers(h);
    Ok(response)
}

/// Whether an `Accept-Encoding` value accepts gzip (listed, or `*`, without `q=0`).
fn accepts_gzip(value: &str) -> bool {
    value.split(',').any(|coding| {
        let mut parts = coding.split(';');
        let name = parts.next().unwrap_or("").trim();
        let refused = parts.any(|p| {
            p.trim()
                .strip_prefix("q=")
                .and_then(|q| q.trim().parse::<f32>().ok())
                .is_some_and(|q| q == 0.0)
        });
        (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_when_accepted_and_not_refused() {
        assert!(accepts_gzip("gzip, deflate, br, zstd"));
        assert!(accepts_gzip("br;q=1.0, GZIP;q=0.5"));
        assert!(accepts_gzip("*"));
        assert!(!accepts_gzip("identity"));
        assert!(!accepts_gzip("gzip;q=0, br"));
        assert!(!accepts_gzip("br"));
    }
}
