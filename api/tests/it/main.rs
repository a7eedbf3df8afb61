//! The router on a temp data root, driven with tower's `oneshot`: the HTTP edge cases of
//! downloads and errors, without a socket.

use std::path::Path;

use allmende_api::{AppState, router};
use allmende_ingest::{DatasetSpec, IngestOptions, ingest};
use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode};
use tower::ServiceExt;

async fn state_with_districts() -> (tempfile::TempDir, AppState) {
    let root = tempfile::tempdir().expect("tempdir");
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("../datasets/wahlbezirke-karlsruhe");
    let spec = DatasetSpec::resolve(&folder, None).expect("resolve");
    ingest(&spec, root.path(), IngestOptions::default()).expect("ingest");
    let state = AppState::open(root.path(), allmende_query::Limits::default())
        .await
        .expect("state");
    (root, state)
}

async fn call(
    state: &AppState,
    request: Request<Body>,
) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let response = router(state.clone())
        .oneshot(request)
        .await
        .expect("response");
    let status = response.status();
    let headers = response.headers().clone();
    let body = to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("body")
        .to_vec();
    (status, headers, body)
}

fn get(uri: &str) -> axum::http::request::Builder {
    Request::builder().uri(uri)
}

const FGB: &str = "/api/datasets/wahlbezirke-karlsruhe/download.fgb";

#[tokio::test]
async fn if_modified_since_and_if_range_follow_rfc_9110() {
    let (_root, state) = state_with_districts().await;
    let (status, headers, body) =
        call(&state, get(FGB).body(Body::empty()).expect("request")).await;
    assert_eq!(status, StatusCode::OK);
    // FlatGeobuf magic bytes: the file is what it says.
    assert_eq!(&body[..4], b"fgb\x03");
    let modified = headers["last-modified"].clone();
    let etag = headers["etag"].clone();

    let (status, _, empty) = call(
        &state,
        get(FGB)
            .header("If-Modified-Since", modified)
            .body(Body::empty())
            .expect("request"),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_MODIFIED);
    assert!(empty.is_empty());
    let (status, _, _) = call(
        &state,
        get(FGB)
            .header("If-Modified-Since", "Mon, 01 Jan 2001 00:00:00 GMT")
            .body(Body::empty())
            .expect("request"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    // A range with a matching If-Range is honoured; with a stale one the whole file comes.
    let (status, _, part) = call(
        &state,
        get(FGB)
            .header("Range", "bytes=0-7")
            .header("If-Range", etag)
            .body(Body::empty())
            .expect("request"),
    )
    .await;
    assert_eq!((status, part.len()), (StatusCode::PARTIAL_CONTENT, 8));
    let (status, _, whole) = call(
        &state,
        get(FGB)
            .header("Range", "bytes=0-7")
            .header("If-Range", "\"stale\"")
            .body(Body::empty())
            .expect("request"),
    )
    .await;
    assert_eq!((status, whole.len()), (StatusCode::OK, body.len()));
}

#[tokio::test]
async fn malformed_ranges_are_refused_and_several_ranges_get_the_whole_file() {
    let (_root, state) = state_with_districts().await;
    let (status, headers, _) = call(
        &state,
        get(FGB)
            .header("Range", "bytes=abc")
            .body(Body::empty())
            .expect("request"),
    )
    .await;
    assert_eq!(status, StatusCode::RANGE_NOT_SATISFIABLE);
    assert!(
        headers["content-range"]
            .to_str()
            .expect("header")
            .starts_with("bytes */")
    );
    let (status, headers, body) = call(
        &state,
        get(FGB)
            .header("Range", "bytes=0-1,5-6")
            .body(Body::empty())
            .expect("request"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        headers["content-length"].to_str().expect("len"),
        body.len().to_string()
    );
}

#[tokio::test]
async fn every_error_is_the_json_exception_shape() {
    let (_root, state) = state_with_districts().await;
    for (uri, status) in [
        ("/api/datasets/none", StatusCode::NOT_FOUND),
        ("/api/datasets?limit=5000", StatusCode::BAD_REQUEST),
        ("/api/datasets?limit=minus", StatusCode::BAD_REQUEST),
        ("/api/sql?q=SELECT%201&format=xml", StatusCode::BAD_REQUEST),
        (
            "/api/sql?q=SELECT%20*%20FROM%20nothing",
            StatusCode::BAD_REQUEST,
        ),
        ("/nowhere", StatusCode::NOT_FOUND),
    ] {
        let (got, headers, body) =
            call(&state, get(uri).body(Body::empty()).expect("request")).await;
        assert_eq!(got, status, "{uri}");
        assert_eq!(headers["content-type"], "application/json", "{uri}");
        let json: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
        assert!(
            json["code"].is_string() && json["description"].is_string(),
            "{uri}: {json}"
        );
    }
}

#[tokio::test]
async fn a_json_post_body_that_is_not_json_is_a_400() {
    let (_root, state) = state_with_districts().await;
    let request = Request::post("/api/sql")
        .header("content-type", "application/json")
        .body(Body::from("{q:"))
        .expect("request");
    let (status, _, body) = call(&state, request).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(String::from_utf8_lossy(&body).contains("invalid JSON body"));
}
