//! Unknown paths and panics come out as perfkit's JSON error (bare error statuses from the
//! layers below are rewritten by [`JsonErrorsLayer`](crate::middleware::JsonErrorsLayer)).

use axum::Extension;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::middleware::{OwnTrafficMark, RESTRICTIVE_CSP};

/// The headers the layer stack gives every answer, and its mark of perfkit's own traffic,
/// for the routes served outside it (see `routes::unlayered`), which set them themselves.
pub(crate) fn stack_headers() -> ([(header::HeaderName, HeaderValue); 3], Extension<OwnTrafficMark>)
{
    let headers = [
        (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        (header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(RESTRICTIVE_CSP)),
    ];
    (headers, Extension(OwnTrafficMark))
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
