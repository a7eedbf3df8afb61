//! The landing page `/ogc/` and `/ogc/conformance`: where a client starts and what it may
//! expect of this server.

use axum::extract::RawQuery;
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::json;

use super::params::Params;
use super::{Representation, html, json_response, link, self_links};
use crate::base_url::BaseUrl;
use crate::error::ApiError;

/// The conformance classes this server implements.
pub const CONFORMANCE: &[&str] = &[
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions-plus",
    "http://www.opengis.net/spec/cql2/1.0/conf/spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/temporal-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/case-insensitive-comparison",
    "http://www.opengis.net/spec/ogcapi-features-6/1.0/conf/properties",
    "http://www.opengis.net/spec/ogcapi-features-8/1.0/conf/sorting",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tileset",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tilesets-list",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/geodata-tilesets",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/mvt",
];

pub async fn landing(
    base: BaseUrl,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let params = Params::parse(raw.as_deref(), &["f"])?;
    let repr = Representation::negotiate(params.get("f"), &headers)?;
    let mut links = self_links(&base.join("/ogc/"), "application/json", repr);
    links.extend([
        link(
            base.join("/ogc/api"),
            "service-desc",
            "application/vnd.oai.openapi+json;version=3.0",
            "the API definition (OpenAPI 3.0)",
        ),
        link(
            base.join("/ogc/api?f=html"),
            "service-doc",
            "text/html",
            "the API definition as HTML",
        ),
        link(
            base.join("/ogc/conformance"),
            "conformance",
            "application/json",
            "the conformance classes implemented",
        ),
        link(
            base.join("/ogc/collections"),
            "data",
            "application/json",
            "the feature collections",
        ),
    ]);
    let body = json!({
        "title": "Allmende – OGC API Features",
        "description": "Every spatial dataset of this Allmende as a feature collection.",
        "links": links,
    });
    Ok(match repr {
        Representation::Json => json_response(&body, "application/json"),
        Representation::Html => html::landing(&body),
    })
}

pub async fn conformance(
    base: BaseUrl,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let params = Params::parse(raw.as_deref(), &["f"])?;
    let repr = Representation::negotiate(params.get("f"), &headers)?;
    let body = json!({
        "conformsTo": CONFORMANCE,
        "links": self_links(&base.join("/ogc/conformance"), "application/json", repr),
    });
    Ok(match repr {
        Representation::Json => json_response(&body, "application/json"),
        Representation::Html => html::conformance(&body),
    })
}
