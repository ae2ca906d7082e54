//! The refusals of each auth class, written once for the OpenAPI document: an operation
//! names its class in `responses(...)` (`ReadRefusals`, `AdminRefusals`) instead of listing
//! 401 and 429 by hand, so a new route cannot forget what its extractor answers.
//!
//! | class | extractor | answers |
//! |---|---|---|
//! | open (`/health*`, `openapi.json`, the page) | none | no refusal |
//! | read | `Reader` | 401 without the token where reads are protected, 429 after too many wrong ones |
//! | admin | `Admin` | 401 without the token, 429 after too many wrong ones |

use std::collections::BTreeMap;

use utoipa::IntoResponses;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::{ContentBuilder, ObjectBuilder, Ref, RefOr, Type};

/// The name of the error body's schema in the document's components.
pub(crate) const ERROR_SCHEMA: &str = "ErrorBody";

/// What a read operation (one that takes `Reader`) may refuse with.
pub(crate) struct ReadRefusals;

/// What an admin operation (one that takes `Admin`) may refuse with.
pub(crate) struct AdminRefusals;

impl IntoResponses for ReadRefusals {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        refusals(
            "Reads are protected and the token is missing or wrong",
            "Reads are protected and this address sent too many wrong tokens lately; retry \
             after Retry-After seconds",
        )
    }
}

impl IntoResponses for AdminRefusals {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        refusals(
            "Missing or wrong admin token; nothing changed",
            "This address sent too many wrong tokens lately; retry after Retry-After seconds; \
             nothing changed",
        )
    }
}

/// 401 with `WWW-Authenticate: Bearer` and 429 with `Retry-After`, each with the JSON error.
fn refusals(unauthorized: &str, throttled: &str) -> BTreeMap<String, RefOr<Response>> {
    let string_header = |description: &str| {
        HeaderBuilder::new()
            .schema(ObjectBuilder::new().schema_type(Type::String))
            .description(Some(description))
            .build()
    };
    let integer_header = |description: &str| {
        HeaderBuilder::new()
            .schema(ObjectBuilder::new().schema_type(Type::Integer))
            .description(Some(description))
            .build()
    };
    let unauthorized = error_response(unauthorized)
        .header("WWW-Authenticate", string_header("Bearer: the scheme to authenticate with"));
    let throttled = error_response(throttled)
        .header("Retry-After", integer_header("Seconds before this address may try again"));
    BTreeMap::from([
        ("401".to_owned(), RefOr::T(unauthorized.build())),
        ("429".to_owned(), RefOr::T(throttled.build())),
    ])
}

fn error_response(description: &str) -> ResponseBuilder {
    let content = ContentBuilder::new().schema(Some(Ref::from_schema_name(ERROR_SCHEMA))).build();
    ResponseBuilder::new().description(description).content("application/json", content)
}
