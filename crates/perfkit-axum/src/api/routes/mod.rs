//! The handlers, one module per area, and their registration. Each handler is thin: check,
//! call the service, answer. Handlers declare their paths without the API prefix
//! (`/summary`); the prefix is put in front here, where the router is assembled, so the
//! document and the routes always agree on it.

pub(crate) mod alerts;
pub(crate) mod cache;
pub(crate) mod database;
pub(crate) mod handshake;
pub(crate) mod health;
pub(crate) mod info;
pub(crate) mod instances;
pub(crate) mod metrics;
pub(crate) mod openapi_document;
pub(crate) mod optimization;
pub(crate) mod silences;
pub(crate) mod stream;
pub(crate) mod stream_ticket;

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{InfoBuilder, OpenApi, OpenApiBuilder};
use utoipa::{PartialSchema, ToSchema};
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouter};
use utoipa_axum::routes;

use crate::api::refusals::ERROR_SCHEMA;
use crate::api::state::AppState;
use crate::error::ErrorBody;

/// Every documented route served through the layer stack: the axum router and its OpenAPI
/// paths come from the same registrations, so the document cannot drift from what is
/// served.
pub(crate) fn api(prefix: &str) -> OpenApiRouter<AppState> {
    let api = OpenApiRouter::with_openapi(frame())
        .routes(at(prefix, routes!(metrics::all_metrics, metrics::reset_metrics)))
        .routes(at(prefix, routes!(metrics::system_metrics)))
        .routes(at(prefix, routes!(metrics::application_metrics)))
        .routes(at(prefix, routes!(metrics::prometheus)))
        .routes(at(prefix, routes!(metrics::report)))
        .routes(at(prefix, routes!(metrics::history)))
        .routes(at(prefix, routes!(cache::stats)))
        .routes(at(prefix, routes!(cache::clear)))
        .routes(at(prefix, routes!(cache::delete_pattern)))
        .routes(at(prefix, routes!(cache::optimize)))
        .routes(at(prefix, routes!(database::statements)))
        .routes(at(prefix, routes!(database::plan)))
        .routes(at(prefix, routes!(optimization::history)))
        .routes(at(prefix, routes!(optimization::recommendations)))
        .routes(at(prefix, routes!(optimization::run)))
        .routes(at(prefix, routes!(optimization::force)))
        .routes(at(prefix, routes!(optimization::config, optimization::update_config)))
        .routes(at(prefix, routes!(optimization::set_auto)))
        .routes(at(prefix, routes!(optimization::kill_switch, optimization::reset_kill_switch)))
        .routes(at(prefix, routes!(alerts::active, alerts::clear)))
        .routes(at(prefix, routes!(alerts::rules, alerts::update_rules)))
        .routes(at(prefix, routes!(silences::list, silences::create)))
        .routes(at(prefix, routes!(silences::expire)))
        .routes(at(prefix, routes!(instances::list)))
        .routes(at(prefix, routes!(health::health)))
        .routes(at(prefix, routes!(health::ready)))
        .routes(at(prefix, routes!(stream::stream)))
        .routes(at(prefix, routes!(stream_ticket::issue)))
        .routes(at(prefix, routes!(openapi_document::document)))
        .routes(at(prefix, routes!(info::info)));
    #[cfg(feature = "dashboard")]
    let api = crate::dashboard::register(api);
    api
}

/// Routes served outside the layer stack, documented like the rest: the liveness probe,
/// which orchestrators call constantly and which can neither fail, wait, nor grow, and
/// `/summary` and `/dashboard`, which dashboards poll and which serve prepared bytes (see
/// `api::prepared`, which also prepares their gzip form). For these, compression,
/// timeouts and error rewriting per request would only cost: each sets the stack's headers
/// itself, answers its own JSON errors, and an outer `RequestMetricsLayer` still counts it.
pub(crate) fn unlayered(prefix: &str) -> OpenApiRouter<AppState> {
    let read_only = crate::api::respond::read_only_wrong_method;
    let (schemas, paths, live) = at(prefix, routes!(health::live));
    let (summary_schemas, summary_paths, summary) = at(prefix, routes!(metrics::summary));
    let (dashboard_schemas, dashboard_paths, dashboard) = at(prefix, routes!(metrics::dashboard));
    OpenApiRouter::new()
        .routes((schemas, paths, live.fallback(read_only)))
        .routes((summary_schemas, summary_paths, summary.fallback(read_only)))
        .routes((dashboard_schemas, dashboard_paths, dashboard.fallback(read_only)))
}

/// The whole OpenAPI document under `prefix`: the layered routes' and the unlayered ones'.
pub(crate) fn document(prefix: &str) -> OpenApi {
    let mut document = api(prefix).into_openapi();
    document.merge(unlayered(prefix).into_openapi());
    document
}

/// A registration with `prefix` in front of its path. Prefixing the path itself, rather
/// than nesting a router, keeps requests free of the URI rewrite a nested router does.
fn at<S>(prefix: &str, registration: UtoipaMethodRouter<S>) -> UtoipaMethodRouter<S> {
    let (schemas, mut paths, method_router) = registration;
    paths.paths = std::mem::take(&mut paths.paths)
        .into_iter()
        .map(|(path, item)| (format!("{prefix}{path}"), item))
        .collect();
    (schemas, paths, method_router)
}

/// The document's frame: title, version, the bearer scheme admin endpoints require, and the
/// error body every refusal refers to (named here because the refusals of
/// `api::refusals` are written by hand, outside utoipa's schema collection).
fn frame() -> OpenApi {
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
    let mut schemas = vec![(ERROR_SCHEMA.to_owned(), ErrorBody::schema())];
    ErrorBody::schemas(&mut schemas);
    components.schemas.extend(schemas);
    document
}
