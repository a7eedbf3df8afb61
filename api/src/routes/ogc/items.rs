//! `/items` and `/items/{featureId}`: features as GeoJSON, streamed record batch by record
//! batch, so a page of 10 000 features is never held in memory as a whole.

use std::sync::Arc;

use allmende_query::datafusion::arrow::record_batch::RecordBatch;
use allmende_query::datafusion::common::{Column, ScalarValue};
use allmende_query::datafusion::prelude::{Expr, lit};
use allmende_query::{FeatureWriter, QueryError};
use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use futures::stream::BoxStream;
use serde_json::{Value, json};

use super::collections::Collection;
use super::crs::Supported;
use super::params::Params;
use super::{Representation, html, link, plan};
use crate::base_url::BaseUrl;
use crate::error::ApiError;
use crate::state::{AppState, Snapshot};

/// The parameters `/items` takes.
pub const ITEMS_PARAMS: &[&str] = &[
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
];

const GEOJSON: &str = "application/geo+json";

pub async fn items(
    State(state): State<AppState>,
    Path(id): Path<String>,
    base: BaseUrl,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let snapshot = state.snapshot().await?;
    let engine = &snapshot.engine;
    let collection = Collection::find(&snapshot, &id)?;
    // The standard parameters, and each simple property for equality (Part 1, fc-filters).
    let mut allowed: Vec<&str> = ITEMS_PARAMS.to_vec();
    allowed.extend(collection.filter_properties().map(|c| c.name.as_str()));
    let params = Params::parse(raw.as_deref(), &allowed)?;
    let repr = Representation::negotiate(params.get("f"), &headers)?;
    let limit = params.limit()?;
    let offset = params.integer("offset")?.unwrap_or(0);
    let crs = params.crs("crs")?;
    let id_column = collection.id_column(engine).await?;
    let df = plan::table(engine, &collection).await?;
    let df = plan::filtered(engine, &collection, df, &params)?;
    let matched = plan::count_rows(engine, df.clone()).await?;
    let df = plan::sorted(&collection, id_column.as_deref(), df, &params)?;
    let df = df.limit(offset, Some(limit)).map_err(ApiError::internal)?;
    let (df, id_hidden) =
        plan::projected(engine, &collection, id_column.as_deref(), df, &params, crs)?;
    let (schema, stream) = engine.stream_frame(df).await?;
    let mut writer = FeatureWriter::new(&schema, id_column.as_deref(), crs.lat_lon())?;
    if id_hidden {
        writer = writer.hide_id();
    }

    let href = base.join(&format!("/ogc/collections/{id}/items"));
    let page = |offset: usize, f: &str| {
        let offset = offset.to_string();
        let mut changes = vec![("offset", offset.as_str())];
        if !f.is_empty() {
            changes.push(("f", f));
        }
        format!("{href}?{}", params.with(&changes))
    };
    let mut links = vec![
        link(page(offset, "json"), "self", GEOJSON, "this page"),
        link(
            page(offset, "html"),
            "alternate",
            "text/html",
            "this page as HTML",
        ),
        link(
            base.join(&format!("/ogc/collections/{id}")),
            "collection",
            "application/json",
            "the collection",
        ),
    ];
    if (offset as u64).saturating_add(limit as u64) < matched {
        links.push(link(
            page(offset + limit, ""),
            "next",
            GEOJSON,
            "the next page",
        ));
    }
    if offset > 0 {
        links.push(link(
            page(offset.saturating_sub(limit), ""),
            "prev",
            GEOJSON,
            "the previous page",
        ));
    }
    let tail = Tail {
        matched,
        links,
        time_stamp: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    };
    let body = features_body(writer, stream, snapshot.clone(), tail).await?;
    match repr {
        Representation::Json => Ok(geojson_response(Body::from_stream(body), crs)),
        Representation::Html => {
            let bytes = collect(body).await?;
            let value: Value = serde_json::from_slice(&bytes).map_err(ApiError::internal)?;
            Ok(html::items(&collection.manifest.meta.title, &value))
        }
    }
}

/// What follows the features: counts, time stamp and links.
struct Tail {
    matched: u64,
    links: Vec<Value>,
    time_stamp: String,
}

type Batches = BoxStream<'static, Result<RecordBatch, QueryError>>;

