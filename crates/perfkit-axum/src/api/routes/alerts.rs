//! Active alerts and alert rules.

use crate::api::views::AlertsView;
use axum::Json;
use axum::extract::State;
use perfkit::alerting::{AlertingError, RuleSet};
use serde::Serialize;
use utoipa::ToSchema;

use crate::api::auth::{Admin, Reader};
use crate::api::refusals::{AdminRefusals, ReadRefusals};
use crate::api::state::AppState;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{JsonBytes, whole_numbers_as_integers};

/// What `DELETE /alerts` answers.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AlertsCleared {
    /// Active alerts dropped.
    cleared: usize,
}

/// Active alerts and recent history.
#[utoipa::path(get, path = "/alerts", tag = "alerts",
    responses(
        (status = 200, description = "{ active, history }", body = AlertsView),
        ReadRefusals,
    ))]
pub(crate) async fn active(_: Reader, State(state): State<AppState>) -> Json<AlertsView> {
    Json(AlertsView::of(&state.service))
}

/// Clears active alerts (they fire again if their condition still holds).
#[utoipa::path(delete, path = "/alerts", tag = "alerts",
    security(("adminToken" = [])),
    responses(
        (status = 200, description = "How many were cleared", body = AlertsCleared),
        AdminRefusals,
    ))]
pub(crate) async fn clear(_: Admin, State(state): State<AppState>) -> Json<AlertsCleared> {
    Json(AlertsCleared { cleared: state.service.parts().alerts.clear() })
}

/// The alert rules in force.
#[utoipa::path(get, path = "/alerts/rules", tag = "alerts",
    responses(
        (status = 200, description = "{ rules: [...] }", body = perfkit::alerting::RuleSet),
        ReadRefusals,
    ))]
pub(crate) async fn rules(_: Reader, State(state): State<AppState>) -> Json<RuleSet> {
    Json(state.service.parts().alerts.rules())
}

/// Replaces the alert rules; an invalid set is refused whole with every problem listed.
#[utoipa::path(put, path = "/alerts/rules", tag = "alerts",
    security(("adminToken" = [])),
    request_body(content = perfkit::alerting::RuleSet, description = "{ rules: [...] }, as GET returns it"),
    responses(
        (status = 200, description = "The rules now in force", body = perfkit::alerting::RuleSet),
        (status = 400, description = "Not JSON, or not an object with a rules array", body = ErrorBody),
        AdminRefusals,
        (status = 413, description = "Body over the limit", body = ErrorBody),
        (status = 415, description = "Not application/json", body = ErrorBody),
        (status = 422, description = "Invalid rules, every problem listed; the old set stays", body = ErrorBody),
    ))]
pub(crate) async fn update_rules(
    _: Admin,
    State(state): State<AppState>,
    JsonBytes(body): JsonBytes,
) -> Result<Json<RuleSet>, ApiError> {
    let mut document: serde_json::Value =
        serde_json::from_slice(&body).map_err(|error| ApiError::InvalidJson(error.to_string()))?;
    whole_numbers_as_integers(&mut document);
    let text = document.to_string();
    // RuleSet::from_json reads each rule on its own, so one bad rule does not hide the
    // problems of the others.
    let rules = RuleSet::from_json(&text).map_err(|error| match error {
        AlertingError::Parse { reason, .. } => ApiError::InvalidJson(reason),
        other => ApiError::from(perfkit::PerfkitError::from(other)),
    })?;
    let alerts = &state.service.parts().alerts;
    alerts.replace_rules(rules).map_err(perfkit::PerfkitError::from)?;
    Ok(Json(alerts.rules()))
}
