//! The OpenAPI 3.1 document, generated from the route registrations and handler
//! annotations, served at `/api/performance/openapi.json`.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{InfoBuilder, OpenApi, OpenApiBuilder};

use crate::state::AppState;

/// The document's frame: title, version, the bearer scheme admin endpoints require.
pub(crate) fn base() -> OpenApi {
    let mut document = OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("perfkit HTTP API")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "Performance monitoring and optimization of a Rust web service. Admin \
                     endpoints need `Authorization: Bearer <token>`; read endpoints are open \
                     unless the server protects them. Every error is \
                     `{ \"error\": { \"code\", \"message\" } }`.",
                ))
                .build(),
        )
        .build();
    let components = document.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "adminToken",
        SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
    );
    document
}

/// The whole API as an OpenAPI 3.1 document.
///
/// ```
/// let document = perfkit_axum::openapi();
/// assert!(document.paths.paths.contains_key("/api/performance/summary"));
/// ```
#[must_use]
pub fn openapi() -> OpenApi {
    crate::routes::document()
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

/// The top of an OpenAPI 3.1 document, as far as this endpoint promises it.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // a schema only: the document itself is built by utoipa
pub(crate) struct DocumentShape {
    /// The OpenAPI version, 3.1.x.
    #[schema(pattern = r"^3\.1\.")]
    openapi: String,
    /// Title, version and description of the API.
    info: DocumentInfo,
    /// Every operation, by path.
    paths: std::collections::BTreeMap<String, serde_json::Value>,
}

/// The `info` object of the document.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // a schema only
pub(crate) struct DocumentInfo {
    /// The API's title.
    title: String,
    /// The server's version.
    version: String,
}

/// This document.
#[utoipa::path(get, path = "/api/performance/openapi.json", tag = "meta",
    responses((status = 200, description = "The OpenAPI 3.1 document of this API", body = DocumentShape)))]
pub(crate) async fn document(State(state): State<AppState>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], state.openapi_json.to_string())
}
