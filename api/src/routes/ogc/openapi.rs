//! `/ogc/api`: the OpenAPI 3.0 document of the OGC API, generated per request so that the
//! collection ids and the server URL are the current ones.

use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::{Value, json};

use super::collections::Collection;
use super::crs::ALL;
use super::params::{DEFAULT_LIMIT, MAX_LIMIT, Params};
use super::{Representation, html, json_response};
use crate::base_url::BaseUrl;
use crate::error::ApiError;
use crate::state::AppState;

pub const MEDIA_TYPE: &str = "application/vnd.oai.openapi+json;version=3.0";

fn param_ref(name: &str) -> Value {
    json!({ "$ref": format!("#/components/parameters/{name}") })
}

/// A 200 response in the given media types (each with `schema`), plus 400 and, optionally, 404.
fn responses(description: &str, content: Value, not_found: bool) -> Value {
    let mut r = json!({
        "200": { "description": description, "content": content },
        "400": { "$ref": "#/components/responses/InvalidParameter" },
        "500": { "$ref": "#/components/responses/ServerError" },
    });
    if not_found {
        r["404"] = json!({ "$ref": "#/components/responses/NotFound" });
    }
    r
}

fn json_and_html(schema: Value, json_type: &str) -> Value {
    json!({
        json_type: { "schema": schema },
        "text/html": { "schema": { "type": "string" } },
    })
}

fn operation(id: &str, summary: &str, params: &[&str], responses: Value) -> Value {
    json!({ "get": {
        "operationId": id,
        "summary": summary,
        "parameters": params.iter().map(|p| param_ref(p)).collect::<Vec<_>>(),
        "responses": responses,
    }})
}

/// The document for the current collections.
/// A collection as the document needs it: its id and the properties `/items` filters on, with
/// their JSON Schema types.
pub struct Described {
    pub id: String,
    pub properties: Vec<(String, Value)>,
}

fn property_schema(data_type: &str) -> Value {
    match data_type {
        "integer" => json!({ "type": "integer" }),
        "number" => json!({ "type": "number" }),
        "boolean" => json!({ "type": "boolean" }),
        "date" => json!({ "type": "string", "format": "date" }),
        _ => json!({ "type": "string" }),
    }
}

