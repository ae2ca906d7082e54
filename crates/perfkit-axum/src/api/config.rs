//! What the router is configured with: auth, the API prefix, limits, timeouts, the
//! dashboard's series; and the check `router` runs on it before it builds anything.

use std::time::Duration;

use serde::Deserialize;

use crate::api::dashboard_config::{DashboardConfig, MAX_BUSINESS_METRICS};
use crate::api::program_info::ProgramInfo;

/// Settings of [`router`](crate::router).
///
/// ```
/// use perfkit_axum::{ApiConfig, ApiConfigError};
///
/// let config = ApiConfig { admin_token: "correct-horse-battery".to_owned(), ..ApiConfig::default() };
/// assert_eq!(config.body_limit, 64 * 1024);
/// assert_eq!(config.api_prefix, "/api/performance");
/// assert!(!config.protect_reads);
/// assert!(config.validate().is_ok());
///
/// // An empty or weak token is refused before any route exists.
/// let weak = ApiConfig { admin_token: "aaaaaaaaaaaaaaaaaaaa".to_owned(), ..config };
/// assert!(matches!(weak.validate(), Err(ApiConfigError::WeakToken { .. })));
/// ```
///
/// It reads from a config file's table (camelCase, unknown fields refused, missing ones from
/// [`Default`], durations as [`perfkit::core::duration`] reads them) with every setting but the
/// token: where the token comes from (environment, its own setting, generated) is the
/// embedding program's rule, so `adminToken` here is an unknown field. The dashboard's
/// settings are read on their own ([`DashboardConfig`] deserializes), from the table the
/// program gives the page (perfkit-server's `[dashboard]`), so `dashboard` is unknown here
/// too.
///
/// ```
/// use std::time::Duration;
/// use perfkit_axum::ApiConfig;
///
/// let config: ApiConfig = serde_json::from_str(r#"{"requestTimeout": "5s"}"#).unwrap();
/// assert_eq!(config.request_timeout, Duration::from_secs(5));
/// assert!(serde_json::from_str::<ApiConfig>(r#"{"adminToken": "x"}"#).is_err());
/// ```
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(remote = "Self", rename_all = "camelCase", default, deny_unknown_fields)]
pub struct ApiConfig {
    /// The bearer token admin endpoints require: at least [`MIN_TOKEN_BYTES`] bytes and not
    /// one character repeated, or [`router`](crate::router) refuses to build (an empty token
    /// would lock the admin API for good, a short one can be guessed). Generating a token
    /// when none is configured is the embedding program's job, not the router's.
    #[serde(skip)]
    pub admin_token: String,
    /// Where the API is served, under the router's mount (default `/api/performance`): a
    /// path that starts with `/`, does not end with one, and holds only letters, digits and
    /// `-._~/` (no empty segment, no `.` or `..` segment). The dashboard page follows it.
    pub api_prefix: String,
    /// Put the read endpoints behind the token as well (`/health*` and `openapi.json` stay
    /// open).
    pub protect_reads: bool,
    /// Largest request body accepted, in bytes (default 64 KiB); larger ones get 413.
    pub body_limit: usize,
    /// Longest time a request may take before it is answered with 408 (default 30 s).
    #[serde(with = "perfkit::core::duration")]
    pub request_timeout: Duration,
    /// What the dashboard shows of the business series (`/dashboard`'s `business`).
    #[serde(skip)]
    pub dashboard: DashboardConfig,
    /// What `GET /info` says about the program serving the API: only the host knows it, so
    /// it is never read from a config file (default: perfkit's own version, the rest
    /// unknown).
    #[serde(skip)]
    pub program: ProgramInfo,
}

perfkit::core::maps_only!(deserialize: ApiConfig);

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            admin_token: String::new(),
            api_prefix: DEFAULT_API_PREFIX.to_owned(),
            protect_reads: false,
            body_limit: 64 * 1024,
            request_timeout: Duration::from_secs(30),
            dashboard: DashboardConfig::default(),
            program: ProgramInfo::default(),
        }
    }
}

// The token must never reach a log through `{:?}`.
impl std::fmt::Debug for ApiConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiConfig")
            .field("admin_token", &if self.admin_token.is_empty() { "<none>" } else { "<set>" })
            .field("api_prefix", &self.api_prefix)
            .field("protect_reads", &self.protect_reads)
            .field("body_limit", &self.body_limit)
            .field("request_timeout", &self.request_timeout)
            .field("dashboard", &self.dashboard)
            .field("program", &self.program)
            .finish()
    }
}

impl ApiConfig {
    /// Checks the settings [`router`](crate::router) cannot work with.
    ///
    /// # Errors
    /// [`ApiConfigError::EmptyToken`] or [`ApiConfigError::WeakToken`] for the admin token
    /// (weak: shorter than [`MIN_TOKEN_BYTES`] bytes, or one character repeated);
    /// [`ApiConfigError::InvalidPrefix`] for an API prefix that is not a plain path;
    /// [`ApiConfigError::TooManyBusinessMetrics`] for a dashboard asked to show too many.
    pub fn validate(&self) -> Result<(), ApiConfigError> {
        let token = self.admin_token.as_bytes();
        if token.is_empty() {
            return Err(ApiConfigError::EmptyToken);
        }
        if token.len() < MIN_TOKEN_BYTES {
            return Err(ApiConfigError::WeakToken {
                reason: format!("{} bytes, at least {MIN_TOKEN_BYTES} needed", token.len()),
            });
        }
        if token.iter().all(|byte| *byte == token[0]) {
            return Err(ApiConfigError::WeakToken { reason: "one character repeated".to_owned() });
        }
        validate_prefix(&self.api_prefix)?;
        self.dashboard.validate()
    }
}

