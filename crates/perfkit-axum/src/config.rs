//! What the router is configured with: auth, limits, timeouts.

use std::time::Duration;

/// Settings of [`router`](crate::router).
///
/// ```
/// use perfkit_axum::ApiConfig;
///
/// let config = ApiConfig { admin_token: "s3cret".to_owned(), ..ApiConfig::default() };
/// assert_eq!(config.body_limit, 64 * 1024);
/// assert!(!config.protect_reads);
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct ApiConfig {
    /// The bearer token admin endpoints require. Empty means admin endpoints always refuse:
    /// generating a token when none is configured is the server's job, not the router's.
    pub admin_token: String,
    /// Put the read endpoints behind the token as well (`/health*` and `openapi.json` stay
    /// open).
    pub protect_reads: bool,
    /// Largest request body accepted, in bytes (default 64 KiB); larger ones get 413.
    pub body_limit: usize,
    /// Longest time a request may take before it is answered with 408 (default 30 s).
    pub request_timeout: Duration,
}

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
}
