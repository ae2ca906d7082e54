//! Bearer-token auth as extractors: a handler that names [`Admin`] or [`Reader`] in its
//! arguments cannot run without passing the check, and the check runs before the body is
//! read, so a refused request changes nothing.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use crate::error::ApiError;
use crate::state::AppState;

/// Proof that the request carries the admin token.
///
/// Every write through the API names it, so it also marks the prepared `/summary` and
/// `/dashboard` out of date when it is dropped, at the end of the handler, after the
/// write (async fn arguments, `_` ones included, live until the body ends).
pub(crate) struct Admin(AppState);

impl Drop for Admin {
    fn drop(&mut self) {
        self.0.answers.written();
    }
}

/// Proof that the request may read: always, unless reads are protected.
pub(crate) struct Reader;

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if carries_token(parts, &state.config.admin_token) {
            Ok(Admin(state.clone()))
        } else {
            Err(refuse(parts))
        }
    }
}

impl FromRequestParts<AppState> for Reader {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if !state.config.protect_reads || carries_token(parts, &state.config.admin_token) {
            Ok(Reader)
        } else {
            Err(refuse(parts))
        }
    }
}

fn refuse(parts: &Parts) -> ApiError {
    tracing::debug!(method = %parts.method, path = parts.uri.path(), "refused: no valid bearer token");
    ApiError::Unauthorized
}

fn carries_token(parts: &Parts, token: &str) -> bool {
    let Some(presented) = parts
        .headers
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(bearer_token)
    else {
        return false;
    };
    token_matches(presented, token)
}

/// The token of an `Authorization: Bearer <token>` value (the scheme is case-insensitive).
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Whether `presented` is the configured token. An empty configured token matches nothing.
/// The comparison takes the same time wherever the first difference is, so response times
/// do not reveal how much of a guess was right (only the length can be learned, and the
/// server's generated tokens all have the same length).
fn token_matches(presented: &str, expected: &str) -> bool {
    let (presented, expected) = (presented.as_bytes(), expected.as_bytes());
    if expected.is_empty() || presented.len() != expected.len() {
        return false;
    }
    let difference =
        presented.iter().zip(expected).fold(0u8, |acc, (left, right)| acc | (left ^ right));
    std::hint::black_box(difference) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_token_matches() {
        assert!(token_matches("abc123", "abc123"));
        assert!(!token_matches("abc124", "abc123"));
        assert!(!token_matches("abc12", "abc123"));
        assert!(!token_matches("abc1234", "abc123"));
        assert!(!token_matches("", ""), "an empty configured token refuses everyone");
        assert!(!token_matches("x", ""));
    }

    #[test]
    fn bearer_values_are_parsed() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("bearer  abc "), Some("abc"));
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearer"), None);
    }
}
