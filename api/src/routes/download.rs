//! Downloads of the immutable distribution files: `Content-Type`, `Content-Length`, a strong
//! `ETag` (the file's SHA-256), `Last-Modified`, conditional GETs (304) and single byte ranges
//! (206), so GIS tools can read FlatGeobuf and Parquet files in parts.

use std::io::SeekFrom;
use std::time::SystemTime;

use allmende_catalog::{Format, Manifest, Version};
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio_util::io::ReaderStream;

use crate::error::ApiError;
use crate::state::{AppState, Snapshot};

pub async fn latest(
    State(state): State<AppState>,
    Path((id, file)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let snapshot = state.snapshot().await?;
    let manifest = dataset(&snapshot, &id)?;
    let version = manifest
        .latest()
        .ok_or_else(|| ApiError::not_found(format!("dataset '{id}' has no published version")))?;
    serve(
        &snapshot,
        manifest,
        version,
        &file,
        &headers,
        Caching::Latest,
    )
    .await
}

pub async fn version(
    State(state): State<AppState>,
    Path((id, n, file)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let snapshot = state.snapshot().await?;
    let manifest = dataset(&snapshot, &id)?;
    let number: u32 = n
        .parse()
        .map_err(|_| ApiError::bad_request(format!("'{n}' is not a version number")))?;
    let version = manifest
        .version(number)
        .ok_or_else(|| ApiError::not_found(format!("dataset '{id}' has no version {number}")))?;
    serve(
        &snapshot,
        manifest,
        version,
        &file,
        &headers,
        Caching::Immutable,
    )
    .await
}

fn dataset<'a>(snapshot: &'a Snapshot, id: &str) -> Result<&'a Manifest, ApiError> {
    snapshot
        .catalog
        .get(id)
        .ok_or_else(|| ApiError::not_found(format!("dataset '{id}' not found")))
}

/// A versioned URL always serves the same bytes; "latest" must be revalidated (cheaply, by ETag).
#[derive(Debug, Clone, Copy)]
enum Caching {
    Immutable,
    Latest,
}

async fn serve(
    state: &Snapshot,
    manifest: &Manifest,
    version: &Version,
    file: &str,
    headers: &HeaderMap,
    caching: Caching,
) -> Result<Response, ApiError> {
    let ext = file.strip_prefix("download.").ok_or_else(|| {
        ApiError::not_found(format!(
            "no resource '{file}' (downloads are download.csv, .parquet, .geojson, .fgb)"
        ))
    })?;
    let format = Format::from_extension(ext).ok_or_else(|| {
        ApiError::not_found(format!(
            "unknown download format '{ext}' (csv, parquet, geojson, fgb)"
        ))
    })?;
    let dist = version.distribution(format).ok_or_else(|| {
        ApiError::not_found(format!(
            "dataset '{}' has no {ext} download (only spatial datasets have geojson and fgb)",
            manifest.id
        ))
    })?;
    let path = state
        .catalog
        .file_path(&manifest.id, version.number, format);
    let etag = format!("\"{}\"", dist.sha256);
    let modified = httpdate::fmt_http_date(SystemTime::from(version.created));
    let size = dist.byte_size;

    let mut response_headers = HeaderMap::new();
    let mut set = |name: header::HeaderName, value: &str| {
        if let Ok(v) = HeaderValue::from_str(value) {
            response_headers.insert(name, v);
        }
    };
    set(header::ETAG, &etag);
    set(header::LAST_MODIFIED, &modified);
    set(header::ACCEPT_RANGES, "bytes");
    set(
        header::CACHE_CONTROL,
        match caching {
            Caching::Immutable => "public, max-age=31536000, immutable",
            Caching::Latest => "public, no-cache",
        },
    );
    set(
        header::CONTENT_DISPOSITION,
        &format!(
            "attachment; filename=\"{}-v{}.{ext}\"",
            manifest.id, version.number
        ),
    );

    if not_modified(headers, &etag, version.created.into()) {
        return Ok((StatusCode::NOT_MODIFIED, response_headers).into_response());
    }
    set(header::CONTENT_TYPE, format.media_type());

    let range = match headers.get(header::RANGE).and_then(|v| v.to_str().ok()) {
        Some(value) if if_range_matches(headers, &etag) => {
            match http_range_header::parse_range_header(value).and_then(|r| r.validate(size)) {
                Ok(ranges) if ranges.len() == 1 => Some(ranges[0].clone()),
                Ok(_) => None, // several ranges: the whole file is a valid answer
                Err(_) => {
                    set(header::CONTENT_RANGE, &format!("bytes */{size}"));
                    return Ok(
                        (StatusCode::RANGE_NOT_SATISFIABLE, response_headers).into_response()
                    );
                }
            }
        }
        _ => None,
    };

    let mut file = tokio::fs::File::open(&path)
        .await
        .map_err(|e| ApiError::internal(format!("{}: {e}", path.display())))?;
    let (status, start, len) = match range {
        Some(r) => {
            set(
                header::CONTENT_RANGE,
                &format!("bytes {}-{}/{size}", r.start(), r.end()),
            );
            (
                StatusCode::PARTIAL_CONTENT,
                *r.start(),
                r.end() - r.start() + 1,
            )
        }
        None => (StatusCode::OK, 0, size),
    };
    set(header::CONTENT_LENGTH, &len.to_string());
    if start > 0 {
        file.seek(SeekFrom::Start(start))
            .await
            .map_err(ApiError::internal)?;
    }
    let body = Body::from_stream(ReaderStream::with_capacity(file.take(len), 64 * 1024));
    Ok((status, response_headers, body).into_response())
}

/// `If-None-Match` wins over `If-Modified-Since` (RFC 9110 §13.2.2).
fn not_modified(headers: &HeaderMap, etag: &str, modified: SystemTime) -> bool {
    if let Some(inm) = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
    {
        return inm.split(',').any(|t| {
            let t = t.trim();
            t == "*" || t.trim_start_matches("W/") == etag
        });
    }
    if let Some(since) = headers
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| httpdate::parse_http_date(v).ok())
    {
        // HTTP dates have whole seconds.
        let modified_secs = modified
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let since_secs = since
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        return modified_secs <= since_secs;
    }
    false
}

/// A range applies unless `If-Range` names another representation.
fn if_range_matches(headers: &HeaderMap, etag: &str) -> bool {
    match headers.get(header::IF_RANGE).and_then(|v| v.to_str().ok()) {
        None => true,
        Some(v) => v.trim() == etag,
    }
}
