//! Unknown paths and panics come out as API.md's JSON error (bare error statuses from the
//! layers below are rewritten by [`JsonErrorsLayer`](crate::middleware::JsonErrorsLayer)).

use std::any::Any;

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::middleware::RESTRICTIVE_CSP;

/// The headers the layer stack gives every answer, for the routes served outside it (see
/// [`crate::routes::unlayered`]), which set them themselves.
pub(crate) fn stack_headers() -> [(header::HeaderName, HeaderValue); 3] {
    [
        (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        (header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(RESTRICTIVE_CSP)),
    ]
}

/// A JSON 405 for a route served outside the stack, with `Allow: GET,HEAD`.
pub(crate) async fn read_only_wrong_method() -> Response {
    let allow = [(header::ALLOW, HeaderValue::from_static("GET,HEAD"))];
    (stack_headers(), allow, ApiError::MethodNotAllowed).into_response()
}

/// The fallback: no route has this path.
pub(crate) async fn not_found() -> ApiError {
    ApiError::NotFound
}

/// What a panicking handler answers: the JSON 500, `no-store`; the payload is logged, never
/// sent.
pub(crate) fn panic_response(payload: &(dyn Any + Send)) -> Response {
    let detail = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a non-string panic payload".to_owned());
    let mut response = ApiError::Internal(format!("handler panicked: {detail}")).into_response();
    // Set here too: the panic skips the layer that sets it on every other answer.
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
