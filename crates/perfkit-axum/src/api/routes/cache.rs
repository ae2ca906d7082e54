//! Cache statistics, clearing, pattern deletion, optimization.

use axum::Json;
use axum::extract::State;
use perfkit::PerfkitError;
use perfkit::cache::OptimizeReport;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::auth::{Admin, Reader};
use crate::api::refusals::{AdminRefusals, ReadRefusals};
use crate::api::state::AppState;
use crate::api::views::CacheView;
use crate::error::{ApiError, ErrorBody};
use crate::extract::ApiJson;

/// Longest pattern accepted, in characters (as JSON Schema's `maxLength` counts them).
pub(crate) const MAX_PATTERN_LEN: usize = 256;

/// The body of `DELETE /cache/pattern`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct PatternBody {
    /// A literal key prefix inside the cache's namespace (`user` deletes `user*`), without
    /// control characters.
    #[schema(min_length = 1, max_length = 256, pattern = r"^[^\x00-\x1F\x7F-\x9F]*$")]
    pattern: String,
}

/// How many keys a clear or a pattern deletion removed.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Deleted {
    /// Keys deleted.
    deleted: u64,
    /// The prefix, for a pattern deletion.
    #[serde(skip_serializing_if = "Option::is_none")]
    pattern: Option<String>,
}

/// Hits, misses, hit rate, keys, bytes (the namespace's own), evictions, errors, backend,
/// connected, per key prefix; the host's own caches beside them; with a host's cache warmer,
/// its figures under `warming` (the warmer owns them).
#[utoipa::path(get, path = "/cache/stats", tag = "cache",
    responses(
        (status = 200, description = "Cache statistics", body = CacheView),
        ReadRefusals,
    ))]
pub(crate) async fn stats(_: Reader, State(state): State<AppState>) -> Json<CacheView> {
    let stats = state.service.parts().cache_admin.stats().await;
    Json(CacheView::with(&state.service, stats))
}

/// Clears every key in the cache's own namespace, nothing else. With Redis, that namespace
/// is shared by every instance on it: clears sent to several instances at once take turns,
/// so it is cleared once and the others find it empty.
#[utoipa::path(delete, path = "/cache", tag = "cache",
    security(("adminToken" = [])),
    responses(
        (status = 200, description = "Keys deleted", body = Deleted),
        AdminRefusals,
        (status = 409, description = "Another instance's clear is still running after the wait (lockWait)", body = ErrorBody),
        (status = 503, description = "The cache did not answer", body = ErrorBody),
    ))]
pub(crate) async fn clear(
    _: Admin,
    State(state): State<AppState>,
) -> Result<Json<Deleted>, ApiError> {
    let deleted = state.service.clear_cache().await?;
    Ok(Json(Deleted { deleted, pattern: None }))
}

/// Deletes the keys under a prefix; returns the count.
#[utoipa::path(delete, path = "/cache/pattern", tag = "cache",
    security(("adminToken" = [])),
    request_body = PatternBody,
    responses(
        (status = 200, description = "Keys deleted", body = Deleted),
        (status = 400, description = "Malformed JSON or wrong types", body = ErrorBody),
        AdminRefusals,
        (status = 413, description = "Body over the limit", body = ErrorBody),
        (status = 415, description = "Not application/json", body = ErrorBody),
        (status = 422, description = "Empty or over-long pattern", body = ErrorBody),
        (status = 503, description = "The cache did not answer", body = ErrorBody),
    ))]
pub(crate) async fn delete_pattern(
    _: Admin,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<PatternBody>,
) -> Result<Json<Deleted>, ApiError> {
    let pattern = validate_pattern(body.pattern)?;
    let deleted = state
        .service
        .parts()
        .cache_admin
        .delete_pattern(&pattern)
        .await
        .map_err(PerfkitError::from)?;
    Ok(Json(Deleted { deleted, pattern: Some(pattern) }))
}

/// An empty prefix would clear the whole namespace (that is `DELETE /cache`), and control
/// characters have no place in keys.
fn validate_pattern(pattern: String) -> Result<String, ApiError> {
    let mut problems = Vec::new();
    if pattern.is_empty() {
        problems.push("pattern must not be empty (DELETE /cache clears everything)".to_owned());
    }
    let length = pattern.chars().count();
    if length > MAX_PATTERN_LEN {
        problems
            .push(format!("pattern must be at most {MAX_PATTERN_LEN} characters, got {length}"));
    }
    if pattern.chars().any(char::is_control) {
        problems.push("pattern must not contain control characters".to_owned());
    }
    if problems.is_empty() {
        Ok(pattern)
    } else {
        Err(ApiError::Invalid { what: "pattern", problems })
    }
}

/// Runs cache optimization; returns what it did with before/after figures.
#[utoipa::path(post, path = "/cache/optimize", tag = "cache",
    security(("adminToken" = [])),
    responses(
        (status = 200, description = "What the optimization did", body = perfkit::cache::OptimizeReport),
        AdminRefusals,
        (status = 503, description = "The cache did not answer", body = ErrorBody),
    ))]
pub(crate) async fn optimize(
    _: Admin,
    State(state): State<AppState>,
) -> Result<Json<OptimizeReport>, ApiError> {
    Ok(Json(state.service.parts().cache_admin.optimize().await.map_err(PerfkitError::from)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_are_checked() {
        assert_eq!(validate_pattern("user".to_owned()).unwrap(), "user");
        for bad in [String::new(), "x".repeat(MAX_PATTERN_LEN + 1), "a\nb".to_owned()] {
            assert_eq!(validate_pattern(bad).unwrap_err().code(), "validation_failed");
        }
    }
}
