//! The one error type of the API: a status and the JSON body `{"code", "description"}` (the
//! OGC API exception shape). A 5xx never tells the client internals; those go to the log.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub description: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, description: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            description: description.into(),
        }
    }

    pub fn not_found(what: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "NotFound", what)
    }

    /// 401: a write without a valid admin token.
    pub fn unauthorized(description: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "Unauthorized", description)
    }

    pub fn bad_request(description: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "InvalidParameterValue",
            description,
        )
    }

    /// A server-side failure: logged in full, reported to the client in general terms.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!("internal error: {cause}");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "ServerError",
            "the server could not complete the request",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            Json(json!({ "code": self.code, "description": self.description })),
        )
            .into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer realm=\"allmende\""),
            );
        }
        response
    }
}

impl From<allmende_query::QueryError> for ApiError {
    fn from(e: allmende_query::QueryError) -> Self {
        use allmende_query::QueryError as Q;
        match &e {
            Q::NotReadOnly(_) => {
                ApiError::new(StatusCode::BAD_REQUEST, "NotReadOnly", e.to_string())
            }
            Q::Invalid(_) => ApiError::new(StatusCode::BAD_REQUEST, "InvalidQuery", e.to_string()),
            Q::Timeout(_) => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "QueryTimeout",
                e.to_string(),
            ),
            Q::ResourcesExhausted(_) => ApiError::new(
                StatusCode::INSUFFICIENT_STORAGE,
                "QueryTooLarge",
                e.to_string(),
            ),
            _ => ApiError::internal(e),
        }
    }
}
