//! Optimizer history, recommendations, runs, config, auto switch, kill switch.

use axum::Json;
use axum::extract::State;
use perfkit::OptimizationRun;
use perfkit::core::Timestamp;
use perfkit::optimizer::{OptimizerConfig, Recommendation, RunRecord};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::auth::{Admin, Reader};
use crate::api::refusals::{AdminRefusals, ReadRefusals};
use crate::api::state::AppState;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiQuery, LimitQuery};

/// Runs `/optimization/history` returns when no limit is given.
const DEFAULT_RUNS: usize = 50;

/// The body and answer of `PUT /optimization/auto`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct AutoSwitch {
    /// Auto-optimization on or off.
    enabled: bool,
}

/// Past runs, newest first.
#[utoipa::path(get, path = "/optimization/history", tag = "optimization",
    params(LimitQuery),
    responses(
        (status = 200, description = "Runs with before/after figures, newest first (default limit 50)", body = [perfkit::optimizer::RunRecord]),
        (status = 400, description = "The query does not parse", body = ErrorBody),
        ReadRefusals,
        (status = 422, description = "limit is outside 1..=1000", body = ErrorBody),
    ))]
pub(crate) async fn history(
    _: Reader,
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<LimitQuery>,
) -> Result<Json<Vec<RunRecord>>, ApiError> {
    let limit = query.resolve(DEFAULT_RUNS)?;
    Ok(Json(state.service.parts().optimizer.history(limit)))
}

/// What the rules recommend now, with the reason and the figures behind it.
#[utoipa::path(get, path = "/optimization/recommendations", tag = "optimization",
    responses(
        (status = 200, description = "Recommendations, most urgent first", body = [perfkit::optimizer::Recommendation]),
        ReadRefusals,
    ))]
pub(crate) async fn recommendations(
    _: Reader,
    State(state): State<AppState>,
) -> Json<Vec<Recommendation>> {
    Json(crate::api::views::recommendations(&state.service).await)
}

/// Runs the actions whose triggers fire now and whose cooldown has passed. Stabilization
/// (a trigger held for several checks) guards scheduled runs only; cooldowns, bounds and the
/// kill switch still apply.
#[utoipa::path(post, path = "/optimization/run", tag = "optimization",
    security(("adminToken" = [])),
    responses(
        (status = 200, description = "The run record: per recommendation, what was done (taken) or why not (skipped with a reason, or failed)", body = perfkit::optimizer::RunRecord),
        AdminRefusals,
        (status = 409, description = "Another instance on the same cache is still running the optimizer after the wait (lockWait); nothing was done", body = ErrorBody),
        (status = 503, description = "The cache holding the optimizer's lock did not answer", body = ErrorBody),
    ))]
pub(crate) async fn run(
    _: Admin,
    State(state): State<AppState>,
) -> Result<Json<RunRecord>, ApiError> {
    Ok(Json(state.service.optimize(OptimizationRun::Triggered).await?))
}

/// Runs every action now, triggers and cooldowns ignored, safety bounds kept.
#[utoipa::path(post, path = "/optimization/force", tag = "optimization",
    security(("adminToken" = [])),
    responses(
        (status = 200, description = "The run record", body = perfkit::optimizer::RunRecord),
        AdminRefusals,
        (status = 409, description = "Another instance on the same cache is still running the optimizer after the wait (lockWait); nothing was done", body = ErrorBody),
        (status = 503, description = "The cache holding the optimizer's lock did not answer", body = ErrorBody),
    ))]
pub(crate) async fn force(
    _: Admin,
    State(state): State<AppState>,
) -> Result<Json<RunRecord>, ApiError> {
    Ok(Json(state.service.optimize(OptimizationRun::Forced).await?))
}

/// The optimizer config.
#[utoipa::path(get, path = "/optimization/config", tag = "optimization",
    responses(
        (status = 200, description = "The optimizer config (cacheOptimization.hitRateThreshold, ...)", body = perfkit::optimizer::OptimizerConfig),
        ReadRefusals,
    ))]
