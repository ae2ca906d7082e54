//! The headline figures of a service at one moment, the value every part exchanges. A figure not
//! measured is `None`, never zero, and a non-finite value reads as not measured.

use serde::{Deserialize, Serialize};

use crate::{BusinessSeries, Exemplar, Metric, Timestamp};

/// The headline figures of a service at one moment: the guide's `PerformanceMetrics`, extended.
///
/// Times are milliseconds; rates and usages are ratios in 0..1. A figure that was not measured
/// (no requests yet, no cache reads, a probe that failed) is `None` and serializes as `null`:
/// rules treat a missing figure as "no data", never as zero.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct MetricsSnapshot {
    /// When the snapshot was taken.
    pub timestamp: Timestamp,
    /// Mean request duration over the last interval, ms.
    pub response_time: Option<f64>,
    /// Median request duration, ms.
    pub p50: Option<f64>,
    /// 95th percentile request duration, ms.
    pub p95: Option<f64>,
    /// 99th percentile request duration, ms.
    pub p99: Option<f64>,
    /// Requests per second.
    pub throughput: Option<f64>,
    /// Server errors per request, 0..1.
    pub error_rate: Option<f64>,
    /// Cache hits per cache read, 0..1.
    pub cache_hit_rate: Option<f64>,
    /// System memory in use, 0..1.
    pub memory_usage: Option<f64>,
    /// CPU capacity in use, 0..1.
    pub cpu_usage: Option<f64>,
    /// Open client connections.
    pub active_connections: Option<f64>,
    /// Jobs waiting in the work queue.
    pub queue_length: Option<f64>,
    /// 95th percentile database query duration, ms.
    pub db_query_p95: Option<f64>,
    /// Requests completed in the last interval.
    pub request_count: Option<f64>,
    /// Connections the database pool holds now (idle and in use).
    pub db_pool_size: Option<f64>,
    /// The most connections the database pool may hold.
    pub db_pool_max: Option<f64>,
    /// Database pool connections idle now.
    pub db_pool_idle: Option<f64>,
    /// Database pool connections in use now.
    pub db_pool_in_use: Option<f64>,
    /// Mean number of tasks waiting for a database connection over the last interval.
    pub db_pool_waiters: Option<f64>,
    /// 95th percentile time to acquire a database connection over the last interval, ms.
    pub db_pool_acquire_p95: Option<f64>,
    /// How far the furthest read replica is behind its primary now, ms.
    pub db_replica_lag: Option<f64>,
    /// How long the latest database outage lasted (breaker open to first success), ms.
    pub db_recovery_time: Option<f64>,
    /// Share of the last interval's requests not answered with a 5xx, 0..1; `None` when the
    /// interval had no requests (no request, no measurement: neither 100 % nor 0 %).
    #[serde(default)]
    pub availability: Option<f64>,
    /// Seconds since the recorder started (the process's start, for a host that builds it
    /// at start-up), as of the snapshot.
    #[serde(default)]
    pub uptime: Option<f64>,
    /// The series emitted through the `metrics` facade (business figures and any crate's),
    /// each with its figures over the interval; at most the recorder's cap of them, sorted by
    /// name and labels. Absent from JSON when there are none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub business: Vec<BusinessSeries>,
    /// The slowest request of the interval that left an exemplar (a sampled span): where an
    /// alert on latency points for one slow request. Kept in memory for the alert engine,
    /// never serialized (the routes' figures carry their own trace ids).
    #[serde(skip)]
    pub slowest_exemplar: Option<Exemplar>,
}

impl MetricsSnapshot {
    /// A snapshot taken at `timestamp` in which nothing was measured yet.
    #[must_use]
    pub fn empty(timestamp: Timestamp) -> Self {
        MetricsSnapshot {
            timestamp,
            response_time: None,
            p50: None,
            p95: None,
            p99: None,
            throughput: None,
            error_rate: None,
            cache_hit_rate: None,
            memory_usage: None,
            cpu_usage: None,
            active_connections: None,
            queue_length: None,
            db_query_p95: None,
            request_count: None,
            db_pool_size: None,
            db_pool_max: None,
            db_pool_idle: None,
            db_pool_in_use: None,
            db_pool_waiters: None,
            db_pool_acquire_p95: None,
            db_replica_lag: None,
            db_recovery_time: None,
            availability: None,
            uptime: None,
            business: Vec::new(),
            slowest_exemplar: None,
        }
    }

