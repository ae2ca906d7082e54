//! Snapshot, metrics, Prometheus, report, history, dashboard.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use perfkit::PerformanceReport;
use serde::Serialize;

use crate::api::auth::{Admin, Reader};
use crate::api::prepared::AcceptsGzip;
use crate::api::refusals::{AdminRefusals, ReadRefusals};
use crate::api::respond::stack_headers;
use crate::api::state::AppState;
use crate::api::views::{
    self, ApplicationView as ApplicationMetrics, Dashboard, MetricsView, Summary, SystemView,
};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiQuery, LimitQuery};

/// Snapshots `/history` returns when no limit is given.
const DEFAULT_HISTORY: usize = 100;

/// The latest snapshot, score, status, active alerts and top recommendations.
#[utoipa::path(get, path = "/summary", tag = "metrics",
    responses(
        (status = 200, description = "Summary: snapshot, score (0-100) and status, activeAlerts, topRecommendations", body = Summary),
        ReadRefusals,
    ))]
pub(crate) async fn summary(
    reader: Result<Reader, ApiError>,
    State(state): State<AppState>,
    AcceptsGzip(gzip): AcceptsGzip,
) -> Response {
    prepared_or_refused(reader, state.answers.summary(&state.service, gzip)).await
}

/// A prepared answer, or the refusal with the layer stack's headers: these routes are
/// served outside it (see [`crate::api::routes::unlayered`]).
async fn prepared_or_refused(
    reader: Result<Reader, ApiError>,
    answer: impl Future<Output = Response>,
) -> Response {
    match reader {
        Ok(Reader) => answer.await,
        Err(refused) => (stack_headers(), refused).into_response(),
    }
}

/// System and application metrics in full.
#[utoipa::path(get, path = "/metrics", tag = "metrics",
    responses(
        (status = 200, description = "{ system, application }", body = MetricsView),
        ReadRefusals,
    ))]
pub(crate) async fn all_metrics(_: Reader, State(state): State<AppState>) -> Json<MetricsView> {
    Json(MetricsView::of(&state.service))
}

/// CPU, load, memory, disks, network, process RSS, and the tokio runtime.
#[utoipa::path(get, path = "/metrics/system", tag = "metrics",
    responses(
        (status = 200, description = "System metrics, with the tokio runtime's", body = SystemView),
        ReadRefusals,
        (status = 503, description = "The system probe failed", body = ErrorBody),
    ))]
pub(crate) async fn system_metrics(
    _: Reader,
    State(state): State<AppState>,
) -> Result<Json<SystemView>, ApiError> {
    views::system_metrics(&state.service).map(Json).ok_or_else(|| {
        ApiError::Unavailable("the system probe could not read the machine".to_owned())
    })
}

/// Request timing, throughput, errors by kind, DB, WebSocket, cache operations, queue, and
/// the business series (emitted through the `metrics` facade) of the last closed interval.
#[utoipa::path(get, path = "/metrics/application", tag = "metrics",
    responses(
        (status = 200, description = "Application metrics", body = ApplicationMetrics),
        ReadRefusals,
    ))]
pub(crate) async fn application_metrics(
    _: Reader,
    State(state): State<AppState>,
) -> Json<ApplicationMetrics> {
    Json(ApplicationMetrics::of(&state.service))
}

/// The Prometheus exposition: the text format 0.0.4, or OpenMetrics 1.0 (with trace-id
/// exemplars on the histograms' buckets) where `Accept` prefers `application/openmetrics-text`.
#[utoipa::path(get, path = "/metrics/prometheus", tag = "metrics",
    params(("Accept" = Option<String>, Header, description = "`application/openmetrics-text` (version 1.0.0, or none) with a quality no lower than `text/plain`'s asks for OpenMetrics; anything else, or none, gets the text format 0.0.4")),
    responses(
        (status = 200, description = "The exposition, in the format negotiated", content(
            (String = "text/plain; version=0.0.4"),
            (String = "application/openmetrics-text; version=1.0.0"),
        )),
        ReadRefusals,
        (status = 500, description = "The exposition could not be encoded", body = ErrorBody),
    ))]
pub(crate) async fn prometheus(
    _: Reader,
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<impl IntoResponse, ApiError> {
    let accept = headers.get(header::ACCEPT).and_then(|value| value.to_str().ok());
    let format = perfkit_metrics::ExpositionFormat::negotiate(accept);
    let text = state.service.parts().exporter.render_as(format).map_err(|error| {
        ApiError::Internal(format!("the exposition could not be encoded: {error}"))
    })?;
    Ok(([(header::CONTENT_TYPE, format.content_type()), (header::VARY, "accept")], text))
}

/// The latest periodic report.
#[utoipa::path(get, path = "/report", tag = "metrics",
    responses(
        (status = 200, description = "Period, averages, trends per metric, alerts, recommendations", body = perfkit::PerformanceReport),
        ReadRefusals,
    ))]
pub(crate) async fn report(_: Reader, State(state): State<AppState>) -> Json<PerformanceReport> {
    Json(state.service.readout().report().await)
}

/// The last `limit` snapshots, oldest first.
#[utoipa::path(get, path = "/history", tag = "metrics", params(LimitQuery),
    responses(
        (status = 200, description = "Snapshots, oldest first (default limit 100)", body = [perfkit::core::MetricsSnapshot]),
        (status = 400, description = "The query does not parse", body = ErrorBody),
        ReadRefusals,
        (status = 422, description = "limit is outside 1..=1000", body = ErrorBody),
    ))]
pub(crate) async fn history(
    _: Reader,
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<LimitQuery>,
) -> Result<Json<Vec<perfkit::core::MetricsSnapshot>>, ApiError> {
    let limit = query.resolve(DEFAULT_HISTORY)?;
    Ok(Json(state.service.readout().history(limit)))
}

/// Everything the dashboard shows, in one document.
#[utoipa::path(get, path = "/dashboard", tag = "metrics",
    responses(
        (status = 200, description = "Summary, metrics, history, trends, alerts, optimization, cache, health, and the business series the page shows", body = Dashboard),
        ReadRefusals,
    ))]
pub(crate) async fn dashboard(
    reader: Result<Reader, ApiError>,
    State(state): State<AppState>,
    AcceptsGzip(gzip): AcceptsGzip,
) -> Response {
    let answer = state.answers.dashboard(&state.service, &state.config.dashboard, gzip);
    prepared_or_refused(reader, answer).await
}

/// What `DELETE /metrics` answers.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct MetricsReset {
    /// Always true: the application metrics and the history were reset.
    reset: bool,
}

/// Resets the application metrics and the history.
#[utoipa::path(delete, path = "/metrics", tag = "metrics",
    security(("adminToken" = [])),
    responses(
        (status = 200, description = "Reset", body = MetricsReset),
        AdminRefusals,
    ))]
pub(crate) async fn reset_metrics(_: Admin, State(state): State<AppState>) -> Json<MetricsReset> {
    state.service.reset_metrics();
    Json(MetricsReset { reset: true })
}