pub fn document_for(base: &BaseUrl, collections: &[Described]) -> Value {
    let collection_ids: Vec<&str> = collections.iter().map(|c| c.id.as_str()).collect();
    let crs: Vec<String> = ALL.iter().map(|c| c.uri()).collect();
    let object = json!({ "type": "object" });
    let feature_collection = json!({
        "type": "object",
        "required": ["type", "features"],
        "properties": {
            "type": { "type": "string", "enum": ["FeatureCollection"] },
            "features": { "type": "array", "items": { "$ref": "#/components/schemas/Feature" } },
            "numberMatched": { "type": "integer", "minimum": 0 },
            "numberReturned": { "type": "integer", "minimum": 0 },
            "timeStamp": { "type": "string", "format": "date-time" },
            "links": { "type": "array", "items": { "$ref": "#/components/schemas/Link" } },
        }
    });
    let feature = json!({ "$ref": "#/components/schemas/Feature" });
    let tile_params: Vec<Value> = [
        "collectionId",
        "tileMatrixSetId",
        "tileMatrix",
        "tileRow",
        "tileCol",
        "fTile",
    ]
    .iter()
    .map(|p| param_ref(p))
    .collect();
    let paths = json!({
        "/": operation("getLandingPage", "The landing page", &["f"],
            responses("links to the API, conformance and collections", json_and_html(object.clone(), "application/json"), false)),
        "/conformance": operation("getConformance", "The conformance classes", &["f"],
            responses("the conformance classes", json_and_html(json!({
                "type": "object", "required": ["conformsTo"],
                "properties": { "conformsTo": { "type": "array", "items": { "type": "string" } } }
            }), "application/json"), false)),
        "/api": operation("getApi", "This document", &[],
            responses("the OpenAPI document", json!({ MEDIA_TYPE: { "schema": object.clone() } }), false)),
        "/collections": operation("getCollections", "The feature collections", &["f"],
            responses("the collections", json_and_html(json!({
                "type": "object", "required": ["collections", "links"],
                "properties": {
                    "collections": { "type": "array", "items": { "$ref": "#/components/schemas/Collection" } },
                    "links": { "type": "array", "items": { "$ref": "#/components/schemas/Link" } },
                }
            }), "application/json"), false)),
        "/collections/{collectionId}": operation("describeCollection", "One collection", &["collectionId", "f"],
            responses("the collection", json_and_html(json!({ "$ref": "#/components/schemas/Collection" }), "application/json"), true)),
        "/collections/{collectionId}/queryables": operation("getQueryables", "The properties a filter may use (JSON Schema)", &["collectionId", "f"],
            responses("the queryables", json_and_html(object.clone(), "application/schema+json"), true)),
        "/collections/{collectionId}/sortables": operation("getSortables", "The properties sortby may use (JSON Schema)", &["collectionId", "f"],
            responses("the sortables", json_and_html(object.clone(), "application/schema+json"), true)),
        "/collections/{collectionId}/items": operation("getFeatures", "The features of a collection",
            &["collectionId", "f", "bbox", "bbox-crs", "datetime", "limit", "offset", "crs", "properties", "sortby", "filter", "filter-lang", "filter-crs"],
            responses("a page of features", json_and_html(feature_collection.clone(), "application/geo+json"), true)),
        "/collections/{collectionId}/tiles": operation("getTilesets", "The vector tilesets of a collection", &["collectionId", "f"],
            responses("the tilesets", json!({ "application/json": { "schema": object.clone() } }), true)),
        "/collections/{collectionId}/tiles/{tileMatrixSetId}": operation("getTileset", "A tileset's metadata", &["collectionId", "tileMatrixSetId", "f"],
            responses("the tileset", json!({ "application/json": { "schema": object.clone() } }), true)),
        "/collections/{collectionId}/tiles/{tileMatrixSetId}/tilejson.json": operation("getTileJson", "The tileset as TileJSON 3.0", &["collectionId", "tileMatrixSetId"],
            responses("TileJSON", json!({ "application/json": { "schema": object.clone() } }), true)),
        "/collections/{collectionId}/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}": {
            "get": {
                "operationId": "getTile",
                "summary": "A Mapbox Vector Tile (gzipped when accepted)",
                "parameters": tile_params,
                "responses": {
                    "200": { "description": "the tile", "content": { super::tiles::MEDIA_TYPE: { "schema": { "type": "string", "format": "binary" } } } },
                    "204": { "description": "an empty tile" },
                    "304": { "description": "the tile has not changed (If-None-Match)" },
                    "400": { "$ref": "#/components/responses/InvalidParameter" },
                    "404": { "$ref": "#/components/responses/NotFound" },
                    "500": { "$ref": "#/components/responses/ServerError" },
                }
            }
        },
        "/collections/{collectionId}/items/{featureId}": operation("getFeature", "One feature", &["collectionId", "featureId", "f", "crs", "properties"],
            responses("the feature", json_and_html(feature, "application/geo+json"), true)),
    });
    // Each collection's items again, with its properties as equality filters (Part 1,
    // recommendation fc-filters), so that clients such as GDAL can filter on the server.
    let mut paths = paths;
    for c in collections {
        let mut parameters: Vec<Value> = [
            "f",
            "bbox",
            "bbox-crs",
            "datetime",
            "limit",
            "offset",
            "crs",
            "properties",
            "sortby",
            "filter",
            "filter-lang",
            "filter-crs",
        ]
        .iter()
        .map(|p| param_ref(p))
        .collect();
        for (name, schema) in &c.properties {
            parameters.push(json!({
                "name": name, "in": "query", "required": false, "style": "form", "explode": false,
                "description": format!("features whose {name} equals this value"),
                "schema": schema,
            }));
        }
        paths[format!("/collections/{}/items", c.id)] = json!({ "get": {
            "operationId": format!("getFeatures-{}", c.id),
            "summary": format!("The features of {}", c.id),
            "parameters": parameters,
            "responses": responses("a page of features", json_and_html(feature_collection.clone(), "application/geo+json"), true),
        }});
    }
    let query = |name: &str, description: &str, schema: Value| {
        json!({ "name": name, "in": "query", "required": false, "description": description,
                "schema": schema, "style": "form", "explode": false })
    };
    let parameters = json!({
        "collectionId": { "name": "collectionId", "in": "path", "required": true,
            "description": "a collection id", "schema": { "type": "string", "enum": collection_ids } },
        "featureId": { "name": "featureId", "in": "path", "required": true,
            "description": "a feature id", "schema": { "type": "string" } },
        "f": query("f", "the representation (else by Accept)", json!({ "type": "string", "enum": ["json", "html"] })),
        "fTile": query("f", "the tile format", json!({ "type": "string", "enum": ["mvt"] })),
        "tileMatrixSetId": { "name": "tileMatrixSetId", "in": "path", "required": true,
            "description": "the tile matrix set", "schema": { "type": "string", "enum": ["WebMercatorQuad"] } },
        "tileMatrix": { "name": "tileMatrix", "in": "path", "required": true,
            "description": "the zoom level", "schema": { "type": "integer", "minimum": 0, "maximum": 22 } },
        "tileRow": { "name": "tileRow", "in": "path", "required": true,
            "description": "the row, from the north (below 2^tileMatrix)", "schema": { "type": "integer", "minimum": 0 } },
        "tileCol": { "name": "tileCol", "in": "path", "required": true,
            "description": "the column, from the west (below 2^tileMatrix)", "schema": { "type": "integer", "minimum": 0 } },
        "bbox": query("bbox", "minimum x, minimum y, maximum x, maximum y (in bbox-crs, default CRS84)",
            json!({ "type": "array", "minItems": 4, "maxItems": 4, "items": { "type": "number" } })),
        "bbox-crs": query("bbox-crs", "the CRS of bbox", json!({ "type": "string", "enum": crs })),
        "datetime": query("datetime", "an RFC 3339 instant or an interval start/end, '..' for an open end", json!({ "type": "string" })),
        "limit": query("limit", "features per page; values above 10000 are reduced to 10000",
            json!({ "type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT })),
        "offset": query("offset", "features to skip", json!({ "type": "integer", "minimum": 0, "default": 0 })),
        "crs": query("crs", "the CRS of the returned geometries", json!({ "type": "string", "enum": crs })),
        "properties": query("properties", "the properties to return (Part 6)",
            json!({ "type": "array", "items": { "type": "string" } })),
        "sortby": query("sortby", "properties to sort by, each with + (ascending, default) or - (Part 8)", json!({ "type": "string" })),
        "filter": query("filter", "a CQL2 filter (Part 3)", json!({ "type": "string" })),
        "filter-lang": query("filter-lang", "the language of filter", json!({ "type": "string", "enum": ["cql2-text", "cql2-json"], "default": "cql2-text" })),
        "filter-crs": query("filter-crs", "the CRS of geometries in filter", json!({ "type": "string", "enum": crs })),
    });
    let link = json!({
        "type": "object", "required": ["href"],
        "properties": {
            "href": { "type": "string" }, "rel": { "type": "string" },
            "type": { "type": "string" }, "title": { "type": "string" }
        }
    });
    let exception = json!({
        "type": "object", "required": ["code"],
        "properties": { "code": { "type": "string" }, "description": { "type": "string" } }
    });
    let error = |description: &str| json!({ "description": description, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Exception" } } } });
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "Allmende – OGC API Features",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Every spatial dataset as a feature collection (OGC API – Features Parts 1, 2, 3).",
            "license": { "name": "EUPL-1.2" },
        },
        "servers": [{ "url": base.join("/ogc") }],
        "paths": paths,
        "components": {
            "parameters": parameters,
            "schemas": {
                "Link": link,
                "Exception": exception,
                "Collection": {
                    "type": "object", "required": ["id", "links"],
                    "properties": {
                        "id": { "type": "string" }, "title": { "type": "string" },
                        "itemType": { "type": "string" },
                        "crs": { "type": "array", "items": { "type": "string" } },
                        "links": { "type": "array", "items": { "$ref": "#/components/schemas/Link" } },
                    }
                },
                "Feature": {
                    "type": "object", "required": ["type", "geometry", "properties"],
                    "properties": {
                        "type": { "type": "string", "enum": ["Feature"] },
                        "id": { "oneOf": [{ "type": "string" }, { "type": "integer" }] },
                        "geometry": { "nullable": true, "type": "object" },
                        "properties": { "nullable": true, "type": "object" },
                    }
                },
            },
            "responses": {
                "InvalidParameter": error("a parameter is unknown or invalid"),
                "NotFound": error("no such collection or feature"),
                "ServerError": error("a server error"),
            },
        },
    })
}

pub async fn document(
    State(state): State<AppState>,
    base: BaseUrl,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let params = Params::parse(raw.as_deref(), &["f"])?;
    // The document itself is JSON unless HTML is asked for by name or by a browser.
    let repr = Representation::negotiate(params.get("f"), &headers)?;
    let snapshot = state.snapshot().await?;
    let collections: Vec<Described> = Collection::all(&snapshot)
        .map(|c| Described {
            id: c.id().to_owned(),
            properties: c
                .filter_properties()
                .map(|p| (p.name.clone(), property_schema(&p.data_type)))
                .collect(),
        })
        .collect();
    let body = document_for(&base, &collections);
    Ok(match repr {
        Representation::Json => json_response(&body, MEDIA_TYPE),
        Representation::Html => html::json_page("OpenAPI", &body),
    })
}
