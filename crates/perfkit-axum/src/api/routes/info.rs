//! `GET /info`: the program serving the API (what the host put in `ApiConfig::program`),
//! and its start time and uptime as the recorder, their one owner, tells them.

use axum::Json;
use axum::extract::State;
use perfkit::core::Timestamp;
use serde::Serialize;
use utoipa::ToSchema;

use crate::api::auth::Reader;
use crate::api::refusals::ReadRefusals;
use crate::api::state::AppState;

/// The answer of `GET /info`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Info {
    /// The program serving the API (`perfkit-server`; `perfkit` when the host did not say).
    name: String,
    /// Its version.
    version: String,
    /// The commit it was built from, short; `unknown` when built outside git.
    git_commit: String,
    /// When it was built (RFC 3339, UTC); `null` when not known.
    build_time: Option<Timestamp>,
    /// The compiler that built it; `unknown` when not known.
    rustc: String,
    /// When the process started (RFC 3339, UTC).
    start_time: Timestamp,
    /// Whole seconds since then.
    uptime_seconds: u64,
    /// Where its settings came from: a config file's path, `environment and flags`, or
    /// `defaults`; `unknown` when the host did not say.
    config_source: String,
    /// The cargo features it was built with.
    features: Vec<String>,
}

/// Name, version, commit, build time and compiler of the program serving the API, when it
/// started, and where its settings came from.
#[utoipa::path(get, path = "/info", tag = "meta",
    responses(
        (status = 200, description = "The program serving the API and its build", body = Info),
        ReadRefusals,
    ))]
pub(crate) async fn info(_: Reader, State(state): State<AppState>) -> Json<Info> {
    let program = &state.config.program;
    let recorder = state.service.recorder();
    Json(Info {
        name: program.name.clone(),
        version: program.version.clone(),
        git_commit: program.git_commit.clone(),
        build_time: program.build_time,
        rustc: program.rustc.clone(),
        start_time: recorder.started_at(),
        uptime_seconds: recorder.uptime().as_secs(),
        config_source: program.config_source.clone(),
        features: program.features.clone(),
    })
}