/// The FeatureCollection as a stream of chunks. The first batch is awaited here, so that an
/// early failure is still an error status rather than a cut-off body.
async fn features_body(
    mut writer: FeatureWriter,
    mut stream: Batches,
    snapshot: Arc<Snapshot>,
    tail: Tail,
) -> Result<BoxStream<'static, Result<Bytes, std::io::Error>>, ApiError> {
    let mut head = br#"{"type":"FeatureCollection","features":["#.to_vec();
    let first = stream.next().await.transpose()?;
    let more = match &first {
        Some(batch) => {
            writer.write(batch, &mut head)?;
            true
        }
        None => false,
    };
    // The body owns the snapshot, so a catalogue reload cannot stop the engine under it.
    let state = Some((writer, stream, snapshot, tail, more));
    let rest = futures::stream::unfold(state, |state| async move {
        let (mut writer, mut stream, snapshot, tail, more) = state?;
        if more && let Some(batch) = stream.next().await {
            let mut out = Vec::new();
            let result = batch.and_then(|b| writer.write(&b, &mut out));
            return Some(match result {
                Ok(()) => (Ok(out), Some((writer, stream, snapshot, tail, true))),
                Err(e) => (Err(e), None),
            });
        }
        let end = json!({
            "numberMatched": tail.matched,
            "numberReturned": writer.written(),
            "timeStamp": tail.time_stamp,
            "links": tail.links,
        });
        // `],` then the object's members without its opening brace.
        let mut out = b"],".to_vec();
        out.extend_from_slice(&end.to_string().as_bytes()[1..]);
        Some((Ok(out), None))
    });
    Ok(futures::stream::once(async move { Ok(head) })
        .chain(rest)
        .filter(|chunk| futures::future::ready(!matches!(chunk, Ok(b) if b.is_empty())))
        .map(|chunk| chunk.map(Bytes::from).map_err(std::io::Error::other))
        .boxed())
}

async fn collect(
    mut body: BoxStream<'static, Result<Bytes, std::io::Error>>,
) -> Result<Vec<u8>, ApiError> {
    let mut out = Vec::new();
    while let Some(chunk) = body.next().await {
        out.extend_from_slice(&chunk.map_err(ApiError::internal)?);
    }
    Ok(out)
}

fn geojson_response(body: Body, crs: Supported) -> Response {
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(GEOJSON));
    if let Ok(v) = HeaderValue::from_str(&format!("<{}>", crs.uri())) {
        headers.insert("content-crs", v);
    }
    response
}

pub async fn item(
    State(state): State<AppState>,
    Path((id, fid)): Path<(String, String)>,
    base: BaseUrl,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let params = Params::parse(raw.as_deref(), &["f", "crs", "properties"])?;
    let repr = Representation::negotiate(params.get("f"), &headers)?;
    let crs = params.crs("crs")?;
    let snapshot = state.snapshot().await?;
    let engine = &snapshot.engine;
    let collection = Collection::find(&snapshot, &id)?;
    let missing = || ApiError::not_found(format!("no feature '{fid}' in collection '{id}'"));
    let id_column = collection.id_column(engine).await?.ok_or_else(missing)?;
    let df = plan::table(engine, &collection).await?;
    let field_type = df
        .schema()
        .field_with_unqualified_name(&id_column)
        .map_err(ApiError::internal)?
        .data_type()
        .clone();
    // A feature id that does not even parse as the id column's type names no feature.
    let value = ScalarValue::Utf8(Some(fid.clone()))
        .cast_to(&field_type)
        .ok()
        .filter(|v| !v.is_null())
        .ok_or_else(missing)?;
    let df = df
        .filter(Expr::Column(Column::new_unqualified(&id_column)).eq(lit(value)))
        .and_then(|df| df.limit(0, Some(1)))
        .map_err(ApiError::internal)?;
    let (df, id_hidden) = plan::projected(engine, &collection, Some(&id_column), df, &params, crs)?;
    let (schema, mut stream) = engine.stream_frame(df).await?;
    let mut writer = FeatureWriter::new(&schema, Some(&id_column), crs.lat_lon())?;
    if id_hidden {
        writer = writer.hide_id();
    }
    let mut out = Vec::new();
    while let Some(batch) = stream.next().await {
        writer.write(&batch?, &mut out)?;
    }
    if writer.written() == 0 {
        return Err(missing());
    }
    let mut feature: Value = serde_json::from_slice(&out).map_err(ApiError::internal)?;
    let href = base.join(&format!(
        "/ogc/collections/{id}/items/{}",
        super::path_segment(&fid)
    ));
    feature["links"] = json!([
        link(format!("{href}?f=json"), "self", GEOJSON, "this feature"),
        link(
            format!("{href}?f=html"),
            "alternate",
            "text/html",
            "this feature as HTML"
        ),
        link(
            base.join(&format!("/ogc/collections/{id}")),
            "collection",
            "application/json",
            "the collection",
        ),
    ]);
    Ok(match repr {
        Representation::Json => geojson_response(Body::from(feature.to_string()), crs),
        Representation::Html => html::json_page(&format!("{id} / {fid}"), &feature),
    })
}