pub(crate) async fn config(_: Reader, State(state): State<AppState>) -> Json<OptimizerConfig> {
    Json(state.service.parts().optimizer.config())
}

/// Replaces the optimizer config after validation; an invalid one is refused whole.
#[utoipa::path(put, path = "/optimization/config", tag = "optimization",
    security(("adminToken" = [])),
    request_body(content = perfkit::optimizer::OptimizerConfig, description = "The whole optimizer config, as GET returns it"),
    responses(
        (status = 200, description = "The config now in force", body = perfkit::optimizer::OptimizerConfig),
        (status = 400, description = "Malformed JSON, wrong types or unknown fields", body = ErrorBody),
        AdminRefusals,
        (status = 413, description = "Body over the limit", body = ErrorBody),
        (status = 415, description = "Not application/json", body = ErrorBody),
        (status = 422, description = "Invalid config, every problem listed; the old one stays", body = ErrorBody),
    ))]
pub(crate) async fn update_config(
    _: Admin,
    State(state): State<AppState>,
    ApiJson(config): ApiJson<OptimizerConfig>,
) -> Result<Json<OptimizerConfig>, ApiError> {
    state.service.parts().optimizer.update_config(config).map_err(perfkit::PerfkitError::from)?;
    Ok(Json(state.service.parts().optimizer.config()))
}

/// Turns auto-optimization on or off.
#[utoipa::path(put, path = "/optimization/auto", tag = "optimization",
    security(("adminToken" = [])),
    request_body = AutoSwitch,
    responses(
        (status = 200, description = "The switch as now set", body = AutoSwitch),
        (status = 400, description = "Malformed JSON or wrong types", body = ErrorBody),
        AdminRefusals,
        (status = 415, description = "Not application/json", body = ErrorBody),
    ))]
pub(crate) async fn set_auto(
    _: Admin,
    State(state): State<AppState>,
    ApiJson(switch): ApiJson<AutoSwitch>,
) -> Json<AutoSwitch> {
    state.service.parts().optimizer.set_auto(switch.enabled);
    Json(AutoSwitch { enabled: state.service.parts().optimizer.config().mode.auto })
}

/// Whether the flip-flop kill switch has stopped the optimizer.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct KillSwitchView {
    /// True while automation is stopped: scheduled and manual runs skip their actions
    /// (`killSwitch`); forced runs still act.
    tripped: bool,
    /// When it tripped.
    #[serde(skip_serializing_if = "Option::is_none")]
    at: Option<Timestamp>,
    /// Why, in words.
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

impl KillSwitchView {
    fn of(state: &AppState) -> Self {
        match state.service.parts().optimizer.kill_switch() {
            Some(trip) => {
                KillSwitchView { tripped: true, at: Some(trip.at), reason: Some(trip.reason) }
            }
            None => KillSwitchView { tripped: false, at: None, reason: None },
        }
    }
}

/// The optimizer's kill switch: tripped when worker scaling changed direction too often.
#[utoipa::path(get, path = "/optimization/kill-switch", tag = "optimization",
    responses(
        (status = 200, description = "{ tripped, at?, reason? }", body = KillSwitchView),
        ReadRefusals,
    ))]
pub(crate) async fn kill_switch(_: Reader, State(state): State<AppState>) -> Json<KillSwitchView> {
    Json(KillSwitchView::of(&state))
}

/// Resets the kill switch: automation acts again from the next run.
#[utoipa::path(delete, path = "/optimization/kill-switch", tag = "optimization",
    security(("adminToken" = [])),
    responses(
        (status = 200, description = "The switch after the reset ({ tripped: false })", body = KillSwitchView),
        AdminRefusals,
    ))]
pub(crate) async fn reset_kill_switch(
    _: Admin,
    State(state): State<AppState>,
) -> Json<KillSwitchView> {
    let optimizer = &state.service.parts().optimizer;
    if let Some(trip) = optimizer.kill_switch() {
        tracing::info!(tripped_at = %trip.at, reason = %trip.reason, "optimizer kill switch reset over the API");
    }
    optimizer.reset_kill_switch();
    Json(KillSwitchView::of(&state))
}
