//! One error type for every failure the API reports, rendered as the JSON error
//! `docs/openapi.json` describes (`ErrorBody`). The conversions from the perfkit crates'
//! errors live with the router (`api/error_from.rs`), so this file needs axum alone.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// The kind of error a response carries, as a response extension.
///
/// [`ApiError`] attaches one to every error response, and
/// [`RequestMetricsLayer`](crate::RequestMetricsLayer) counts it with
/// `Recorder::record_error`. A host application's own handlers may attach one too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorKind(pub &'static str);

/// Every failure the API reports. Each becomes
/// `{ "error": { "code": "snake_case_code", "message": "what and why" } }` with its status;
/// internals (cache or encoder failures) are logged, never shown.
///
/// ```
/// use axum::response::IntoResponse;
/// use perfkit_axum::ApiError;
///
/// let response = ApiError::OutOfRange { name: "limit", min: 1, max: 1000, got: 0 }.into_response();
/// assert_eq!(response.status(), 422);
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// The body is not JSON, or JSON of the wrong shape or types (400).
    #[error("malformed request body: {0}")]
    InvalidJson(String),
    /// The query string does not parse (400).
    #[error("malformed query string: {0}")]
    InvalidQuery(String),
    /// The body is not `application/json` (415).
    #[error("expected a body with content type application/json")]
    UnsupportedMediaType,
    /// The body is larger than the configured limit (413).
    #[error("request body is larger than the limit of {limit} bytes")]
    PayloadTooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// A query parameter is out of its range (422).
    #[error("{name} must be in {min}..={max}, got {got}")]
    OutOfRange {
        /// The parameter.
        name: &'static str,
        /// Smallest value accepted.
        min: i64,
        /// Largest value accepted.
        max: i64,
        /// What was sent.
        got: i64,
    },
    /// A body parsed but its values are invalid; every problem is listed (422).
    #[error("{what} refused, nothing changed: {}", .problems.join("; "))]
    Invalid {
        /// What was refused (`optimizer config`, `alert rules`, `pattern`).
        what: &'static str,
        /// Every problem found.
        problems: Vec<String>,
    },
    /// The bearer token is missing or wrong (401).
    #[error("missing or invalid bearer token: send Authorization: Bearer <admin token>")]
    Unauthorized,
    /// Too many failed attempts from this client address lately (429, with `Retry-After`).
    #[error("too many failed authentication attempts from this address; retry in {}s", retry_after_secs(*.retry_after))]
    TooManyAttempts {
        /// How long until the address may try again.
        retry_after: std::time::Duration,
    },
    /// No route has this path (404).
    #[error("no endpoint at this path")]
    NotFound,
    /// The route exists but the thing it names does not (404), said in words.
    #[error("{0}")]
    NoSuchResource(String),
    /// The route exists but not with this method (405).
    #[error("this endpoint does not accept this method")]
    MethodNotAllowed,
    /// The request took longer than the configured timeout (408).
    #[error("the request took longer than the server's timeout")]
    Timeout,
    /// A WebSocket opening handshake with a wrong or missing header (400).
    #[error("malformed WebSocket handshake: {0}")]
    InvalidHandshake(String),
    /// A WebSocket endpoint was called without a WebSocket upgrade (426).
    #[error("this endpoint speaks WebSocket only: {0}")]
    UpgradeRequired(String),
    /// A part the answer needs is down (the cache, the system probe, the connection limit)
    /// (503).
    #[error("{0}")]
    Unavailable(String),
    /// A failure inside the server; the detail is logged, not sent (500).
    #[error("internal error")]
    Internal(String),
    /// Any other client error status, from a layer below that produced a bare one.
    #[error("{message}")]
    Status {
        /// The status.
        status: StatusCode,
        /// What went wrong.
        message: String,
    },
}

/// The JSON body of every error.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "api", derive(utoipa::ToSchema))]
pub(crate) struct ErrorBody {
    error: ErrorDetail,
}

/// The error inside [`ErrorBody`].
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "api", derive(utoipa::ToSchema))]
pub(crate) struct ErrorDetail {
    /// A stable snake_case code.
    code: &'static str,
    /// What went wrong and why.
    message: String,
    /// Every problem, for a refused config or rule set.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    problems: Vec<String>,
}

impl ApiError {
    /// The HTTP status.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::InvalidJson(_)
            | ApiError::InvalidQuery(_)
            | ApiError::InvalidHandshake(_) => StatusCode::BAD_REQUEST,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::OutOfRange { .. } | ApiError::Invalid { .. } => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::TooManyAttempts { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::NotFound | ApiError::NoSuchResource(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Timeout => StatusCode::REQUEST_TIMEOUT,
            ApiError::UpgradeRequired(_) => StatusCode::UPGRADE_REQUIRED,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::Status { status, .. } => *status,
        }
    }

