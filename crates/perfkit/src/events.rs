//! Live events for the stream endpoint and anyone else who wants to watch.

use perfkit_alerting::AlertEvent;
use perfkit_core::MetricsSnapshot;
use perfkit_optimizer::RunRecord;
use serde::Serialize;

/// Something that just happened in the service.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", content = "data", rename_all = "camelCase")]
pub enum LiveEvent {
    /// A snapshot was collected.
    Snapshot(Box<MetricsSnapshot>),
    /// An alert changed state (pending, fired, resolved, ...).
    Alert(Box<AlertEvent>),
    /// The optimizer ran.
    Optimization(Box<RunRecord>),
}
