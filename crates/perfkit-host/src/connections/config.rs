//! The connection registry's limits and schedule.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::HostError;

/// The registry's limits and the schedule of its maintenance
/// ([`maintain`](crate::ConnectionRegistry::maintain)). The registry never holds more than
/// `max_connections` entries.
///
/// Durations are humantime text (`"30s"`) or whole milliseconds, through
/// [`perfkit_core::duration`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct ConnectionRegistryConfig {
    /// Connections allowed at once (default 1000, the guide's). At the limit, inactive
    /// connections are closed first; only when none is inactive is the new one refused.
    /// 0 refuses every connection.
    pub max_connections: usize,
    /// [`cleanup_inactive`](crate::ConnectionRegistry::cleanup_inactive) closes connections
    /// without activity for longer than this (default 5 minutes). A pong counts as activity,
    /// so it must be longer than `heartbeat_interval`: a client that answers pings is never
    /// inactive.
    #[serde(with = "perfkit_core::duration")]
    pub inactive_after: Duration,
    /// How often every connection is pinged; one that has not answered the previous ping by
    /// the next is closed, so a silent client goes within two of these (default 30 s).
    #[serde(with = "perfkit_core::duration")]
    pub heartbeat_interval: Duration,
    /// How often inactive connections are closed (default 1 minute).
    #[serde(with = "perfkit_core::duration")]
    pub cleanup_interval: Duration,
}

impl Default for ConnectionRegistryConfig {
    fn default() -> Self {
        ConnectionRegistryConfig {
            max_connections: 1000,
            inactive_after: Duration::from_secs(300),
            heartbeat_interval: Duration::from_secs(30),
            cleanup_interval: Duration::from_secs(60),
        }
    }
}

/// Shortest schedule period accepted: a bound on the work maintenance does.
const MIN_PERIOD: Duration = Duration::from_millis(10);
/// Most connections accepted: a bound on the registry's memory.
const MAX_CONNECTIONS: usize = 1 << 20;

impl ConnectionRegistryConfig {
    /// Checks every setting; the error lists each problem.
    ///
    /// # Errors
    /// [`HostError::InvalidConfig`] naming each setting out of range.
    pub fn validate(&self) -> Result<(), HostError> {
        let mut problems = Vec::new();
        if self.max_connections > MAX_CONNECTIONS {
            problems.push(format!(
                "maxConnections must be at most {MAX_CONNECTIONS}, got {}",
                self.max_connections
            ));
        }
        for (name, period) in [
            ("heartbeatInterval", self.heartbeat_interval),
            ("cleanupInterval", self.cleanup_interval),
        ] {
            if period < MIN_PERIOD {
                problems.push(format!("{name} must be at least {MIN_PERIOD:?}, got {period:?}"));
            }
        }
        if self.inactive_after <= self.heartbeat_interval {
            problems.push(format!(
                "inactiveAfter ({:?}) must be longer than heartbeatInterval ({:?}), or clients \
                 that answer every ping would count as inactive",
                self.inactive_after, self.heartbeat_interval
            ));
        }
        if problems.is_empty() { Ok(()) } else { Err(HostError::InvalidConfig(problems)) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_milliseconds_and_humantime_and_writes_humantime() {
        let config: ConnectionRegistryConfig =
            serde_json::from_str(r#"{"inactiveAfter": 60000, "heartbeatInterval": "10s"}"#)
                .unwrap();
        assert_eq!(config.inactive_after, Duration::from_secs(60));
        assert_eq!(config.heartbeat_interval, Duration::from_secs(10));
        assert_eq!(config.max_connections, 1000);
        let json = serde_json::to_value(&config).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "maxConnections": 1000,
                "inactiveAfter": "1m",
                "heartbeatInterval": "10s",
                "cleanupInterval": "1m",
            })
        );
        assert!(serde_json::from_str::<ConnectionRegistryConfig>(r#"{"maxConn": 1}"#).is_err());
    }

    #[test]
    fn the_defaults_are_valid_and_every_problem_is_listed() {
        ConnectionRegistryConfig::default().validate().unwrap();
        let config = ConnectionRegistryConfig {
            max_connections: usize::MAX,
            inactive_after: Duration::from_secs(1),
            heartbeat_interval: Duration::from_secs(1),
            cleanup_interval: Duration::ZERO,
        };
        let Err(HostError::InvalidConfig(problems)) = config.validate() else { panic!("accepted") };
        assert_eq!(problems.len(), 3, "{problems:?}");
    }
}
