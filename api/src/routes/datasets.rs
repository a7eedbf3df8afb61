//! `/api/datasets` (search with facets) and `/api/datasets/{id}` (metadata, schema, extent,
//! versions, distributions).

use allmende_catalog::{
    CatalogError, Cursor, Manifest, SearchQuery, Sort, Version, licence_by_id, table_name,
};
use axum::Json;
use axum::extract::{Path, Query, State};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::state::AppState;

#[derive(Debug, Deserialize, Serialize)]
pub struct ListParams {
    #[serde(skip_serializing_if = "Option::is_none")]
    q: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    keyword: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    publisher: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    licence: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    format: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    theme: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bbox: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sort: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    limit: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    offset: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cursor: Option<String>,
}

/// The largest page; there is no cap on how far paging goes (`offset` or `cursor`).
const MAX_LIMIT: usize = 1000;

pub async fn list(
    State(state): State<AppState>,
    params: Result<Query<ListParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(p) = params.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let bbox = p.bbox.as_deref().map(parse_bbox).transpose()?;
    let limit = p.limit.unwrap_or(100);
    if limit > MAX_LIMIT {
        return Err(ApiError::bad_request(format!(
            "limit must be at most {MAX_LIMIT}"
        )));
    }
    let bad = |e: CatalogError| ApiError::bad_request(e.to_string());
    let sort: Option<Sort> = p.sort.as_deref().map(str::parse).transpose().map_err(bad)?;
    let cursor: Option<Cursor> = p
        .cursor
        .as_deref()
        .map(str::parse)
        .transpose()
        .map_err(bad)?;
    if let Some(cursor) = &cursor {
        if p.offset.is_some() {
            return Err(ApiError::bad_request(
                "give either offset or cursor, not both",
            ));
        }
        if sort.is_some_and(|s| s != cursor.sort()) {
            return Err(ApiError::bad_request(format!(
                "this cursor continues sort={}; keep the sort of the first page",
                cursor.sort()
            )));
        }
    }
    let query = SearchQuery {
        q: p.q.clone(),
        keyword: p.keyword.clone(),
        publisher: p.publisher.clone(),
        licence: p.licence.clone(),
        format: p.format.clone(),
        theme: p.theme.clone(),
        bbox,
        sort: sort.unwrap_or_default(),
        limit,
        offset: p.offset.unwrap_or(0),
        cursor,
    };
    let snapshot = state.snapshot().await?;
    let result = snapshot
        .catalog
        .try_search(&query)
        .map_err(ApiError::internal)?;
    let next = match &result.next_cursor {
        Some(cursor) => {
            let params = ListParams {
                offset: None,
                cursor: Some(cursor.to_string()),
                ..p
            };
            let query = serde_urlencoded::to_string(&params).map_err(ApiError::internal)?;
            Some(format!("/api/datasets?{query}"))
        }
        None => None,
    };
    Ok(Json(json!({
        "total": result.total,
        "limit": limit,
        "offset": result.offset,
        "datasets": result.datasets.iter().map(|m| summary(m)).collect::<Vec<_>>(),
        "facets": result.facets,
        "next_cursor": result.next_cursor,
        "next": next,
    })))
}

fn parse_bbox(s: &str) -> Result<[f64; 4], ApiError> {
    let v: Vec<f64> = s
        .split(',')
        .map(|x| x.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|_| {
            ApiError::bad_request("bbox must be four numbers: minLon,minLat,maxLon,maxLat")
        })?;
    match v.as_slice() {
        &[a, b, c, d] if a <= c && b <= d => Ok([a, b, c, d]),
        _ => Err(ApiError::bad_request(
            "bbox must be four numbers: minLon,minLat,maxLon,maxLat with min ≤ max",
        )),
    }
}

fn licence(id: &str) -> Value {
    match licence_by_id(id) {
        Some(l) => json!({ "id": l.id, "name": l.name, "uri": l.uri() }),
        None => json!({ "id": id }),
    }
}

fn summary(m: &Manifest) -> Value {
    let latest = m.latest();
    json!({
        "id": m.id,
        "title": m.meta.title,
        "description": m.meta.description,
        "publisher": m.meta.publisher,
        "licence": licence(&m.meta.licence),
        "keywords": m.meta.keywords,
        "table": table_name(&m.id),
        "version": latest.map(|v| v.number),
        "modified": latest.map(|v| v.created),
        "row_count": latest.map(|v| v.row_count),
        "bbox": latest.and_then(|v| v.geometry.as_ref()).and_then(|g| g.bbox),
        "url": format!("/api/datasets/{}", m.id),
    })
}

fn distributions(id: &str, v: &Version, latest: bool) -> Vec<Value> {
    v.distributions
        .iter()
        .map(|d| {
            let ext = d.format.extension();
            json!({
                "format": ext,
                "media_type": d.media_type,
                "byte_size": d.byte_size,
                "sha256": d.sha256,
                "url": if latest { format!("/api/datasets/{id}/download.{ext}") } else { format!("/api/datasets/{id}/versions/{}/download.{ext}", v.number) },
                "version_url": format!("/api/datasets/{id}/versions/{}/download.{ext}", v.number),
            })
        })
        .collect()
}

pub async fn detail(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let snapshot = state.snapshot().await?;
    let m = snapshot
        .catalog
        .get(&id)
        .ok_or_else(|| ApiError::not_found(format!("dataset '{id}' not found")))?;
    let latest = m
        .latest()
        .ok_or_else(|| ApiError::not_found(format!("dataset '{id}' has no published version")))?;
    let versions: Vec<Value> = m
        .versions
        .iter()
        .rev()
        .map(|v| {
            json!({
                "number": v.number,
                "created": v.created,
                "row_count": v.row_count,
                "rejected_rows": v.rejected_rows,
                "changes": v.changes,
                "temporal": v.temporal,
                "source": v.source,
                "distributions": distributions(&m.id, v, false),
            })
        })
        .collect();
    Ok(Json(json!({
        "id": m.id,
        "title": m.meta.title,
        "description": m.meta.description,
        "publisher": m.meta.publisher,
        "licence": licence(&m.meta.licence),
        "attribution": m.meta.attribution,
        "keywords": m.meta.keywords,
        "theme": m.meta.theme,
        "publisher_url": m.meta.publisher_url,
        "contact": m.meta.contact,
        "frequency": m.meta.frequency,
        "languages": if m.meta.languages.is_empty() { vec!["de".to_owned()] } else { m.meta.languages.clone() },
        "ags": m.meta.ags,
        "temporal": latest.temporal,
        "metadata_history": m.meta_history,
        "table": table_name(&m.id),
        "version": latest.number,
        "modified": latest.created,
        "issued": m.versions.first().map(|v| v.created),
        "row_count": latest.row_count,
        "schema": latest.columns,
        "geometry": latest.geometry,
        "extent": { "spatial": { "bbox": latest.geometry.as_ref().and_then(|g| g.bbox), "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84" } },
        "source": latest.source,
        "distributions": distributions(&m.id, latest, true),
        "versions": versions,
        "timeseries": crate::live::describe(state.root(), &m.id),
    })))
}
