//! The last word on every response: unknown paths, panics and bare error statuses from
//! layers below all come out as API.md's JSON error.

use std::any::Any;

use axum::extract::{Request, State};
use axum::http::header::{self, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::{ApiError, ErrorKind};
use crate::state::AppState;

/// The fallback: no route has this path.
pub(crate) async fn not_found() -> ApiError {
    ApiError::NotFound
}

/// What a panicking handler answers; the payload is logged, never sent.
#[allow(clippy::needless_pass_by_value)] // the signature tower-http's CatchPanicLayer calls
pub(crate) fn panic_response(payload: Box<dyn Any + Send + 'static>) -> Response {
    let detail = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a non-string panic payload".to_owned());
    ApiError::Internal(format!("handler panicked: {detail}")).into_response()
}

/// Replaces an error response that is not JSON (axum's 405, tower-http's 408 and 413)
/// with the JSON error of its status, keeping its other headers (`Allow`, say).
pub(crate) async fn json_errors(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) || is_json(&response) {
        return response;
    }
    let (mut parts, _) = response.into_parts();
    let error = ApiError::from_status(status, state.config.body_limit);
    let replacement = error.into_response();
    let kind = replacement.extensions().get::<ErrorKind>().copied();
    let (replacement_parts, body) = replacement.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    for (name, value) in &replacement_parts.headers {
        parts.headers.insert(name.clone(), value.clone());
    }
    if let Some(kind) = kind {
        parts.extensions.insert(kind);
    }
    Response::from_parts(parts, body)
}

fn is_json(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/json"))
}
