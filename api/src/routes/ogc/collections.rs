//! `/ogc/collections`, `/ogc/collections/{id}` and `/queryables`: every spatial dataset as a
//! feature collection, described from its manifest (extent in CRS84, temporal extent, the
//! offered CRSs) without reading its data.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use allmende_catalog::{Column, Manifest, Version};
use allmende_query::QueryEngine;
use allmende_query::datafusion;
use allmende_query::datafusion::arrow::array::{Array, AsArray};
use allmende_query::datafusion::arrow::datatypes::Int64Type;
use allmende_query::datafusion::functions_aggregate::expr_fn::count_distinct;
use allmende_query::datafusion::prelude::Expr;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use futures::StreamExt;
use serde_json::{Value, json};

use super::crs::{ALL, CRS84};
use super::params::Params;
use super::{Representation, html, json_response, link, self_links};
use crate::base_url::BaseUrl;
use crate::error::ApiError;
use crate::state::{AppState, Snapshot};

/// A spatial dataset's latest version, the data of one collection; or the latest values of a
/// time series (`<id>-latest`, described by a manifest made up for it, read from SQL's
/// `<table>__latest`).
pub struct Collection<'a> {
    pub manifest: &'a Manifest,
    pub version: &'a Version,
    /// The SQL table the features are read from.
    pub table: String,
}

impl<'a> Collection<'a> {
    /// The collection `id`: a spatial dataset of the catalogue, or a time series' latest values.
    pub fn find(snapshot: &'a Snapshot, id: &str) -> Result<Collection<'a>, ApiError> {
        Collection::all(snapshot)
            .find(|c| c.id() == id)
            .ok_or_else(|| ApiError::not_found(format!("no collection '{id}'")))
    }

    /// Like [`Collection::find`], among the datasets of `catalog` only.
    #[cfg(test)]
    pub fn find_in(
        catalog: &'a allmende_catalog::Catalog,
        id: &str,
    ) -> Result<Collection<'a>, ApiError> {
        catalog
            .get(id)
            .and_then(Collection::of)
            .ok_or_else(|| ApiError::not_found(format!("no collection '{id}'")))
    }

