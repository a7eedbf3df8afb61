//! OGC API – Features at `/ogc/`: Part 1 Core (GeoJSON, HTML, OpenAPI 3.0), Part 2 CRS by
//! reference, Part 3 Filtering (CQL2 text and JSON), `properties` (Part 6) and `sortby`
//! (Part 8).
//!
//! Every spatial dataset is a collection. Items are DataFusion plans over the dataset's
//! GeoParquet (filters, limit and offset in the plan), streamed as GeoJSON batch by batch.
//! Each collection is also a vector tileset (OGC API – Tiles, `tiles`).

mod collections;
mod cql2;
mod crs;
mod html;
mod items;
mod landing;
mod mvt;
mod openapi;
mod params;
mod plan;
mod tiles;
mod tilesets;

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::error::ApiError;
use crate::state::AppState;

/// The OGC API routes, to be merged into the main router.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/ogc", get(landing::landing))
        .route("/ogc/", get(landing::landing))
        .route("/ogc/conformance", get(landing::conformance))
        .route("/ogc/api", get(openapi::document))
        .route("/ogc/collections", get(collections::list))
        .route("/ogc/collections/{id}", get(collections::one))
        .route(
            "/ogc/collections/{id}/queryables",
            get(collections::queryables),
        )
        .route(
            "/ogc/collections/{id}/sortables",
            get(collections::sortables),
        )
        .route("/ogc/collections/{id}/items", get(items::items))
        .route("/ogc/collections/{id}/items/{fid}", get(items::item))
        .route("/ogc/collections/{id}/tiles", get(tilesets::tilesets))
        .route("/ogc/collections/{id}/tiles/{tms}", get(tilesets::tileset))
        .route(
            "/ogc/collections/{id}/tiles/{tms}/tilejson.json",
            get(tilesets::tilejson),
        )
        .route(
            "/ogc/collections/{id}/tiles/{tms}/{z}/{y}/{x}",
            get(tiles::tile),
        )
}

/// The representation a client asked for, by `f=` first, else by `Accept`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Representation {
    Json,
    Html,
}

impl Representation {
    fn negotiate(f: Option<&str>, headers: &HeaderMap) -> Result<Representation, ApiError> {
        match f {
            Some("json" | "geojson" | "application/json" | "application/geo+json") => {
                return Ok(Representation::Json);
            }
            Some("html" | "text/html") => return Ok(Representation::Html),
            Some(other) => {
                return Err(ApiError::bad_request(format!(
                    "unknown f={other}: json or html"
                )));
            }
            None => {}
        }
        let accept = headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        // A browser asks for HTML first; GIS clients ask for (geo+)json.
        let first = accept.split(',').next().unwrap_or("").trim();
        Ok(if first.starts_with("text/html") {
            Representation::Html
        } else {
            Representation::Json
        })
    }
}

/// A JSON body with its media type.
fn json_response(body: &serde_json::Value, content_type: &'static str) -> Response {
    let mut response = (StatusCode::OK, body.to_string()).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// A link object.
fn link(href: String, rel: &str, media_type: &str, title: &str) -> serde_json::Value {
    serde_json::json!({ "href": href, "rel": rel, "type": media_type, "title": title })
}

/// The `self` and `alternate` links of a resource offered as JSON and HTML.
fn self_links(href: &str, json_type: &str, current: Representation) -> Vec<serde_json::Value> {
    let (json_rel, html_rel) = match current {
        Representation::Json => ("self", "alternate"),
        Representation::Html => ("alternate", "self"),
    };
    let sep = if href.contains('?') { '&' } else { '?' };
    vec![
        link(
            format!("{href}{sep}f=json"),
            json_rel,
            json_type,
            "this document as JSON",
        ),
        link(
            format!("{href}{sep}f=html"),
            html_rel,
            "text/html",
            "this document as HTML",
        ),
    ]
}

/// Percent-encodes a path segment (feature ids may contain spaces and other characters).
fn path_segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
