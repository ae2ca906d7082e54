//! The connection registry's limits.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The registry's limits. The registry never holds more than `max_connections` entries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ConnectionRegistryConfig {
    /// Connections allowed at once; the next one is refused (default 500, the optimizer's
    /// default `connectionOptimization.maxConnections`). 0 refuses every connection.
    pub max_connections: usize,
    /// [`cleanup_inactive`](crate::ConnectionRegistry::cleanup_inactive) closes connections
    /// without activity for longer than this (default 5 minutes; milliseconds in JSON).
    #[serde(with = "millis")]
    pub inactive_after: Duration,
}

impl Default for ConnectionRegistryConfig {
    fn default() -> Self {
        ConnectionRegistryConfig { max_connections: 500, inactive_after: Duration::from_secs(300) }
    }
}

/// A `Duration` as whole milliseconds, as the rest of perfkit's configs write durations.
mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(
        value: &Duration,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(u64::try_from(value.as_millis()).unwrap_or(u64::MAX))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Duration, D::Error> {
        u64::deserialize(deserializer).map(Duration::from_millis)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_writes_the_inactivity_limit_in_milliseconds() {
        let config: ConnectionRegistryConfig =
            serde_json::from_str(r#"{"inactiveAfter": 60000}"#).unwrap();
        assert_eq!(config.inactive_after, Duration::from_secs(60));
        assert_eq!(config.max_connections, 500);
        let json = serde_json::to_value(&config).unwrap();
        assert_eq!(json, serde_json::json!({ "maxConnections": 500, "inactiveAfter": 60000 }));
    }
}
