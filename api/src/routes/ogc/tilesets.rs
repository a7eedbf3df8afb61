//! The metadata of the vector tilesets: `/tiles` (the list), `/tiles/WebMercatorQuad` (the
//! tileset with its URL template, OGC API – Tiles) and `tilejson.json` (TileJSON 3.0 for
//! MapLibre and friends).

use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use serde_json::json;

use super::collections::Collection;
use super::params::Params;
use super::tiles::{MAX_ZOOM, MEDIA_TYPE, TMS};
use super::{json_response, link};
use crate::base_url::BaseUrl;
use crate::error::ApiError;
use crate::state::AppState;

const TMS_URI: &str = "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad";

/// `/tiles`: the tilesets of a collection (one, WebMercatorQuad).
pub async fn tilesets(
    State(state): State<AppState>,
    Path(id): Path<String>,
    base: BaseUrl,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    Params::parse(raw.as_deref(), &["f"])?;
    let snapshot = state.snapshot().await?;
    let c = Collection::find(&snapshot, &id)?;
    let body = json!({
        "links": [link(base.join(&format!("/ogc/collections/{id}/tiles")), "self", "application/json", "the tilesets")],
        "tilesets": [tileset_summary(&base, &c)],
    });
    Ok(json_response(&body, "application/json"))
}

fn tileset_summary(base: &BaseUrl, c: &Collection<'_>) -> serde_json::Value {
    let href = base.join(&format!("/ogc/collections/{}/tiles/{TMS}", c.id()));
    json!({
        "title": c.manifest.meta.title,
        "dataType": "vector",
        "crs": "http://www.opengis.net/def/crs/EPSG/0/3857",
        "tileMatrixSetURI": TMS_URI,
        "links": [
            link(href.clone(), "self", "application/json", "the tileset"),
            link(TMS_URI.to_owned(), "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme", "application/json", TMS),
            link(format!("{href}/tilejson.json"), "describedby", "application/json", "TileJSON"),
        ],
    })
}

/// `/tiles/WebMercatorQuad`: the tileset metadata with the tile URL template.
pub async fn tileset(
    State(state): State<AppState>,
    Path((id, tms)): Path<(String, String)>,
    base: BaseUrl,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    Params::parse(raw.as_deref(), &["f"])?;
    if tms != TMS {
        return Err(ApiError::not_found(format!(
            "no tile matrix set '{tms}' (only {TMS})"
        )));
    }
    let snapshot = state.snapshot().await?;
    let c = Collection::find(&snapshot, &id)?;
    let mut body = tileset_summary(&base, &c);
    let href = base.join(&format!("/ogc/collections/{id}/tiles/{TMS}"));
    if let Some(links) = body["links"].as_array_mut() {
        let mut item = link(
            format!("{href}/{{tileMatrix}}/{{tileRow}}/{{tileCol}}"),
            "item",
            MEDIA_TYPE,
            "a tile",
        );
        item["templated"] = json!(true);
        links.push(item);
    }
    let bbox = c.version.geometry.as_ref().and_then(|g| g.bbox);
    body["layers"] = json!([{
        "id": c.id(),
        "dataType": "vector",
        "geometryType": geometry_type(&c),
        "minTileMatrix": "0",
        "maxTileMatrix": MAX_ZOOM.to_string(),
    }]);
    if let Some(b) = bbox {
        body["boundingBox"] = json!({
            "lowerLeft": [b[0], b[1]], "upperRight": [b[2], b[3]],
            "crs": super::crs::CRS84,
        });
    }
    Ok(json_response(&body, "application/json"))
}

fn geometry_type(c: &Collection<'_>) -> &'static str {
    let types = c
        .version
        .geometry
        .as_ref()
        .map(|g| g.types.join(","))
        .unwrap_or_default();
    if types.contains("Polygon") {
        "polygons"
    } else if types.contains("LineString") {
        "lines"
    } else {
        "points"
    }
}

/// `/tiles/WebMercatorQuad/tilejson.json`: TileJSON 3.0 for MapLibre and friends.
pub async fn tilejson(
    State(state): State<AppState>,
    Path((id, tms)): Path<(String, String)>,
    base: BaseUrl,
) -> Result<Response, ApiError> {
    if tms != TMS {
        return Err(ApiError::not_found(format!(
            "no tile matrix set '{tms}' (only {TMS})"
        )));
    }
    let snapshot = state.snapshot().await?;
    let c = Collection::find(&snapshot, &id)?;
    let fields: serde_json::Map<String, serde_json::Value> = c
        .properties()
        .map(|p| {
            let t = match p.data_type.as_str() {
                "integer" | "number" => "Number",
                "boolean" => "Boolean",
                _ => "String",
            };
            (p.name.clone(), json!(t))
        })
        .collect();
    let bbox = c.version.geometry.as_ref().and_then(|g| g.bbox).unwrap_or([
        -180.0,
        -85.051_128_78,
        180.0,
        85.051_128_78,
    ]);
    let body = json!({
        "tilejson": "3.0.0",
        "name": c.manifest.meta.title,
        "attribution": c.manifest.meta.attribution,
        "tiles": [base.join(&format!("/ogc/collections/{id}/tiles/{TMS}/{{z}}/{{y}}/{{x}}"))],
        "minzoom": 0,
        "maxzoom": MAX_ZOOM,
        "bounds": bbox,
        "vector_layers": [{ "id": c.id(), "fields": fields, "minzoom": 0, "maxzoom": MAX_ZOOM }],
    });
    Ok(json_response(&body, "application/json"))
}
