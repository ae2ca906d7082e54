//! perfkit's measuring instrument: a recorder cheap enough for every request, a system
//! probe, and a Prometheus exposition read from both at scrape time.
//!
//! - [`Recorder`] counts requests (by route template, method and status class), errors by
//!   kind, DB statements (by normalized text, capped like routes), connection-pool acquire
//!   times and WebSocket traffic. Recording is lock-free and allocation-free on
//!   known names; every label set has a cap, so memory is bounded whatever the traffic.
//!   [`Recorder::close_interval`] closes the running interval and returns
//!   [`ApplicationMetrics`] over exactly that interval: latency percentiles, throughput,
//!   error rate, DB timing, beside cumulative figures and the slowest routes. One owner
//!   closes intervals, on its own tick (the orchestrator's collector); every other read
//!   ([`Recorder::snapshot`], the exposition) has no side effect and reports the last
//!   closed interval.
//! - [`SystemProbe`] reads CPU, load, memory, disks, network (per interface; totals without
//!   loopback) and the process's own footprint; [`SysinfoProbe`] implements it with
//!   `sysinfo`.
//! - [`PrometheusExporter`] renders the text exposition when scraped: the recorder's families
//!   written from its counters straight into text, then the collectors of its
//!   `prometheus::Registry` (the probe's, and any a host adds) through the same writer:
//!   nothing is recorded twice. [`RecorderCollector`] offers the recorder's families as a
//!   `prometheus` collector, for a host's own registry.
//!
//! Cache hit rate, open connections and queue length are not the recorder's figures: the
//! cache, the connection registry and the queue control own them.
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Duration;
//! use perfkit_metrics::{Method, PrometheusExporter, Recorder};
//!
//! let recorder = Arc::new(Recorder::default());
//! recorder.record_request(Some("/api/users/{id}"), Method::Get, 200, Duration::from_millis(8));
//!
//! let exporter = PrometheusExporter::new(Arc::clone(&recorder), None)?;
//! let text = exporter.render()?;
//! assert!(text.contains(r#"http_requests_total{method="GET",route="/api/users/{id}",status="2xx"} 1"#));
//!
//! let mut snapshot = perfkit_core::MetricsSnapshot::empty(perfkit_core::Timestamp::UNIX_EPOCH);
//! recorder.close_interval().apply_to(&mut snapshot);
//! assert_eq!(snapshot.request_count, Some(1.0));
//! # Ok::<(), perfkit_metrics::MetricsError>(())
//! ```

mod buckets;
mod config;
mod error;
mod exemplars;
mod exposition;
pub mod facade;
mod http;
mod interval_figures;
mod probe;
mod recorder;
mod report;
mod series;
mod shard;
mod slow_log;
mod slow_operations;
mod statement_series;
mod summarize;
mod totals;
mod window;

pub use config::{OwnTraffic, RecorderConfig};
pub use error::MetricsError;
pub use exposition::families::{Family as FamilyBuilder, FamilyLabels, desc as family_desc};
pub use exposition::{ExpositionFormat, PrometheusExporter, RecorderCollector};
pub use facade::{BusinessConfig, BusinessRegistry, FacadeRecorder};
pub use http::{Method, StatusClass};
pub use probe::{
    DiskIo, DiskUsage, InterfaceTraffic, LoadAverage, MemoryFigures, NetworkTraffic,
    ProcessFigures, SysinfoProbe, SystemMetrics, SystemProbe,
};
pub use recorder::{OVERFLOW_ROUTE, OVERFLOW_STATEMENT, Recorder};
pub use report::{
    ApplicationMetrics, AvailabilityFigures, DatabaseFigures, ErrorFigures, IntervalSpan,
    LatencyFigures, LatencySummary, OwnTrafficFigures, RequestFigures, RouteFigures, RouteSummary,
    StatementFigures, Throughput, WebSocketFigures,
};
// One measured statement: perfkit-control owns the type (the optimizer reads the same one),
// re-exported here because the recorder's report holds it.
pub use perfkit_control::StatementSummary;
pub use slow_operations::{
    OTHER_OPERATION, OperationFigures, SlowOperationGuard, SlowOperations, SlowOperationsConfig,
};
pub use statement_series::statement_id;