    fn of(manifest: &'a Manifest) -> Option<Collection<'a>> {
        let version = manifest.latest()?;
        version.geometry.as_ref()?;
        Some(Collection {
            manifest,
            version,
            table: allmende_catalog::table_name(&manifest.id),
        })
    }

    /// Every collection: the spatial datasets, then the time series' latest values.
    pub fn all(snapshot: &'a Snapshot) -> impl Iterator<Item = Collection<'a>> {
        let live = snapshot.live_collections.iter().filter_map(|m| {
            let parent = m.id.strip_suffix("-latest")?;
            Some(Collection {
                table: crate::live::latest_table(parent),
                ..Collection::of(m)?
            })
        });
        snapshot
            .catalog
            .datasets()
            .filter_map(Collection::of)
            .chain(live)
    }

    pub fn id(&self) -> &str {
        &self.manifest.id
    }

    pub fn geometry_column(&self) -> &str {
        self.version
            .geometry
            .as_ref()
            .map_or("geometry", |g| g.column.as_str())
    }

    /// Columns that may identify features: text or integer, without nulls, with about as
    /// many distinct values as rows (the ingest's count is an estimate), names that sound like
    /// an identifier first.
    fn id_candidates(&self) -> Vec<&Column> {
        let rows = self.version.row_count;
        let mut candidates: Vec<&Column> = self
            .version
            .columns
            .iter()
            .filter(|c| {
                matches!(c.data_type.as_str(), "string" | "integer")
                    && c.null_count == 0
                    && rows > 0
                    && c.distinct.is_some_and(|d| d * 100 >= rows * 95)
            })
            .collect();
        let sounds_like_id = |c: &Column| {
            let n = c.name.to_lowercase();
            ["id", "nummer", "nr", "code", "key", "schlüssel", "kennung"]
                .iter()
                .any(|w| n == *w || n.ends_with(w) || n.starts_with(w))
        };
        candidates.sort_by_key(|c| !sounds_like_id(c));
        candidates
    }

    /// The column whose values identify features (`/items/{featureId}`): the first candidate
    /// that really is unique, checked once per version with `count(DISTINCT …)`.
    pub async fn id_column(&self, engine: &QueryEngine) -> Result<Option<String>, ApiError> {
        type Cache = Mutex<HashMap<(String, u32, i64), Option<String>>>;
        static CACHE: OnceLock<Cache> = OnceLock::new();
        let key = (
            self.id().to_owned(),
            self.version.number,
            self.version.created.timestamp_micros(),
        );
        let cache = CACHE.get_or_init(Cache::default);
        if let Some(found) = cache.lock().ok().and_then(|c| c.get(&key).cloned()) {
            return Ok(found);
        }
        let candidates = self.id_candidates();
        let mut found = None;
        if !candidates.is_empty() {
            let df = super::plan::table(engine, self).await?;
            let aggregates = candidates
                .iter()
                .map(|c| {
                    count_distinct(Expr::Column(datafusion::common::Column::new_unqualified(
                        &c.name,
                    )))
                })
                .collect();
            let df = df
                .aggregate(vec![], aggregates)
                .map_err(ApiError::internal)?;
            let (_, mut stream) = engine.stream_frame(df).await?;
            if let Some(batch) = stream.next().await {
                let batch = batch?;
                for (i, c) in candidates.iter().enumerate() {
                    let distinct = batch
                        .column(i)
                        .as_primitive_opt::<Int64Type>()
                        .filter(|a| !a.is_empty())
                        .map(|a| a.value(0));
                    if distinct == Some(self.version.row_count as i64) {
                        found = Some(c.name.clone());
                        break;
                    }
                }
            }
        }
        if let Ok(mut c) = cache.lock() {
            c.insert(key, found.clone());
        }
        Ok(found)
    }

    /// The first date or time column: what `datetime` filters on.
    pub fn time_column(&self) -> Option<&Column> {
        self.version
            .columns
            .iter()
            .find(|c| matches!(c.data_type.as_str(), "date" | "datetime"))
    }

    /// The properties (every column but the geometry).
    pub fn properties(&self) -> impl Iterator<Item = &Column> {
        let geometry = self.geometry_column().to_owned();
        self.version
            .columns
            .iter()
            .filter(move |c| c.name != geometry && c.data_type != "geometry")
    }

    /// The properties `/items` takes as equality filters (`?Name=Ahlen`): those of simple
    /// types whose names are not a standard parameter.
    pub fn filter_properties(&self) -> impl Iterator<Item = &Column> {
        self.properties().filter(|c| {
            matches!(
                c.data_type.as_str(),
                "string" | "integer" | "number" | "boolean" | "date"
            ) && !super::items::ITEMS_PARAMS.contains(&c.name.as_str())
        })
    }

    /// The collection's JSON description.
    pub fn describe(&self, base: &BaseUrl) -> Value {
        let id = self.id();
        let href = base.join(&format!("/ogc/collections/{id}"));
        let bbox = self
            .version
            .geometry
            .as_ref()
            .and_then(|g| g.bbox)
            .map_or(json!([[-180.0, -90.0, 180.0, 90.0]]), |b| json!([b]));
        let interval = self
            .version
            .temporal
            .as_ref()
            .map_or(json!([[null, null]]), |t| json!([[t.start, t.end]]));
        let mut links = vec![
            link(href.clone(), "self", "application/json", "this collection"),
            link(
                format!("{href}?f=html"),
                "alternate",
                "text/html",
                "this collection as HTML",
            ),
            link(
                format!("{href}/items"),
                "items",
                "application/geo+json",
                "the features as GeoJSON",
            ),
            link(
                format!("{href}/items?f=html"),
                "items",
                "text/html",
                "the features as HTML",
            ),
            link(
                format!("{href}/queryables"),
                "http://www.opengis.net/def/rel/ogc/1.0/queryables",
                "application/schema+json",
                "the properties filters may use",
            ),
            link(
                format!("{href}/sortables"),
                "http://www.opengis.net/def/rel/ogc/1.0/sortables",
                "application/schema+json",
                "the properties sortby may use",
            ),
            link(
                format!("{href}/tiles"),
                "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector",
                "application/json",
                "the vector tilesets",
            ),
        ];
        for (ext, media) in [
            ("parquet", "application/vnd.apache.parquet"),
            ("fgb", "application/flatgeobuf"),
            ("geojson", "application/geo+json"),
        ] {
            links.push(link(
                base.join(&format!("/api/datasets/{id}/download.{ext}")),
                "enclosure",
                media,
                "the whole dataset",
            ));
        }
        json!({
            "id": id,
            "title": self.manifest.meta.title,
            "description": self.manifest.meta.description,
            "keywords": self.manifest.meta.keywords,
            "attribution": self.manifest.meta.attribution,
            "itemType": "feature",
            "extent": {
                "spatial": { "bbox": bbox, "crs": CRS84 },
                "temporal": {
                    "interval": interval,
                    "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"
                }
            },
            "crs": ALL.iter().map(|c| c.uri()).collect::<Vec<_>>(),
            "storageCrs": CRS84,
            "links": links,
        })
    }

    /// The queryables as a JSON Schema (Part 3).
    pub fn queryables(&self, base: &BaseUrl) -> Value {
        let mut properties = serde_json::Map::new();
        properties.insert(
            self.geometry_column().to_owned(),
            json!({ "format": "geometry-any", "title": "geometry" }),
        );
        for column in self.properties() {
            let mut schema = match column.data_type.as_str() {
                "integer" => json!({ "type": "integer" }),
                "number" => json!({ "type": "number" }),
                "boolean" => json!({ "type": "boolean" }),
                "date" => json!({ "type": "string", "format": "date" }),
                "datetime" => json!({ "type": "string", "format": "date-time" }),
                _ => json!({ "type": "string" }),
            };
            schema["title"] = json!(column.name);
            if let Some(d) = &column.description {
                schema["description"] = json!(d);
            }
            properties.insert(column.name.clone(), schema);
        }
        json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": base.join(&format!("/ogc/collections/{}/queryables", self.id())),
            "type": "object",
            "title": self.manifest.meta.title,
            "properties": properties,
            "additionalProperties": false,
        })
    }
}

