//! What the router is configured with: auth, limits, timeouts.

use std::time::Duration;

use serde::Deserialize;

/// Settings of [`router`](crate::router).
///
/// ```
/// use perfkit_axum::ApiConfig;
///
/// let config = ApiConfig { admin_token: "s3cret".to_owned(), ..ApiConfig::default() };
/// assert_eq!(config.body_limit, 64 * 1024);
/// assert!(!config.protect_reads);
/// ```
///
/// It reads from a config file's table (camelCase, unknown fields refused, missing ones from
/// [`Default`], durations as [`perfkit::core::duration`] reads them) with every setting but the
/// token: where the token comes from (environment, its own setting, generated) is the
/// embedding program's rule, so `adminToken` here is an unknown field.
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
    /// The bearer token admin endpoints require. Empty means admin endpoints always refuse:
    /// generating a token when none is configured is the server's job, not the router's.
    #[serde(skip)]
    pub admin_token: String,
    /// Put the read endpoints behind the token as well (`/health*` and `openapi.json` stay
    /// open).
    pub protect_reads: bool,
    /// Largest request body accepted, in bytes (default 64 KiB); larger ones get 413.
    pub body_limit: usize,
    /// Longest time a request may take before it is answered with 408 (default 30 s).
    #[serde(with = "perfkit::core::duration")]
    pub request_timeout: Duration,
}

perfkit::core::maps_only!(deserialize: ApiConfig);

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            admin_token: String::new(),
            protect_reads: false,
            body_limit: 64 * 1024,
            request_timeout: Duration::from_secs(30),
        }
    }
}

// The token must never reach a log through `{:?}`.
impl std::fmt::Debug for ApiConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiConfig")
            .field("admin_token", &if self.admin_token.is_empty() { "<none>" } else { "<set>" })
            .field("protect_reads", &self.protect_reads)
            .field("body_limit", &self.body_limit)
            .field("request_timeout", &self.request_timeout)
            .finish()
    }
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
            r#"{"protectReads": true, "bodyLimit": 1024, "requestTimeout": 5000}"#,
        )
        .unwrap();
        let expected = ApiConfig {
            protect_reads: true,
            body_limit: 1024,
            request_timeout: Duration::from_secs(5),
            ..ApiConfig::default()
        };
        assert_eq!(config, expected);
        assert_eq!(serde_json::from_str::<ApiConfig>("{}").unwrap(), ApiConfig::default());
        for refused in [r#"{"adminToken": "x"}"#, r#"{"admin_token": "x"}"#, "[]"] {
            assert!(serde_json::from_str::<ApiConfig>(refused).is_err(), "{refused}");
        }
    }
}