/// Where the API is served by default.
pub(crate) const DEFAULT_API_PREFIX: &str = "/api/performance";

/// The shortest admin token [`ApiConfig::validate`] accepts, in bytes (128 bits of hex).
pub const MIN_TOKEN_BYTES: usize = 16;

/// Why [`router`](crate::router) refused an [`ApiConfig`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ApiConfigError {
    /// No admin token: the admin API would refuse everyone, for good.
    #[error(
        "the admin token is empty: set one (at least {MIN_TOKEN_BYTES} bytes), or generate one"
    )]
    EmptyToken,
    /// An admin token that can be guessed.
    #[error("the admin token is weak ({reason}): use at least {MIN_TOKEN_BYTES} random bytes")]
    WeakToken {
        /// What makes it weak.
        reason: String,
    },
    /// An entry of the dashboard's `businessMetrics` that is not `name` or
    /// `name{label="value",...}`.
    #[error("business metric {entry:?} refused: {reason}")]
    InvalidBusinessMetric {
        /// The entry as given (its first 80 characters).
        entry: String,
        /// What is wrong with it.
        reason: String,
    },
    /// More entries in the dashboard's `businessMetrics` than it shows.
    #[error("{count} business metrics for the dashboard, at most {MAX_BUSINESS_METRICS}")]
    TooManyBusinessMetrics {
        /// How many were given.
        count: usize,
    },
    /// An API prefix that is not a plain path.
    #[error("api prefix {prefix:?} refused: {reason}")]
    InvalidPrefix {
        /// The prefix given.
        prefix: String,
        /// What is wrong with it.
        reason: &'static str,
    },
}

fn validate_prefix(prefix: &str) -> Result<(), ApiConfigError> {
    let refuse = |reason| Err(ApiConfigError::InvalidPrefix { prefix: prefix.to_owned(), reason });
    let Some(rest) = prefix.strip_prefix('/') else {
        return refuse("it must start with /");
    };
    if rest.is_empty() {
        // The API's catch-all 404 would take every path of the host.
        return refuse("it must name a path below the mount, not / itself");
    }
    if rest.ends_with('/') {
        return refuse("it must not end with /");
    }
    let plain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~');
    for segment in rest.split('/') {
        if segment.is_empty() || segment == "." || segment == ".." {
            return refuse("it must not hold an empty, . or .. segment");
        }
        if !segment.chars().all(plain) {
            return refuse("only letters, digits and -._~ may name a segment");
        }
    }
    if prefix == "/assets" || prefix.starts_with("/assets/") {
        return refuse("/assets is the dashboard's");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_token() {
        let config = ApiConfig { admin_token: "hunter2".to_owned(), ..ApiConfig::default() };
        let shown = format!("{config:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("<set>"), "{shown}");
    }

    #[test]
    fn reads_every_setting_but_the_token() {
        let config: ApiConfig = serde_json::from_str(
            r#"{"protectReads": true, "bodyLimit": 1024, "requestTimeout": 5000, "apiPrefix": "/perf"}"#,
        )
        .unwrap();
        let expected = ApiConfig {
            api_prefix: "/perf".to_owned(),
            protect_reads: true,
            body_limit: 1024,
            request_timeout: Duration::from_secs(5),
            ..ApiConfig::default()
        };
        assert_eq!(config, expected);
        assert_eq!(serde_json::from_str::<ApiConfig>("{}").unwrap(), ApiConfig::default());
        for refused in
            [r#"{"adminToken": "x"}"#, r#"{"admin_token": "x"}"#, r#"{"program": {}}"#, "[]"]
        {
            assert!(serde_json::from_str::<ApiConfig>(refused).is_err(), "{refused}");
        }
    }

    fn with_token(token: &str) -> ApiConfig {
        ApiConfig { admin_token: token.to_owned(), ..ApiConfig::default() }
    }

    #[test]
    fn empty_short_and_repeated_tokens_are_refused() {
        assert_eq!(with_token("").validate(), Err(ApiConfigError::EmptyToken));
        for weak in ["s3cret", "0123456789abcde", &"x".repeat(64)] {
            let refused = with_token(weak).validate();
            assert!(matches!(refused, Err(ApiConfigError::WeakToken { .. })), "{weak}");
        }
        assert_eq!(with_token("0123456789abcdef").validate(), Ok(()));
        let message = with_token("").validate().unwrap_err().to_string();
        assert!(message.contains("empty"), "{message}");
    }

    #[test]
    fn only_plain_prefixes_are_accepted() {
        let token = "0123456789abcdef";
        let with_prefix =
            |prefix: &str| ApiConfig { api_prefix: prefix.to_owned(), ..with_token(token) };
        for good in ["/api/performance", "/perf", "/v1/ops.metrics", "/a-b_c~d"] {
            assert_eq!(with_prefix(good).validate(), Ok(()), "{good}");
        }
        for bad in [
            "",
            "/",
            "api",
            "/api/",
            "//api",
            "/a//b",
            "/a/../b",
            "/a/{id}",
            "/a/*",
            "/a b",
            "/assets",
            "/assets/x",
            "/é",
        ] {
            let refused = with_prefix(bad).validate();
            assert!(matches!(refused, Err(ApiConfigError::InvalidPrefix { .. })), "{bad:?}");
        }
    }
}
