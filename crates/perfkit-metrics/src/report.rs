//! What the recorder reports: plain data, serde camelCase, times in milliseconds.

use std::collections::BTreeMap;

use perfkit_control::StatementSummary;
use perfkit_core::{BusinessSeries, Exemplar, MetricsSnapshot, Timestamp, TraceId};
use serde::{Deserialize, Serialize};

/// Everything the recorder knows, as of one read. Returned by
/// [`Recorder::close_interval`](crate::Recorder::close_interval), whose interval figures
/// cover exactly the interval it closed, and by [`Recorder::snapshot`](crate::Recorder::snapshot),
/// whose interval figures cover the last closed interval (the running one before the first
/// close). Cumulative figures are always as of the read.
///
/// The recorder owns request, error, DB and WebSocket traffic figures only: cache hit rate
/// comes from the cache, open connections from the connection registry, queue length from
/// the queue control.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ApplicationMetrics {
    /// When this was read.
    pub timestamp: Timestamp,
    /// The interval that interval figures cover.
    pub interval: IntervalSpan,
    /// Seconds since the recorder started (a reset does not move it).
    pub uptime_seconds: f64,
    /// Share of requests not answered with a 5xx.
    pub availability: AvailabilityFigures,
    /// Requests to perfkit itself (its API, dashboard, scrapes, stream), counted apart:
    /// none of them is in any other figure here.
    pub own: OwnTrafficFigures,
    /// Request counts.
    pub requests: RequestFigures,
    /// Request durations.
    pub response_time: LatencyFigures,
    /// Requests per second and per minute.
    pub throughput: Throughput,
    /// Server errors and recorded errors by kind.
    pub errors: ErrorFigures,
    /// Per-route figures, slowest first.
    pub routes: RouteFigures,
    /// Database timing: all queries, each statement, pool acquires.
    pub database: DatabaseFigures,
    /// WebSocket connections opened and messages.
    pub websocket: WebSocketFigures,
    /// The series emitted through the `metrics` facade over the interval, sorted by name and
    /// labels, at most `business.maxSnapshotSeries` of them.
    pub business: Vec<BusinessSeries>,
    /// The slowest request exemplar recorded within the interval, any route: what an alert
    /// on latency links to. Not serialized (each route's figures carry their trace id).
    #[serde(skip)]
    pub slowest_exemplar: Option<Exemplar>,
}

/// The span of the interval that interval figures cover: a closed interval, or the running
/// one before the first close.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct IntervalSpan {
    /// Start of the interval.
    pub start: Timestamp,
    /// End of the interval.
    pub end: Timestamp,
    /// Its length in seconds.
    pub seconds: f64,
}

/// Request counts since reset and in the reported interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct RequestFigures {
    /// Requests since reset.
    pub total: u64,
    /// Requests in the reported interval.
    pub interval: u64,
    /// Requests since reset by status class (`2xx`, `5xx`, ...).
    pub by_status_class: BTreeMap<String, u64>,
    /// Requests at least as slow as the slow-request threshold, since reset.
    pub slow: u64,
    /// `101 Switching Protocols` answers (WebSocket upgrades) since reset: connections
    /// handed over, counted here and in no request figure.
    pub upgrades: u64,
}

/// Share of requests not answered with a 5xx, 0..1. With no requests there is nothing
/// to measure: `None` (JSON `null`), neither 100 % nor 0 %.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AvailabilityFigures {
    /// Over the reported interval (the snapshot's `availability`).
    pub interval: Option<f64>,
    /// Since start (or the last reset of the metrics).
    pub cumulative: Option<f64>,
}

/// perfkit's own requests, kept apart from the host's figures; all zero when the
/// recorder's `own_traffic` is [`OwnTraffic::Ignored`](crate::OwnTraffic::Ignored).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct OwnTrafficFigures {
    /// Requests since reset (upgrades not included).
    pub requests: u64,
    /// Of those, answered with a 5xx.
    pub server_errors: u64,
    /// Live-stream upgrades (`101`) since reset.
    pub upgrades: u64,
    /// Live-stream messages since reset, either direction.
    pub stream_messages: u64,
    /// Mean duration, ms; `None` without requests.
    pub avg: Option<f64>,
}

/// Latency over the reported interval and since reset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct LatencyFigures {
    /// Over the reported interval.
    pub interval: LatencySummary,
    /// Since reset.
    pub cumulative: LatencySummary,
}

/// Summary of a latency distribution, in milliseconds; `None` without samples.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct LatencySummary {
    /// Number of samples.
    pub count: u64,
    /// Mean.
    pub avg: Option<f64>,
    /// Median.
    pub p50: Option<f64>,
    /// 95th percentile.
    pub p95: Option<f64>,
    /// 99th percentile.
    pub p99: Option<f64>,
    /// Largest sample (to the histogram's resolution).
    pub max: Option<f64>,
}

