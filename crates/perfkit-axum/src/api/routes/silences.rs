//! Silences over the API, in Alertmanager's API v2 shape: list, create, expire. A silence mutes
//! the notifications of the alerts its matchers select from the next evaluation until it ends;
//! alerts still change state and still show in `/alerts`.

use axum::Json;
use axum::extract::State;
use perfkit::alerting::{AlertingError, LabelMatcher, MAX_SILENCE_AUTHOR_LEN, Silence};
use perfkit::core::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::auth::{Admin, Reader};
use crate::api::refusals::{AdminRefusals, ReadRefusals};
use crate::api::state::AppState;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiPath};

/// One matcher, as Alertmanager writes it: `name` equal (or, with `isEqual: false`, not
/// equal) to `value`. Regular-expression matchers are refused.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct Matcher {
    /// The label name (`alertname`, `severity`, `metric` or a rule's own label).
    #[schema(max_length = 1024)]
    name: String,
    /// The value it must have.
    #[schema(max_length = 1024)]
    value: String,
    /// Must be false: perfkit matches values literally.
    #[serde(default)]
    is_regex: bool,
    /// False for "not equal" (default true).
    #[serde(default = "yes")]
    is_equal: bool,
}

fn yes() -> bool {
    true
}

/// A silence to create (Alertmanager's `PostableSilence`, without `id`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct NewSilence {
    /// Every matcher must match for an alert to be silenced; at least one.
    #[schema(min_items = 1, max_items = 32)]
    matchers: Vec<Matcher>,
    /// From when it applies (RFC 3339); default now.
    #[serde(default)]
    starts_at: Option<Timestamp>,
    /// Until when it applies (RFC 3339), after `startsAt` and in the future.
    ends_at: Timestamp,
    /// Who adds it.
    #[schema(min_length = 1, max_length = 256)]
    created_by: String,
    /// Why.
    #[schema(min_length = 1, max_length = 4096)]
    comment: String,
}

/// A silence's state, by the server's clock.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SilenceStatus {
    /// `active` (in force) or `pending` (yet to start).
    state: &'static str,
}

/// A silence as listed (Alertmanager's `GettableSilence`).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SilenceView {
    /// Its id, for `DELETE /alerts/silences/{id}`.
    id: String,
    /// Whether it is in force.
    status: SilenceStatus,
    /// The matchers.
    matchers: Vec<Matcher>,
    /// From when it applies.
    starts_at: Timestamp,
    /// Until when it applies.
    ends_at: Timestamp,
    /// Who added it.
    created_by: String,
    /// Why.
    comment: String,
}

impl SilenceView {
    fn of(silence: Silence, state: &'static str) -> Self {
        let matchers = silence
            .matchers
            .into_iter()
            .flat_map(|m| {
                let (name, is_equal) = (m.label, !m.negated);
                m.any_of.into_iter().map(move |value| Matcher {
                    name: name.clone(),
                    value,
                    is_regex: false,
                    is_equal,
                })
            })
            .collect();
        SilenceView {
            id: silence.id.to_string(),
            status: SilenceStatus { state },
            matchers,
            starts_at: silence.starts_at,
            ends_at: silence.ends_at,
            created_by: silence.created_by,
            comment: silence.comment,
        }
    }
}

/// What `DELETE /alerts/silences/{id}` answers.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SilenceExpired {
    /// The silence expired.
    id: String,
}

/// The silences in force or yet to start.
#[utoipa::path(get, path = "/alerts/silences", tag = "alerts",
    responses(
        (status = 200, description = "Silences, in the order they were added", body = [SilenceView]),
        ReadRefusals,
    ))]
pub(crate) async fn list(_: Reader, State(state): State<AppState>) -> Json<Vec<SilenceView>> {
    let silences = state.service.parts().alerts.silences_with_state();
    Json(silences.into_iter().map(|(silence, state)| SilenceView::of(silence, state)).collect())
}

/// Adds a silence: the alerts its matchers select are not notified while it holds.
#[utoipa::path(post, path = "/alerts/silences", tag = "alerts",
    security(("adminToken" = [])),
    request_body = NewSilence,
    responses(
        (status = 200, description = "The silence as added, with its id", body = SilenceView),
        (status = 400, description = "Malformed JSON, wrong types or unknown fields", body = ErrorBody),
        AdminRefusals,
        (status = 413, description = "Body over the limit", body = ErrorBody),
        (status = 415, description = "Not application/json", body = ErrorBody),
        (status = 422, description = "Invalid silence (no matchers, a regex, an end in the past, too many silences); nothing changed", body = ErrorBody),
    ))]
pub(crate) async fn create(
    _: Admin,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<NewSilence>,
) -> Result<Json<SilenceView>, ApiError> {
    let silence = to_silence(body)?;
    let alerts = &state.service.parts().alerts;
    let id = alerts.add_silence(silence).map_err(silence_error)?;
    let (silence, state) = alerts
        .silences_with_state()
        .into_iter()
        .find(|(silence, _)| silence.id == id)
        .ok_or_else(|| ApiError::Internal(format!("silence {id} vanished as it was added")))?;
    Ok(Json(SilenceView::of(silence, state)))
}

/// Expires a silence now; the alerts it muted are notified again from the next evaluation.
#[utoipa::path(delete, path = "/alerts/silences/{id}", tag = "alerts",
    security(("adminToken" = [])),
    params(("id" = String, Path, description = "The silence's id, as listed")),
    responses(
        (status = 200, description = "The silence is expired", body = SilenceExpired),
        AdminRefusals,
        (status = 404, description = "No silence in force or pending has this id", body = ErrorBody),
    ))]
pub(crate) async fn expire(
    _: Admin,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<SilenceExpired>, ApiError> {
    let unknown = || ApiError::NoSuchResource(format!("no silence with id {id:?}"));
    let number: u64 = id.parse().map_err(|_| unknown())?;
    state.service.parts().alerts.expire_silence(number).map_err(|_| unknown())?;
    Ok(Json(SilenceExpired { id: number.to_string() }))
}

fn to_silence(body: NewSilence) -> Result<Silence, ApiError> {
    let invalid = |problem: String| ApiError::Invalid { what: "silence", problems: vec![problem] };
    if body.created_by.trim().is_empty() || body.created_by.len() > MAX_SILENCE_AUTHOR_LEN {
        return Err(invalid(format!("createdBy must be 1 to {MAX_SILENCE_AUTHOR_LEN} bytes")));
    }
    if body.comment.trim().is_empty() {
        return Err(invalid("comment must say why the silence is added".to_owned()));
    }
    if let Some(regex) = body.matchers.iter().find(|m| m.is_regex) {
        return Err(invalid(format!(
            "matcher on {:?} is a regular expression; perfkit matches values literally",
            regex.name
        )));
    }
    let matchers = body
        .matchers
        .into_iter()
        .map(|m| {
            let matcher = LabelMatcher::equal(&m.name, &m.value);
            LabelMatcher { negated: !m.is_equal, ..matcher }
        })
        .collect();
    Ok(Silence {
        id: 0,
        matchers,
        // Absent or in the past: from now (the engine moves it up, as Alertmanager does).
        starts_at: body.starts_at.unwrap_or(Timestamp::UNIX_EPOCH),
        ends_at: body.ends_at,
        created_by: body.created_by,
        comment: body.comment,
    })
}

fn silence_error(error: AlertingError) -> ApiError {
    match error {
        AlertingError::InvalidSilence(problem) => {
            ApiError::Invalid { what: "silence", problems: vec![problem] }
        }
        other => ApiError::Internal(other.to_string()),
    }
}
