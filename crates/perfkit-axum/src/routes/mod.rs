//! The handlers, one module per area. Each is thin: check, call the service, answer.

pub(crate) mod alerts;
pub(crate) mod cache;
pub(crate) mod database;
pub(crate) mod handshake;
pub(crate) mod health;
pub(crate) mod instances;
pub(crate) mod metrics;
pub(crate) mod optimization;
pub(crate) mod silences;
pub(crate) mod stream;
pub(crate) mod stream_ticket;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::page;
use crate::state::AppState;

/// Every documented route: the axum router and its OpenAPI paths come from the same
/// registrations, so the document cannot drift from what is served.
pub(crate) fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(crate::openapi::base())
        .routes(routes!(page::index))
        .route("/assets/{file}", axum::routing::get(page::asset))
        .routes(routes!(metrics::all_metrics, metrics::reset_metrics))
        .routes(routes!(metrics::system_metrics))
        .routes(routes!(metrics::application_metrics))
        .routes(routes!(metrics::prometheus))
        .routes(routes!(metrics::report))
        .routes(routes!(metrics::history))
        .routes(routes!(cache::stats))
        .routes(routes!(cache::clear))
        .routes(routes!(cache::delete_pattern))
        .routes(routes!(cache::optimize))
        .routes(routes!(database::statements))
        .routes(routes!(database::plan))
        .routes(routes!(optimization::history))
        .routes(routes!(optimization::recommendations))
        .routes(routes!(optimization::run))
        .routes(routes!(optimization::force))
        .routes(routes!(optimization::config, optimization::update_config))
        .routes(routes!(optimization::set_auto))
        .routes(routes!(optimization::kill_switch, optimization::reset_kill_switch))
        .routes(routes!(alerts::active, alerts::clear))
        .routes(routes!(alerts::rules, alerts::update_rules))
        .routes(routes!(silences::list, silences::create))
        .routes(routes!(silences::expire))
        .routes(routes!(instances::list))
        .routes(routes!(health::health))
        .routes(routes!(health::ready))
        .routes(routes!(stream::stream))
        .routes(routes!(stream_ticket::issue))
        .routes(routes!(crate::openapi::document))
}

/// Routes served outside the layer stack, documented like the rest: the liveness probe,
/// which orchestrators call constantly and which can neither fail, wait, nor grow, and
/// `/summary` and `/dashboard`, which dashboards poll and which serve prepared bytes (see
/// [`crate::prepared`], which also prepares their gzip form). For these, compression,
/// timeouts and error rewriting per request would only cost: each sets the stack's headers
/// itself, answers its own JSON errors, and an outer
/// [`RequestMetricsLayer`](crate::RequestMetricsLayer) still counts it.
pub(crate) fn unlayered() -> OpenApiRouter<AppState> {
    let read_only = crate::respond::read_only_wrong_method;
    let (schemas, paths, live) = routes!(health::live);
    let (summary_schemas, summary_paths, summary) = routes!(metrics::summary);
    let (dashboard_schemas, dashboard_paths, dashboard) = routes!(metrics::dashboard);
    OpenApiRouter::new()
        .routes((schemas, paths, live.fallback(read_only)))
        .routes((summary_schemas, summary_paths, summary.fallback(read_only)))
        .routes((dashboard_schemas, dashboard_paths, dashboard.fallback(read_only)))
}

/// The whole OpenAPI document: the layered routes' and the unlayered ones'.
pub(crate) fn document() -> utoipa::openapi::OpenApi {
    let mut document = api().into_openapi();
    document.merge(unlayered().into_openapi());
    document
}