pub async fn list(
    State(state): State<AppState>,
    base: BaseUrl,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let params = Params::parse(raw.as_deref(), &["f"])?;
    let repr = Representation::negotiate(params.get("f"), &headers)?;
    let snapshot = state.snapshot().await?;
    let collections: Vec<Value> = Collection::all(&snapshot)
        .map(|c| c.describe(&base))
        .collect();
    let body = json!({
        "links": self_links(&base.join("/ogc/collections"), "application/json", repr),
        "collections": collections,
    });
    Ok(match repr {
        Representation::Json => json_response(&body, "application/json"),
        Representation::Html => html::collections(&body),
    })
}

pub async fn one(
    State(state): State<AppState>,
    Path(id): Path<String>,
    base: BaseUrl,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let params = Params::parse(raw.as_deref(), &["f"])?;
    let repr = Representation::negotiate(params.get("f"), &headers)?;
    let snapshot = state.snapshot().await?;
    let body = Collection::find(&snapshot, &id)?.describe(&base);
    Ok(match repr {
        Representation::Json => json_response(&body, "application/json"),
        Representation::Html => html::collection(&body),
    })
}

pub async fn queryables(
    State(state): State<AppState>,
    Path(id): Path<String>,
    base: BaseUrl,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    schema_document(&state, &id, &base, raw, &headers, false).await
}

/// `/sortables` (Part 8): the queryables without the geometry, which has no order.
pub async fn sortables(
    State(state): State<AppState>,
    Path(id): Path<String>,
    base: BaseUrl,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    schema_document(&state, &id, &base, raw, &headers, true).await
}

async fn schema_document(
    state: &AppState,
    id: &str,
    base: &BaseUrl,
    raw: Option<String>,
    headers: &HeaderMap,
    sortables: bool,
) -> Result<Response, ApiError> {
    let params = Params::parse(raw.as_deref(), &["f"])?;
    let repr = Representation::negotiate(params.get("f"), headers)?;
    let snapshot = state.snapshot().await?;
    let collection = Collection::find(&snapshot, id)?;
    let mut body = collection.queryables(base);
    let title = if sortables {
        if let Some(p) = body["properties"].as_object_mut() {
            p.remove(collection.geometry_column());
        }
        body["$id"] = json!(base.join(&format!("/ogc/collections/{id}/sortables")));
        "Sortables"
    } else {
        "Queryables"
    };
    Ok(match repr {
        Representation::Json => json_response(&body, "application/schema+json"),
        Representation::Html => html::json_page(title, &body),
    })
}
