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
    /// Sent as `Retry-After` (seconds): the refusal is temporary.
    pub retry_after: Option<u64>,
    /// Where in the request's text the problem is (line, column), as `position`.
    pub position: Option<(u64, u64)>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, description: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            description: description.into(),
            retry_after: None,
            position: None,
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
        let mut body = json!({ "code": self.code, "description": self.description });
        if let Some((line, column)) = self.position {
            body["position"] = json!({ "line": line, "column": column });
        }
        let mut response = (self.status, Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, secs.into());
        }
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
            Q::Invalid(_) => ApiError {
                position: e.position(),
                ..ApiError::new(StatusCode::BAD_REQUEST, "InvalidQuery", e.to_string())
            },
            Q::Timeout(_) => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "QueryTimeout",
                e.to_string(),
            ),
            // The query asks for more than any one query gets: the client's to change (a retry
            // would fail the same way), so 4xx, not 507, whose 5xx invites retries and alerts.
            Q::ResourcesExhausted(_) | Q::MemoryLimit { .. } => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "QueryTooLarge",
                e.to_string(),
            ),
            // The service, not this client, is overloaded: 503 with Retry-After (RFC 9110
            // §15.6.4) rather than 429, which speaks of one client sending too much.
            Q::Busy { retry_after, .. } => ApiError {
                retry_after: Some(*retry_after),
                ..ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "SqlBusy", e.to_string())
            },
            _ => ApiError::internal(e),
        }
    }
}
