//! `openapi.json`: the document, rendered once when the router is built, and the shape this
//! endpoint promises.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

use crate::api::state::AppState;

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
#[utoipa::path(get, path = "/openapi.json", tag = "meta",
    responses((status = 200, description = "The OpenAPI 3.1 document of this API", body = DocumentShape)))]
pub(crate) async fn document(State(state): State<AppState>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], state.openapi_json.to_string())
}
