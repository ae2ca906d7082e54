//! The OpenAPI 3.1 document, generated from the route registrations and handler
//! annotations (see `routes`), served at `<api prefix>/openapi.json` and checked in as
//! `docs/openapi.json` with the default prefix.

use utoipa::openapi::OpenApi;

use crate::api::config::DEFAULT_API_PREFIX;
use crate::api::routes;

/// The whole API as an OpenAPI 3.1 document, under the default prefix `/api/performance`.
///
/// ```
/// let document = perfkit_axum::openapi();
/// assert!(document.paths.paths.contains_key("/api/performance/summary"));
/// ```
#[must_use]
pub fn openapi() -> OpenApi {
    routes::document(DEFAULT_API_PREFIX)
}

/// The document as the pretty JSON that is checked in as `docs/openapi.json`.
///
/// # Errors
/// A `serde_json` error if the document cannot be serialized (it always can).
pub fn openapi_json() -> Result<String, serde_json::Error> {
    let mut text = openapi().to_pretty_json()?;
    text.push('\n');
    Ok(text)
}
