//! Unknown paths and panics come out as API.md's JSON error (bare error statuses from the
//! layers below are rewritten by [`JsonErrorsLayer`](crate::middleware::JsonErrorsLayer)).

use std::any::Any;

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

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
