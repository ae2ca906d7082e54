//! The demo's errors, rendered as API.md's JSON error (the same shape and codes as
//! `perfkit_axum::ApiError`).

use axum::Json;
use axum::http::header::ALLOW;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use perfkit_axum::ErrorKind;
use serde_json::json;

/// Why a demo request failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DemoError {
    /// A parameter is not a number (400).
    #[error("malformed query string: {0}")]
    InvalidQuery(String),
    /// A parameter is out of its range (422).
    #[error("{name} must be in {min}..={max}, got {got}")]
    OutOfRange { name: &'static str, min: i64, max: i64, got: i64 },
    /// No such user (404).
    #[error("{0}")]
    NotFound(String),
    /// The route exists, but not with this method (405).
    #[error("this endpoint accepts GET only")]
    MethodNotAllowed,
    /// The answer could not be encoded or decoded; logged, not shown (500).
    #[error("internal error")]
    Internal(String),
}

impl DemoError {
    pub(crate) fn status(&self) -> StatusCode {
        match self {
            DemoError::InvalidQuery(_) => StatusCode::BAD_REQUEST,
            DemoError::OutOfRange { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            DemoError::NotFound(_) => StatusCode::NOT_FOUND,
            DemoError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            DemoError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub(crate) fn code(&self) -> &'static str {
        match self {
            DemoError::InvalidQuery(_) => "invalid_query",
            DemoError::OutOfRange { .. } => "out_of_range",
            DemoError::NotFound(_) => "not_found",
            DemoError::MethodNotAllowed => "method_not_allowed",
            DemoError::Internal(_) => "internal_error",
        }
    }
}

impl IntoResponse for DemoError {
    fn into_response(self) -> Response {
        if let DemoError::Internal(detail) = &self {
            tracing::error!(%detail, "demo request failed");
        }
        let body = json!({ "error": { "code": self.code(), "message": self.to_string() } });
        let mut response = (self.status(), Json(body)).into_response();
        if let DemoError::MethodNotAllowed = self {
            response.headers_mut().insert(ALLOW, HeaderValue::from_static("GET,HEAD"));
        }
        // The request-metrics layer counts errors by this kind.
        response.extensions_mut().insert(ErrorKind(self.code()));
        response
    }
}
