//! `/api/sql`: one read-only query, as JSON (`{columns, rows, truncated, next}`, capped) or,
//! streamed and complete, as CSV, GeoJSON, Parquet or an Arrow IPC stream. GET takes `q`; POST takes a form, a JSON body `{"q": …}` or plain SQL.

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use serde::Deserialize;

use crate::error::ApiError;
use crate::state::AppState;

#[derive(Debug, Default, Deserialize)]
pub struct SqlParams {
    q: Option<String>,
    format: Option<String>,
}

pub async fn get(
    State(state): State<AppState>,
    params: Result<Query<SqlParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(p) = params.map_err(|e| ApiError::bad_request(e.body_text()))?;
    run(&state, p.q, p.format).await
}

pub async fn post(
    State(state): State<AppState>,
    params: Result<Query<SqlParams>, axum::extract::rejection::QueryRejection>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let Query(mut p) = params.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let text =
        std::str::from_utf8(&body).map_err(|_| ApiError::bad_request("the body is not UTF-8"))?;
    let from_body: SqlParams = if content_type.starts_with("application/json") {
        serde_json::from_str(text)
            .map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))?
    } else if let Some(form) = content_type
        .starts_with("application/x-www-form-urlencoded")
        .then(|| serde_urlencoded::from_str::<SqlParams>(text).ok())
        .flatten()
        .filter(|f| f.q.is_some())
    {
        form
    } else {
        // Plain SQL in the body (also what `curl -d "SELECT …"` sends).
        SqlParams {
            q: (!text.trim().is_empty()).then(|| text.to_owned()),
            format: None,
        }
    };
    p.q = from_body.q.or(p.q);
    p.format = from_body.format.or(p.format);
    run(&state, p.q, p.format).await
}

async fn run(
    state: &AppState,
    q: Option<String>,
    format: Option<String>,
) -> Result<Response, ApiError> {
    let sql = q
        .filter(|q| !q.trim().is_empty())
        .ok_or_else(|| ApiError::bad_request("missing parameter q: the SQL query"))?;
    match format.as_deref().unwrap_or("json") {
        "json" => {
            let snapshot = state.snapshot().await?;
            let max = snapshot.engine.limits().max_json_rows;
            let (schema, batches, truncated) = snapshot.engine.collect(&sql, max).await?;
            let mut table = allmende_query::to_json_table(&schema, &batches, truncated)?;
            // Arbitrary SQL has no stable page order, so the honest "next" is the complete
            // result, streamed.
            table.next = truncated.then(|| {
                let query = serde_urlencoded::to_string([("format", "csv"), ("q", sql.as_str())])
                    .unwrap_or_default();
                format!("/api/sql?{query}")
            });
            Ok(Json(table).into_response())
        }
        name => {
            let format = allmende_query::Format::parse(name).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "unknown format '{name}' (json, csv, geojson, parquet, arrow)"
                ))
            })?;
            streamed(state, &sql, format).await
        }
    }
}

/// The whole result, encoded batch by batch as the engine produces it (bounded memory).
async fn streamed(
    state: &AppState,
    sql: &str,
    format: allmende_query::Format,
) -> Result<Response, ApiError> {
    let snapshot = state.snapshot().await?;
    let (schema, mut stream) = snapshot.engine.stream(sql).await?;
    let mut encoder = format.encoder(&schema)?;
    // The first batch is awaited here, so that an early failure is a proper error status.
    let (head, more) = match stream.next().await {
        Some(batch) => (encoder.batch(&batch?)?, true),
        None => (encoder.finish()?, false),
    };
    // The body owns the snapshot, so a catalogue reload cannot stop the engine under it.
    let state = more.then_some((encoder, stream, snapshot));
    let rest = futures::stream::unfold(state, |state| async move {
        let (mut encoder, mut stream, snapshot) = state?;
        match stream.next().await {
            Some(Ok(batch)) => match encoder.batch(&batch) {
                Ok(bytes) => Some((Ok(bytes), Some((encoder, stream, snapshot)))),
                Err(e) => Some((Err(e), None)),
            },
            Some(Err(e)) => Some((Err(e), None)),
            None => Some((encoder.finish(), None)),
        }
    });
    let body = futures::stream::once(async move { Ok(head) })
        .chain(rest)
        .filter(|chunk| futures::future::ready(!matches!(chunk, Ok(b) if b.is_empty())))
        .map(|chunk| chunk.map(Bytes::from).map_err(std::io::Error::other));
    let disposition = format!("attachment; filename=\"query.{}\"", format.extension());
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, format.content_type().to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        Body::from_stream(body),
    )
        .into_response())
}
