//! The live instances sharing this server's cache, each with its latest snapshot.

use axum::Json;
use axum::extract::State;
use perfkit::InstanceInfo;
use serde::Serialize;
use utoipa::ToSchema;

use crate::api::auth::Reader;
use crate::api::refusals::ReadRefusals;
use crate::api::state::AppState;
use crate::error::{ApiError, ErrorBody};

/// The answer of `GET /instances`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Instances {
    /// The id of the instance that answered.
    answered_by: String,
    /// Every live instance (announced within three collect intervals), sorted by id.
    instances: Vec<InstanceInfo>,
}

/// The instances on this server's cache: with Redis, every server sharing its Redis and
/// namespace; with the in-memory cache, this one alone.
#[utoipa::path(get, path = "/instances", tag = "instances",
    responses(
        (status = 200, description = "The live instances, each with its latest snapshot and score", body = Instances),
        ReadRefusals,
        (status = 503, description = "The cache did not answer", body = ErrorBody),
    ))]
pub(crate) async fn list(
    _: Reader,
    State(state): State<AppState>,
) -> Result<Json<Instances>, ApiError> {
    let instances = state.service.readout().instances().await?;
    Ok(Json(Instances { answered_by: state.service.config().instance.clone(), instances }))
}
