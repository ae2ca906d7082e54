//! The names of a snapshot's figures, as alert rules, optimization rules and trends refer to them,
//! with each figure's unit and which direction is better.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Names one figure of a [`MetricsSnapshot`](crate::MetricsSnapshot).
///
/// Alert rules, optimization rules and trends refer to figures by this name; the serialized
/// form is the snapshot's camelCase field name (`"p95"`, `"errorRate"`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub enum Metric {
    /// Mean request duration over the last interval, in milliseconds.
    ResponseTime,
    /// Median request duration over the last interval, in milliseconds.
    P50,
    /// 95th percentile request duration over the last interval, in milliseconds.
    P95,
    /// 99th percentile request duration over the last interval, in milliseconds.
    P99,
    /// Requests per second.
    Throughput,
    /// Share of requests that failed with a server error, 0..1.
    ErrorRate,
    /// Share of cache reads that hit, 0..1.
    CacheHitRate,
    /// Share of system memory in use, 0..1.
    MemoryUsage,
    /// Share of CPU capacity in use, 0..1.
    CpuUsage,
    /// Open client connections (HTTP keep-alive, WebSocket, ...).
    ActiveConnections,
    /// Jobs waiting in the work queue.
    QueueLength,
    /// 95th percentile database query duration over the last interval, in milliseconds.
    DbQueryP95,
    /// Requests completed in the last interval.
    RequestCount,
    /// Connections the database pool holds (idle and in use).
    DbPoolSize,
    /// The most connections the database pool may hold.
    DbPoolMax,
    /// Database pool connections idle.
    DbPoolIdle,
    /// Database pool connections in use.
    DbPoolInUse,
    /// Mean number of tasks waiting for a database connection over the last interval.
    DbPoolWaiters,
    /// 95th percentile time to acquire a database connection, in milliseconds.
    DbPoolAcquireP95,
    /// How far the furthest read replica is behind its primary, in milliseconds.
    DbReplicaLag,
    /// How long the latest database outage lasted, from the breaker opening to the first
    /// success, in milliseconds.
    DbRecoveryTime,
    /// Share of requests not answered with a server error over the last interval, 0..1.
    Availability,
    /// Seconds since the recorder (the process) started.
    Uptime,
}

impl Metric {
    /// Every metric, in snapshot field order.
    pub const ALL: [Metric; 23] = [
        Metric::ResponseTime,
        Metric::P50,
        Metric::P95,
        Metric::P99,
        Metric::Throughput,
        Metric::ErrorRate,
        Metric::CacheHitRate,
        Metric::MemoryUsage,
        Metric::CpuUsage,
        Metric::ActiveConnections,
        Metric::QueueLength,
        Metric::DbQueryP95,
        Metric::RequestCount,
        Metric::DbPoolSize,
        Metric::DbPoolMax,
        Metric::DbPoolIdle,
        Metric::DbPoolInUse,
        Metric::DbPoolWaiters,
        Metric::DbPoolAcquireP95,
        Metric::DbReplicaLag,
        Metric::DbRecoveryTime,
        Metric::Availability,
        Metric::Uptime,
    ];

    /// The camelCase name: the snapshot's JSON field and the name used in configuration.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Metric::ResponseTime => "responseTime",
            Metric::P50 => "p50",
            Metric::P95 => "p95",
            Metric::P99 => "p99",
            Metric::Throughput => "throughput",
            Metric::ErrorRate => "errorRate",
            Metric::CacheHitRate => "cacheHitRate",
            Metric::MemoryUsage => "memoryUsage",
            Metric::CpuUsage => "cpuUsage",
            Metric::ActiveConnections => "activeConnections",
            Metric::QueueLength => "queueLength",
            Metric::DbQueryP95 => "dbQueryP95",
            Metric::RequestCount => "requestCount",
            Metric::DbPoolSize => "dbPoolSize",
            Metric::DbPoolMax => "dbPoolMax",
            Metric::DbPoolIdle => "dbPoolIdle",
            Metric::DbPoolInUse => "dbPoolInUse",
            Metric::DbPoolWaiters => "dbPoolWaiters",
            Metric::DbPoolAcquireP95 => "dbPoolAcquireP95",
            Metric::DbReplicaLag => "dbReplicaLag",
            Metric::DbRecoveryTime => "dbRecoveryTime",
            Metric::Availability => "availability",
            Metric::Uptime => "uptime",
        }
    }

    /// The unit the value is expressed in, for labels and reports.
    #[must_use]
    pub const fn unit(self) -> &'static str {
        match self {
            Metric::ResponseTime
            | Metric::P50
            | Metric::P95
            | Metric::P99
            | Metric::DbQueryP95
            | Metric::DbPoolAcquireP95
            | Metric::DbReplicaLag
            | Metric::DbRecoveryTime => "ms",
            Metric::Throughput => "req/s",
            Metric::ErrorRate
            | Metric::CacheHitRate
            | Metric::MemoryUsage
            | Metric::CpuUsage
            | Metric::Availability => "ratio",
            Metric::Uptime => "s",
            Metric::ActiveConnections
            | Metric::QueueLength
            | Metric::RequestCount
            | Metric::DbPoolSize
            | Metric::DbPoolMax
            | Metric::DbPoolIdle
            | Metric::DbPoolInUse
            | Metric::DbPoolWaiters => "count",
        }
    }

    /// Whether a larger value is better (throughput, cache hit rate) rather than worse
    /// (latency, errors, usage). Trends and scores need this to call a slope good or bad.
    #[must_use]
    pub const fn higher_is_better(self) -> bool {
        matches!(
            self,
            Metric::Throughput | Metric::CacheHitRate | Metric::Availability | Metric::Uptime
        )
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text named no metric.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown metric {0:?}")]
pub struct ParseMetricError(String);

impl FromStr for Metric {
    type Err = ParseMetricError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Metric::ALL
            .into_iter()
            .find(|metric| metric.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| ParseMetricError(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_text_and_json() {
        for metric in Metric::ALL {
            assert_eq!(metric.as_str().parse::<Metric>().unwrap(), metric);
            let json = serde_json::to_string(&metric).unwrap();
            assert_eq!(json, format!("\"{metric}\""));
            assert_eq!(serde_json::from_str::<Metric>(&json).unwrap(), metric);
        }
        assert!("latency".parse::<Metric>().is_err());
    }
}
