//! The admin API: write a dataset's `dataset.toml` (its metadata and how its source is read)
//! and upload a new source file, which is ingested as the next version. Every handler takes
//! [`Admin`], so without a valid bearer token the answer is 401 and nothing changes.

mod tokens;

use std::path::{Path as FsPath, PathBuf};

use allmende_catalog::{Catalog, CatalogError, is_valid_id};
use allmende_ingest::{CONFIG_FILE, DatasetSpec, DatasetToml, IngestError, IngestOptions, Outcome};
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use futures::StreamExt;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;

pub use tokens::{Admin, AdminTokens};

use crate::error::ApiError;
use crate::state::AppState;

/// Largest accepted upload.
const MAX_UPLOAD: u64 = 2 * 1024 * 1024 * 1024;

/// `PUT /api/datasets/{id}/dataset.toml`: stores the configuration for the next ingest and,
/// when the dataset is published, applies its metadata now (the old state is kept in the
/// manifest's `meta_history`).
pub async fn put_config(
    _: Admin,
    State(state): State<AppState>,
    Path(id): Path<String>,
    text: String,
) -> Result<Json<Value>, ApiError> {
    check_id(&id)?;
    let toml = DatasetToml::parse(&text)
        .map_err(|e| ApiError::bad_request(format!("dataset.toml: {e}")))?;
    toml.series()
        .map_err(|e| ApiError::bad_request(format!("dataset.toml: {e}")))?;
    if let Some(own) = &toml.id
        && *own != id
    {
        return Err(ApiError::bad_request(format!(
            "dataset.toml: id = \"{own}\" does not match the URL's '{id}'"
        )));
    }
    let meta = toml
        .meta(&id)
        .map_err(|e| ApiError::bad_request(format!("dataset.toml: {e}")))?;
    let root = state.root().to_owned();
    let dir = Catalog::dataset_dir(&root, &id);
    let published = dir.join("manifest.json").is_file();
    let result = tokio::task::spawn_blocking(move || -> Result<Option<u32>, ApiError> {
        std::fs::create_dir_all(&dir).map_err(ApiError::internal)?;
        write_atomically(&dir.join(CONFIG_FILE), text.as_bytes())?;
        if !published {
            return Ok(None);
        }
        let manifest = Catalog::update_meta(&root, &id, meta).map_err(ApiError::internal)?;
        Ok(Some(manifest.meta_history.len() as u32))
    })
    .await
    .map_err(ApiError::internal)??;
    Ok(Json(json!({
        "stored": CONFIG_FILE,
        "published": published,
        "metadata_edits": result,
    })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UploadParams {
    /// The file's name; its extension tells the format.
    filename: String,
    #[serde(default)]
    append: bool,
    #[serde(default)]
    accept_rejects: bool,
}

/// `POST /api/datasets/{id}/source?filename=…`: the body is a new source file. It is streamed
/// to disk and ingested with the stored dataset.toml: 201 with the report when a version is
/// published, 200 when nothing changed, 422 with the report when rows were rejected (the
/// previous version stays served).
pub async fn upload(
    _: Admin,
    State(state): State<AppState>,
    Path(id): Path<String>,
    params: Result<Query<UploadParams>, axum::extract::rejection::QueryRejection>,
    body: Body,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    check_id(&id)?;
    let Query(params) = params.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let name = safe_file_name(&params.filename)?;
    let root = state.root().to_owned();
    let config = Catalog::dataset_dir(&root, &id).join(CONFIG_FILE);
    if !config.is_file() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "NoConfiguration",
            format!(
                "dataset '{id}' has no dataset.toml yet: PUT one to /api/datasets/{id}/dataset.toml first"
            ),
        ));
    }
    let uploads = Catalog::dataset_dir(&root, &id).join("uploads");
    tokio::fs::create_dir_all(&uploads)
        .await
        .map_err(ApiError::internal)?;
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ");
    let file = uploads.join(format!("{stamp}-{name}"));
    receive(body, &file).await?;

    let options = IngestOptions {
        append: params.append,
        accept_rejects: params.accept_rejects,
        force: false,
    };
    let outcome = tokio::task::spawn_blocking(move || {
        DatasetSpec::resolve_with(&config, Some(&id), Some(&file))
            .and_then(|spec| allmende_ingest::ingest(&spec, &root, options))
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(ingest_error)?;
    Ok(match outcome {
        Outcome::Published {
            version, report, ..
        } => (
            StatusCode::CREATED,
            Json(json!({ "published": true, "version": version, "report": report })),
        ),
        Outcome::Observations { import } => (
            StatusCode::OK,
            Json(json!({ "published": false, "observations": import })),
        ),
        Outcome::Unchanged { version } => (
            StatusCode::OK,
            Json(json!({ "published": false, "unchanged": true, "version": version })),
        ),
        Outcome::Held { report, .. } => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({
                "published": false,
                "description": format!(
                    "{} rows were rejected, so nothing was published; fix the file or repeat with accept_rejects=true",
                    report.rejected.len()
                ),
                "report": report,
            })),
        ),
    })
}

/// Streams a request body into `path`, refusing more than [`MAX_UPLOAD`] bytes.
async fn receive(body: Body, path: &FsPath) -> Result<(), ApiError> {
    let mut out = tokio::fs::File::create(path)
        .await
        .map_err(ApiError::internal)?;
    let mut stream = body.into_data_stream();
    let mut size = 0u64;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| ApiError::bad_request(format!("upload broke off: {e}")))?;
        size += chunk.len() as u64;
        if size > MAX_UPLOAD {
            drop(out);
            let _ = tokio::fs::remove_file(path).await;
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "TooLarge",
                format!("uploads are limited to {MAX_UPLOAD} bytes"),
            ));
        }
        out.write_all(&chunk).await.map_err(ApiError::internal)?;
    }
    out.sync_all().await.map_err(ApiError::internal)
}

fn check_id(id: &str) -> Result<(), ApiError> {
    if is_valid_id(id) {
        Ok(())
    } else {
        Err(ApiError::bad_request(
            CatalogError::InvalidId(id.to_owned()).to_string(),
        ))
    }
}

/// A file name without folders or surprises: letters, digits, `.`, `-`, `_`.
fn safe_file_name(name: &str) -> Result<String, ApiError> {
    let ok = !name.is_empty()
        && name.len() <= 200
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if ok {
        Ok(name.to_owned())
    } else {
        Err(ApiError::bad_request(
            "filename: use letters, digits, '.', '-' and '_' only, with an extension (e.g. haushalt-2025.csv)",
        ))
    }
}

/// Input problems are the client's (422 with the message: file, line, column); the rest ours.
fn ingest_error(e: IngestError) -> ApiError {
    match e {
        IngestError::Io { .. } | IngestError::Write { .. } | IngestError::Catalog(_) => {
            ApiError::internal(e)
        }
        other => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "IngestFailed",
            other.to_string(),
        ),
    }
}

fn write_atomically(path: &PathBuf, bytes: &[u8]) -> Result<(), ApiError> {
    let temp = path.with_extension("toml.tmp");
    std::fs::write(&temp, bytes).map_err(ApiError::internal)?;
    std::fs::rename(&temp, path).map_err(ApiError::internal)
}
