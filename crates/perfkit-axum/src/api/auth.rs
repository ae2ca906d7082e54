//! Bearer-token auth as extractors: a handler that names [`Admin`] or [`Reader`] in its
//! arguments cannot run without passing the check, and the check runs before the body is
//! read, so a refused request changes nothing.
//!
//! A request without an `Authorization` header is answered 401 and counted nowhere: it is
//! no guess (RFC 6750 asks for 401 there), and a browser's first request has none. A wrong
//! token is a guess: guesses are counted per client address (`AuthThrottle`), and past
//! the limit the address is answered 429 without its token being looked at. Every admin action, allowed
//! or refused, leaves one audit line (target `perfkit::audit`): what (method and route),
//! from where (the client address), when (the line's timestamp), never the token.

use std::net::IpAddr;

use axum::extract::{FromRequestParts, MatchedPath};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use crate::api::state::AppState;
use crate::error::ApiError;

/// Longest request path written to an audit line.
const MAX_AUDIT_PATH: usize = 256;

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
        let client = state.auth_throttle.client(parts);
        match authenticate(parts, state, client) {
            Ok(()) => {
                tracing::info!(
                    target: "perfkit::audit",
                    action = %action(parts),
                    path = audit_path(parts),
                    client = %shown(client),
                    "admin action"
                );
                Ok(Admin(state.clone()))
            }
            Err(error) => {
                tracing::warn!(
                    target: "perfkit::audit",
                    action = %action(parts),
                    path = audit_path(parts),
                    client = %shown(client),
                    reason = error.code(),
                    "admin action refused"
                );
                Err(error)
            }
        }
    }
}

impl FromRequestParts<AppState> for Reader {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if !state.config.protect_reads {
            return Ok(Reader);
        }
        authenticate(parts, state, state.auth_throttle.client(parts)).map(|()| Reader)
    }
}

/// Checks the token: none at all is 401 and not counted; a token from an address that
/// guessed wrong too often lately is 429 unlooked-at; a wrong one is 401 and counted.
fn authenticate(parts: &Parts, state: &AppState, client: Option<IpAddr>) -> Result<(), ApiError> {
    let Some(presented) = parts.headers.get(AUTHORIZATION) else {
        tracing::debug!(method = %parts.method, path = audit_path(parts), "refused: no Authorization header");
        return Err(ApiError::Unauthorized);
    };
    let throttle = &state.auth_throttle;
    if let Some(retry_after) = client.and_then(|client| throttle.blocked(client)) {
        return Err(ApiError::TooManyAttempts { retry_after });
    }
    let token = presented.to_str().ok().and_then(bearer_token);
    if token.is_some_and(|token| token_matches(token, &state.config.admin_token)) {
        if let Some(client) = client {
            throttle.record_success(client);
        }
        return Ok(());
    }
    tracing::debug!(method = %parts.method, path = audit_path(parts), "refused: wrong bearer token");
    if let Some(client) = client {
        throttle.record_failure(client);
    }
    Err(ApiError::Unauthorized)
}

/// `METHOD /route/{template}`: what was asked, by route, not by raw path.
fn action(parts: &Parts) -> String {
    let route = parts.extensions.get::<MatchedPath>().map_or("<unmatched>", MatchedPath::as_str);
    format!("{} {route}", parts.method)
}

/// The request path, cut to [`MAX_AUDIT_PATH`] bytes (at a character boundary).
fn audit_path(parts: &Parts) -> &str {
    let path = parts.uri.path();
    let mut end = path.len().min(MAX_AUDIT_PATH);
    while !path.is_char_boundary(end) {
        end -= 1;
    }
    &path[..end]
}

fn shown(client: Option<IpAddr>) -> String {
    client.map_or_else(|| "unknown".to_owned(), |address| address.to_string())
}

/// The token of an `Authorization: Bearer <token>` value (the scheme is case-insensitive).
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Whether `presented` is the configured token. An empty configured token matches nothing
/// (`router` refuses one; this holds whatever the config).
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
