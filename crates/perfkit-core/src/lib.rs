//! The shared vocabulary of perfkit.
//!
//! Every other perfkit crate speaks in these types: a [`MetricsSnapshot`] is what the
//! orchestrator collects, what alert rules and optimization rules read, and what the HTTP API
//! returns; a [`Metric`] names one figure of it; a [`Severity`] ranks alerts and
//! recommendations; [`BusinessSeries`] and [`SeriesSelector`] carry and name the series
//! emitted through the `metrics` facade; a [`Clock`] tells the time, so that tests can run on a [`ManualClock`]; [`KeepTrace`] is an instrumentation's decision to keep a trace, carried in the tracing context;
//! [`TraceId`], [`Exemplar`] and [`TraceUrl`] get from a figure to a trace.
//!
//! [`duration`] is the one form durations take in configuration, and [`map_only`] keeps a
//! config struct from being read out of a sequence. [`BoundedTable`] is the one capped,
//! lock-free name table behind every bounded label set (the recorder's routes, the cache's key
//! prefixes, host caches).
//!
//! This crate does no I/O and has no async code: it is vocabulary only, and stays small so
//! that everything can depend on it.
//!
//! ```
//! use std::time::Duration;
//! use perfkit_core::{Clock, ManualClock, Metric, MetricsSnapshot, Severity, Timestamp};
//!
//! let clock = ManualClock::new(Timestamp::from_unix_millis(1_700_000_000_000));
//! let mut snapshot = MetricsSnapshot::empty(clock.now());
//! snapshot.p95 = Some(420.0);
//! clock.advance(Duration::from_secs(30));
//!
//! assert_eq!(snapshot.get(Metric::P95), Some(420.0));
//! assert_eq!(snapshot.get(Metric::CpuUsage), None); // not measured
//! assert!(Severity::Critical > Severity::Low);
//! assert_eq!(clock.now().duration_since(snapshot.timestamp), Duration::from_secs(30));
//! ```

mod bounded_table;
mod business;
mod clock;
pub mod duration;
pub mod map_only;
mod metric;
mod severity;
mod snapshot;
mod timestamp;
mod trace;

pub use bounded_table::BoundedTable;
pub use business::{
    BusinessSeries, MAX_NAME_LEN, SeriesAggregation, SeriesKind, SeriesSelector,
    is_valid_label_name, is_valid_metric_name,
};
pub use clock::{Clock, ManualClock, SystemClock};
pub use metric::{Metric, ParseMetricError};
pub use severity::{ParseSeverityError, Severity};
pub use snapshot::MetricsSnapshot;
pub use timestamp::{ParseTimestampError, Timestamp};
pub use trace::{
    Exemplar, KeepTrace, ParseIdError, ParseTraceUrlError, SampledSpan, SpanId,
    TRACE_ID_PLACEHOLDER, TraceId, TraceUrl, current_sampled_span, set_current_span_source,
};

/// serde, for the code [`maps_only!`] writes in other crates.
#[doc(hidden)]
pub use serde as __serde;
