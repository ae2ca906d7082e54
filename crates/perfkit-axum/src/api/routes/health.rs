//! Health like Spring Boot Actuator's: aggregated, liveness, readiness.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use perfkit::{HealthReport, HealthStatus};
use serde::Serialize;
use utoipa::ToSchema;

use crate::api::respond::stack_headers;
use crate::api::state::AppState;

/// The answer of the liveness and readiness probes.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Probe {
    /// `up` or `down`.
    status: &'static str,
    /// Why, when down.
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

/// Every component (collector, cache, probe, alert notifier, the host's health indicators)
/// and the worst of them, with each notifier's latest delivery; 503 when unhealthy.
#[utoipa::path(get, path = "/health", tag = "health",
    responses(
        (status = 200, description = "{ status: healthy|degraded, checks, checkedAt }", body = perfkit::HealthReport),
        (status = 503, description = "{ status: unhealthy, checks, checkedAt }", body = perfkit::HealthReport),
    ))]
pub(crate) async fn health(State(state): State<AppState>) -> (StatusCode, Json<HealthReport>) {
    let report = state.service.readout().health();
    let status = match report.status {
        HealthStatus::Unhealthy => StatusCode::SERVICE_UNAVAILABLE,
        HealthStatus::Healthy | HealthStatus::Degraded => StatusCode::OK,
    };
    (status, Json(report))
}

/// The liveness answer, always the same.
const LIVE: &str = r#"{"status":"up"}"#;

/// The process answers.
#[utoipa::path(get, path = "/health/live", tag = "health",
    responses((status = 200, description = "The process answers", body = Probe)))]
pub(crate) async fn live() -> Response {
    let content_type = [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))];
    (stack_headers(), content_type, LIVE).into_response()
}

/// A first snapshot exists, the cache is reachable, and every critical health indicator is
/// up (non-critical ones never hold readiness back).
#[utoipa::path(get, path = "/health/ready", tag = "health",
    responses(
        (status = 200, description = "Ready to serve", body = Probe),
        (status = 503, description = "No snapshot yet, the cache unreachable, or a critical health check down; the reason says which", body = Probe),
    ))]
pub(crate) async fn ready(State(state): State<AppState>) -> (StatusCode, Json<Probe>) {
    match state.service.readout().readiness() {
        Ok(()) => (StatusCode::OK, Json(Probe { status: "up", reason: None })),
        Err(reason) => {
            (StatusCode::SERVICE_UNAVAILABLE, Json(Probe { status: "down", reason: Some(reason) }))
        }
    }
}