    /// The value of one figure, `None` when it was not measured. Non-finite values (NaN,
    /// infinities) are never returned: they count as not measured.
    #[must_use]
    pub fn get(&self, metric: Metric) -> Option<f64> {
        let value = match metric {
            Metric::ResponseTime => self.response_time,
            Metric::P50 => self.p50,
            Metric::P95 => self.p95,
            Metric::P99 => self.p99,
            Metric::Throughput => self.throughput,
            Metric::ErrorRate => self.error_rate,
            Metric::CacheHitRate => self.cache_hit_rate,
            Metric::MemoryUsage => self.memory_usage,
            Metric::CpuUsage => self.cpu_usage,
            Metric::ActiveConnections => self.active_connections,
            Metric::QueueLength => self.queue_length,
            Metric::DbQueryP95 => self.db_query_p95,
            Metric::RequestCount => self.request_count,
            Metric::DbPoolSize => self.db_pool_size,
            Metric::DbPoolMax => self.db_pool_max,
            Metric::DbPoolIdle => self.db_pool_idle,
            Metric::DbPoolInUse => self.db_pool_in_use,
            Metric::DbPoolWaiters => self.db_pool_waiters,
            Metric::DbPoolAcquireP95 => self.db_pool_acquire_p95,
            Metric::DbReplicaLag => self.db_replica_lag,
            Metric::DbRecoveryTime => self.db_recovery_time,
            Metric::Availability => self.availability,
            Metric::Uptime => self.uptime,
        };
        value.filter(|v| v.is_finite())
    }

    /// Sets one figure; `None` marks it as not measured.
    pub fn set(&mut self, metric: Metric, value: Option<f64>) {
        let slot = match metric {
            Metric::ResponseTime => &mut self.response_time,
            Metric::P50 => &mut self.p50,
            Metric::P95 => &mut self.p95,
            Metric::P99 => &mut self.p99,
            Metric::Throughput => &mut self.throughput,
            Metric::ErrorRate => &mut self.error_rate,
            Metric::CacheHitRate => &mut self.cache_hit_rate,
            Metric::MemoryUsage => &mut self.memory_usage,
            Metric::CpuUsage => &mut self.cpu_usage,
            Metric::ActiveConnections => &mut self.active_connections,
            Metric::QueueLength => &mut self.queue_length,
            Metric::DbQueryP95 => &mut self.db_query_p95,
            Metric::RequestCount => &mut self.request_count,
            Metric::DbPoolSize => &mut self.db_pool_size,
            Metric::DbPoolMax => &mut self.db_pool_max,
            Metric::DbPoolIdle => &mut self.db_pool_idle,
            Metric::DbPoolInUse => &mut self.db_pool_in_use,
            Metric::DbPoolWaiters => &mut self.db_pool_waiters,
            Metric::DbPoolAcquireP95 => &mut self.db_pool_acquire_p95,
            Metric::DbReplicaLag => &mut self.db_replica_lag,
            Metric::DbRecoveryTime => &mut self.db_recovery_time,
            Metric::Availability => &mut self.availability,
            Metric::Uptime => &mut self.uptime,
        };
        *slot = value;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn get_and_set_cover_every_metric() {
        let mut snapshot = MetricsSnapshot::empty(Timestamp::UNIX_EPOCH);
        for (i, metric) in Metric::ALL.into_iter().enumerate() {
            assert_eq!(snapshot.get(metric), None);
            snapshot.set(metric, Some(i as f64));
        }
        for (i, metric) in Metric::ALL.into_iter().enumerate() {
            assert_eq!(snapshot.get(metric), Some(i as f64), "{metric}");
        }
    }

    #[test]
    fn non_finite_values_read_as_missing() {
        let mut snapshot = MetricsSnapshot::empty(Timestamp::UNIX_EPOCH);
        snapshot.error_rate = Some(f64::NAN);
        assert_eq!(snapshot.get(Metric::ErrorRate), None);
    }

    #[test]
    fn serializes_in_camel_case_with_rfc3339_time() {
        let mut snapshot = MetricsSnapshot::empty(Timestamp::from_unix_millis(0));
        snapshot.cache_hit_rate = Some(0.5);
        let json = serde_json::to_value(&snapshot).unwrap();
        assert_eq!(json["timestamp"], "1970-01-01T00:00:00.000Z");
        assert_eq!(json["cacheHitRate"], 0.5);
        assert!(json["responseTime"].is_null());
        assert!(json.get("dbQueryP95").is_some());
        let back: MetricsSnapshot = serde_json::from_value(json).unwrap();
        assert_eq!(back, snapshot);
    }
}
