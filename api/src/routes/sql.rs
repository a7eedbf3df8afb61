//! `/api/sql`: one read-only query, as JSON (`{columns, rows, truncated}`, capped) or CSV
//! (streamed, complete). GET takes `q`; POST takes a form, a JSON body `{"q": …}` or plain SQL.

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
            let table = allmende_query::to_json_table(&schema, &batches, truncated)?;
            Ok(Json(table).into_response())
        }
        "csv" => {
            let snapshot = state.snapshot().await?;
            let (schema, mut stream) = snapshot.engine.stream(&sql).await?;
            // The first batch is awaited here, so that an early failure is a proper error status.
            let first = match stream.next().await {
                Some(batch) => Some(batch?),
                None => None,
            };
            let head = match &first {
                Some(b) => allmende_query::to_csv(b, true)?,
                None => allmende_query::to_csv(
                    &arrow::record_batch::RecordBatch::new_empty(schema),
                    true,
                )?,
            };
            // The body owns the snapshot, so a catalogue reload cannot stop the engine under it.
            let rest = stream.map(move |batch| -> Result<Bytes, std::io::Error> {
                let _engine = &snapshot;
                let batch = batch.map_err(std::io::Error::other)?;
                allmende_query::to_csv(&batch, false)
                    .map(Bytes::from)
                    .map_err(std::io::Error::other)
            });
            let body = Body::from_stream(
                futures::stream::once(async move { Ok::<_, std::io::Error>(Bytes::from(head)) })
                    .chain(rest),
            );
            Ok((
                StatusCode::OK,
                [
                    (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                    (
                        header::CONTENT_DISPOSITION,
                        "attachment; filename=\"query.csv\"",
                    ),
                ],
                body,
            )
                .into_response())
        }
        other => Err(ApiError::bad_request(format!(
            "unknown format '{other}' (json, csv)"
        ))),
    }
}
