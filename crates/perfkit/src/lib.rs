//! perfkit: the performance toolkit for Rust web services, in one crate.
//!
//! [`PerformanceService`] is the conductor. It owns a metrics recorder, a system probe, a
//! cache, an alert engine and an optimizer, all behind traits, and on the guide's schedule it
//! collects a snapshot every 30 s (evaluating alert rules on each), builds a report every
//! 5 minutes and, when auto-optimization is on, lets the optimizer act every 15 minutes. It
//! keeps the last 1000 snapshots, fits trends, scores performance 0–100, reports and judges
//! its health. Its parts ([`Parts`]) are handed out as they are, and what it knows (latest
//! snapshot, history, report, status, health) is read through [`Readout`]: the HTTP face
//! (perfkit-axum) builds its answers from these.
//!
//! The component crates are re-exported as modules, so a service depends on `perfkit` alone:
//! [`metrics`], [`cache`], [`alerting`], [`optimizer`], [`host`], [`control`], [`core`].
//! [`control`] holds the traits through which the optimizer acts on the host and the collector
//! reads it (`PoolControl`, `QueueControl`, ...), their figures and `ControlError`; the
//! optimizer re-exports them too, so `perfkit::optimizer::PoolControl` names the same trait.
//!
//! # Embedding
//!
//! ```
//! use std::time::Duration;
//! use perfkit::PerformanceService;
//! use perfkit::metrics::Method;
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! // In-memory cache, sysinfo probe, the guide's alert rules and optimizer config.
//! let service = PerformanceService::builder().build()?;
//! service.start();
//!
//! // Your request handlers record into the service's recorder...
//! let recorder = service.recorder();
//! recorder.record_request(Some("/api/posts/{id}"), Method::Get, 200, Duration::from_millis(12));
//!
//! // ...and cache through its cache.
//! service.cache().set("post:1", br#"{"title":"hello"}"#, None).await?;
//!
//! // The collector closes an interval and takes a snapshot in; the parts answer the rest.
//! let snapshot = service.collect_now().await;
//! assert_eq!(snapshot.request_count, Some(1.0));
//! let score = perfkit::analysis::score(&snapshot, &service.config().targets);
//! assert!(score.score.is_some());
//! assert_eq!(service.readout().history(10).len(), 1);
//! println!("{}", service.parts().exporter.render()?);
//!
//! service.shutdown().await;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```
//!
//! # The score
//!
//! Each of P95 latency, error rate, cache hit rate, memory and CPU usage is scored on a
//! log-normal curve that gives 0.9 at the guide's target (P95 500 ms, errors 1 %, hit rate
//! 80 %, memory 70 %, CPU 60 %) and 0.5 where users clearly suffer; the weighted mean (30, 25,
//! 15, 15, 15) times 100 is the score. See [`analysis`] for the formula.
//!
//! # Also here
//!
//! - [`host::WorkerPool`]: a resizable tokio worker pool the optimizer can scale.
//! - [`host::ConnectionRegistry`]: live client connections, with idle cleanup.
//! - [`adapters`]: the [`control`] traits over the cache and this process.
//! - [`metrics_facade`]: perfkit as the `metrics` crate's recorder, so `counter!`,
//!   `gauge!` and `histogram!` anywhere in the process become business series.
//! - [`database`]: a database pool the optimizer sizes and a [`database::QueryPlanner`]
//!   that explains measured statements (`perfkit-sqlx` implements both for sqlx).
//! - [`RuntimeFigures`]: the tokio runtime's workers, tasks, global queue and busy time.

pub mod adapters;
pub mod analysis;
mod cache_collector;
mod clock;
pub mod database;
mod error;
mod events;
mod heap_collector;
mod history;
mod host_cache_collector;
mod host_collector;
mod indicators;
pub mod metrics_facade;
mod report;
mod runtime_collector;
mod runtime_figures;
mod service;

pub use clock::TokioClock;

/// The `tracing` target of the orchestrator's spans: `perfkit.collect` (each collection),
/// its child `perfkit.alerts.evaluate`, and `perfkit.optimize` (each optimizer run), at INFO.
pub const SPAN_TARGET: &str = "perfkit::service";
pub use error::PerfkitError;
pub use events::LiveEvent;
pub use history::SnapshotHistory;
pub use indicators::{HealthCheckOptions, HealthIndicator, IndicatorReading, MAX_INDICATORS};
pub use report::{PerformanceReport, Period, availability_over, averages};
pub use runtime_figures::RuntimeFigures;
pub use service::{
    ComponentHealth, HealthReport, HealthStatus, InstanceInfo, MemoryProfile, OptimizationRun,
    Parts, PerformanceService, PerformanceServiceBuilder, Readout, ServiceConfig, ServiceStatus,
    StepCounters,
};

pub use perfkit_alerting as alerting;
pub use perfkit_cache as cache;
pub use perfkit_control as control;
pub use perfkit_core as core;
pub use perfkit_host as host;
pub use perfkit_metrics as metrics;
pub use perfkit_optimizer as optimizer;