/// Request throughput.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Throughput {
    /// Requests per second over the reported interval.
    pub per_second: Option<f64>,
    /// Requests per minute over the most recent closed intervals that together cover at
    /// least 60 s (all the recorder keeps, while they cover less); before the first close,
    /// over the running interval. `None` while that span is under a second.
    pub per_minute: Option<f64>,
}

/// Server errors and errors recorded by kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ErrorFigures {
    /// 5xx responses since reset.
    pub server_errors: u64,
    /// 5xx responses per request over the reported interval, 0..1.
    pub rate: Option<f64>,
    /// 5xx responses per request since reset, 0..1.
    pub cumulative_rate: Option<f64>,
    /// Calls of `record_error` since reset.
    pub recorded: u64,
    /// Recorded errors by kind, for the first `maxErrorKinds` kinds seen.
    pub by_kind: BTreeMap<String, u64>,
    /// Recorded errors of kinds beyond the cap.
    pub other: u64,
}

/// Per-route figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct RouteFigures {
    /// Routes tracked one by one.
    pub tracked: usize,
    /// The cap on tracked routes.
    pub max: usize,
    /// Requests on routes beyond the cap, folded into one series.
    pub overflow_requests: u64,
    /// Requests recorded without a route.
    pub unrouted_requests: u64,
    /// Every tracked route, slowest P95 first.
    pub slowest: Vec<RouteSummary>,
}

/// One route since reset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct RouteSummary {
    /// The route template.
    pub route: String,
    /// Requests.
    pub count: u64,
    /// 5xx responses.
    pub errors: u64,
    /// Mean duration, ms.
    pub avg: Option<f64>,
    /// 95th percentile duration, ms (to within 3 %).
    pub p95: Option<f64>,
    /// The trace of the route's latest slow sampled request: the exemplar of the highest
    /// duration bucket that has one (`null` until a sampled request is recorded).
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, example = "4bf92f3577b34da6a3ce929d0e0e4736"))]
    pub slow_trace_id: Option<TraceId>,
}

/// Database query timing: every query, each statement, and connection-pool acquires.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct DatabaseFigures {
    /// Queries since reset.
    pub queries: u64,
    /// Queries at least as slow as the slow-query threshold, since reset.
    pub slow_queries: u64,
    /// Over the reported interval.
    pub interval: LatencySummary,
    /// Since reset.
    pub cumulative: LatencySummary,
    /// Per statement, for queries recorded with their statement.
    pub statements: StatementFigures,
    /// Time to acquire a connection from the pool, where acquires are recorded.
    pub pool_acquire: LatencyFigures,
}

/// Per-statement figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct StatementFigures {
    /// Statements tracked one by one.
    pub tracked: usize,
    /// The cap on tracked statements.
    pub max: usize,
    /// Calls of statements beyond the cap, folded into one series.
    pub overflow_queries: u64,
    /// Every tracked statement, slowest P95 first (then most total time).
    pub slowest: Vec<StatementSummary>,
}

/// WebSocket traffic. Connections open now are the connection registry's figure, not the
/// recorder's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct WebSocketFigures {
    /// Connections opened since reset.
    pub total_connections: u64,
    /// Messages since reset.
    pub messages: u64,
}

impl ApplicationMetrics {
    /// Writes the figures the recorder owns into `snapshot`: latency, throughput, error rate,
    /// availability, DB P95, pool acquire P95 and waiters, and request count, all over the
    /// reported interval, and uptime. Cache hit rate, connections, pool sizes, queue length, memory and CPU have
    /// other owners and are left as they are.
    pub fn apply_to(&self, snapshot: &mut MetricsSnapshot) {
        let latency = &self.response_time.interval;
        snapshot.response_time = latency.avg;
        snapshot.p50 = latency.p50;
        snapshot.p95 = latency.p95;
        snapshot.p99 = latency.p99;
        snapshot.throughput = self.throughput.per_second;
        snapshot.error_rate = self.errors.rate;
        #[allow(clippy::cast_precision_loss)]
        {
            snapshot.request_count = Some(self.requests.interval as f64);
        }
        snapshot.availability = self.availability.interval;
        snapshot.uptime = Some(self.uptime_seconds);
        snapshot.db_query_p95 = self.database.interval.p95;
        let acquire = &self.database.pool_acquire.interval;
        snapshot.db_pool_acquire_p95 = acquire.p95;
        // Little's law: the mean number waiting is the arrival rate times the mean wait, that
        // is all the time spent waiting over the length of the interval.
        #[allow(clippy::cast_precision_loss)]
        let waited_ms = acquire.avg.map(|avg| avg * acquire.count as f64);
        let seconds = self.interval.seconds;
        snapshot.db_pool_waiters =
            waited_ms.filter(|_| seconds >= 0.001).map(|ms| ms / 1000.0 / seconds);
        snapshot.business.clone_from(&self.business);
        snapshot.slowest_exemplar = self.slowest_exemplar;
    }
}