    /// The stable snake_case code clients match on.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::InvalidJson(_) => "invalid_json",
            ApiError::InvalidQuery(_) => "invalid_query",
            ApiError::UnsupportedMediaType => "unsupported_media_type",
            ApiError::PayloadTooLarge { .. } => "payload_too_large",
            ApiError::OutOfRange { .. } => "out_of_range",
            ApiError::Invalid { .. } => "validation_failed",
            ApiError::Unauthorized => "unauthorized",
            ApiError::TooManyAttempts { .. } => "too_many_requests",
            ApiError::NotFound | ApiError::NoSuchResource(_) => "not_found",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::Timeout => "request_timeout",
            ApiError::InvalidHandshake(_) => "invalid_handshake",
            ApiError::UpgradeRequired(_) => "upgrade_required",
            ApiError::Unavailable(_) => "service_unavailable",
            ApiError::Internal(_) => "internal_error",
            ApiError::Status { status, .. } => status_code_name(*status),
        }
    }

    /// The error a bare response of `status` stands for (what a layer below produced
    /// without a body we can show).
    pub(crate) fn from_status(status: StatusCode, body_limit: usize) -> ApiError {
        match status {
            StatusCode::NOT_FOUND => ApiError::NotFound,
            StatusCode::METHOD_NOT_ALLOWED => ApiError::MethodNotAllowed,
            StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge { limit: body_limit },
            StatusCode::REQUEST_TIMEOUT => ApiError::Timeout,
            StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::UnsupportedMediaType,
            StatusCode::UNAUTHORIZED => ApiError::Unauthorized,
            status if status.is_server_error() => {
                ApiError::Status { status, message: "internal error".to_owned() }
            }
            status => ApiError::Status {
                status,
                message: status.canonical_reason().unwrap_or("request refused").to_lowercase(),
            },
        }
    }
}

fn status_code_name(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "bad_request",
        403 => "forbidden",
        406 => "not_acceptable",
        409 => "conflict",
        411 => "length_required",
        414 => "uri_too_long",
        429 => "too_many_requests",
        431 => "headers_too_large",
        s if s >= 500 => "internal_error",
        _ => "request_refused",
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let code = self.code();
        let message = match &self {
            ApiError::Internal(detail) => {
                tracing::error!(detail = %detail, "internal error answered with 500");
                self.to_string()
            }
            _ => self.to_string(),
        };
        let retry_after = match &self {
            ApiError::TooManyAttempts { retry_after } => Some(retry_after_secs(*retry_after)),
            _ => None,
        };
        let problems = match self {
            ApiError::Invalid { problems, .. } => problems,
            _ => Vec::new(),
        };
        let body = ErrorBody { error: ErrorDetail { code, message, problems } };
        let mut response = (status, Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(seconds) = retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response.extensions_mut().insert(ErrorKind(code));
        response
    }
}

/// Whole seconds for `Retry-After`, rounded up so a client that waits that long is let in.
fn retry_after_secs(wait: std::time::Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body_of(error: ApiError) -> (StatusCode, serde_json::Value) {
        let response = error.into_response();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    #[tokio::test]
    async fn refused_configs_list_every_problem() {
        let error =
            ApiError::Invalid { what: "alert rules", problems: vec!["a".into(), "b".into()] };
        let (status, body) = body_of(error).await;
        assert_eq!(status, 422);
        assert_eq!(body["error"]["code"], "validation_failed");
        assert_eq!(body["error"]["problems"], serde_json::json!(["a", "b"]));
    }

    #[test]
    fn every_error_response_carries_its_kind() {
        let response = ApiError::Unauthorized.into_response();
        assert_eq!(response.extensions().get::<ErrorKind>(), Some(&ErrorKind("unauthorized")));
        assert_eq!(response.headers()[header::WWW_AUTHENTICATE], "Bearer");
    }

    #[tokio::test]
    async fn throttled_attempts_are_429_with_retry_after_in_whole_seconds() {
        let error =
            ApiError::TooManyAttempts { retry_after: std::time::Duration::from_millis(1500) };
        let response = error.into_response();
        assert_eq!(response.status(), 429);
        assert_eq!(response.headers()[header::RETRY_AFTER], "2");
        let (_, body) =
            body_of(ApiError::TooManyAttempts { retry_after: std::time::Duration::from_secs(3) })
                .await;
        assert_eq!(body["error"]["code"], "too_many_requests");
        assert!(body["error"]["message"].as_str().unwrap().contains("retry in 3s"), "{body}");
    }

    #[test]
    fn bare_statuses_map_to_their_errors() {
        assert_eq!(ApiError::from_status(StatusCode::NOT_FOUND, 1).code(), "not_found");
        assert_eq!(
            ApiError::from_status(StatusCode::PAYLOAD_TOO_LARGE, 1).code(),
            "payload_too_large"
        );
        assert_eq!(ApiError::from_status(StatusCode::BAD_GATEWAY, 1).code(), "internal_error");
        assert_eq!(
            ApiError::from_status(StatusCode::TOO_MANY_REQUESTS, 1).code(),
            "too_many_requests"
        );
    }
}
