//! What the service remembers between collections.

use perfkit_alerting::DeliveryStats;
use perfkit_core::{MetricsSnapshot, Timestamp};
use perfkit_metrics::SystemMetrics;

use crate::history::SnapshotHistory;
use crate::report::PerformanceReport;

/// Counts of one scheduled step's outcomes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct StepCounters {
    /// Times it ran to completion.
    pub runs: u64,
    /// Times it returned an error.
    pub failures: u64,
    /// Times it panicked (the loop caught the panic and went on).
    pub panics: u64,
}

/// Mutable state, behind one lock held only for short, non-async sections.
#[derive(Debug)]
pub(crate) struct ServiceState {
    pub(crate) history: SnapshotHistory,
    pub(crate) latest_report: Option<PerformanceReport>,
    pub(crate) last_collection: Option<Timestamp>,
    pub(crate) last_system: Option<SystemMetrics>,
    pub(crate) last_probe_error: Option<String>,
    pub(crate) last_cache_error: Option<String>,
    /// Cache hits and misses at the previous collection (or when the service was built),
    /// for the interval hit rate.
    pub(crate) previous_cache_reads: (u64, u64),
    pub(crate) alerts_fired_since_report: usize,
    pub(crate) collect: StepCounters,
    pub(crate) report: StepCounters,
    pub(crate) optimize: StepCounters,
    pub(crate) started_at: Option<Timestamp>,
    /// The alert notifiers' delivery figures, read at each collection.
    pub(crate) delivery: Vec<DeliveryStats>,
}

impl ServiceState {
    pub(crate) fn new(history_capacity: usize, previous_cache_reads: (u64, u64)) -> Self {
        ServiceState {
            history: SnapshotHistory::new(history_capacity),
            latest_report: None,
            last_collection: None,
            last_system: None,
            last_probe_error: None,
            last_cache_error: None,
            previous_cache_reads,
            alerts_fired_since_report: 0,
            collect: StepCounters::default(),
            report: StepCounters::default(),
            optimize: StepCounters::default(),
            started_at: None,
            delivery: Vec::new(),
        }
    }
}

/// What the read paths (`latest`, `status`, `health`) need from [`ServiceState`], published
/// after every change through an `ArcSwap`: they load it without taking the state's lock,
/// so a request never waits on a collection, and requests never wait on each other.
#[derive(Debug, Clone, Default)]
pub(crate) struct PublishedState {
    pub(crate) latest: Option<MetricsSnapshot>,
    pub(crate) last_collection: Option<Timestamp>,
    pub(crate) last_probe_error: Option<String>,
    pub(crate) last_cache_error: Option<String>,
    pub(crate) started_at: Option<Timestamp>,
    pub(crate) collect: StepCounters,
    pub(crate) report: StepCounters,
    pub(crate) optimize: StepCounters,
    /// The alert notifiers' delivery figures at the latest collection (reading them live
    /// takes the alert engine's lock).
    pub(crate) delivery: Vec<DeliveryStats>,
}

impl PublishedState {
    pub(crate) fn of(state: &ServiceState) -> Self {
        PublishedState {
            latest: state.history.latest().cloned(),
            last_collection: state.last_collection,
            last_probe_error: state.last_probe_error.clone(),
            last_cache_error: state.last_cache_error.clone(),
            started_at: state.started_at,
            collect: state.collect,
            report: state.report,
            optimize: state.optimize,
            delivery: state.delivery.clone(),
        }
    }
}
