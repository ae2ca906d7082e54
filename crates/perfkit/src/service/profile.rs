//! The periodic memory profile: one log line with what the process holds and where perfkit's
//! own memory goes (process RSS, the allocator's heap figures, cache bytes and keys, history size, recorder tables,
//! slow-operation names), so a leak or a cache outgrowing its budget shows in the logs.

use perfkit_control::HeapFigures;
use serde::Serialize;

use super::readout::Readout;
use super::{PerformanceService, lock};

/// What a memory profile line says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MemoryProfile {
    /// The process's resident set size at the latest collection, in bytes (`None` before
    /// one, or when the probe failed).
    pub rss_bytes: Option<u64>,
    /// The allocator's name and its heap figures now (`HeapAllocator::figures`).
    pub heap: HeapFigures,
    /// Bytes the application's cache holds, by its own count.
    pub cache_bytes: u64,
    /// Keys the application's cache holds.
    pub cache_keys: u64,
    /// Snapshots in the history, and its capacity.
    pub history_len: usize,
    /// The most snapshots the history keeps.
    pub history_capacity: usize,
    /// Routes the recorder tracks (a capped table).
    pub recorder_routes: usize,
    /// Error kinds the recorder tracks (a capped table).
    pub recorder_error_kinds: usize,
    /// Statements the recorder tracks (a capped table).
    pub recorder_statements: usize,
    /// Operation names the slow-operation helper tracks (a capped table).
    pub slow_operations: usize,
    /// Live connections in the registry.
    pub connections: usize,
}

impl PerformanceService {
    /// Logs one memory profile line (target `perfkit::memory`).
    pub(crate) fn log_memory_profile(&self) {
        let profile = self.readout().memory_profile();
        tracing::info!(
            target: "perfkit::memory",
            rss_bytes = profile.rss_bytes,
            allocator = profile.heap.allocator,
            heap_allocated_bytes = profile.heap.allocated_bytes,
            heap_resident_bytes = profile.heap.resident_bytes,
            cache_bytes = profile.cache_bytes,
            cache_keys = profile.cache_keys,
            history_len = profile.history_len,
            history_capacity = profile.history_capacity,
            recorder_routes = profile.recorder_routes,
            recorder_error_kinds = profile.recorder_error_kinds,
            recorder_statements = profile.recorder_statements,
            slow_operations = profile.slow_operations,
            connections = profile.connections,
            "memory profile"
        );
    }
}

impl Readout<'_> {
    /// Takes a memory profile now: every figure read from its owner, without waiting; the
    /// RSS is the latest collection's (the probe is read by collections only).
    #[must_use]
    pub fn memory_profile(&self) -> MemoryProfile {
        let parts = &self.service.inner.parts;
        let cache = parts.cache_admin.counters();
        let application = parts.recorder.snapshot();
        let (rss_bytes, history_len, history_capacity) = {
            let state = lock(&self.service.inner.state);
            let rss = state.last_system.as_ref().map(|system| system.process.resident_memory_bytes);
            (rss, state.history.len(), self.service.inner.config.history_capacity)
        };
        MemoryProfile {
            rss_bytes,
            heap: parts.heap.figures(),
            cache_bytes: cache.bytes,
            cache_keys: cache.keys,
            history_len,
            history_capacity,
            recorder_routes: application.routes.tracked,
            recorder_error_kinds: application.errors.by_kind.len(),
            recorder_statements: application.database.statements.tracked,
            slow_operations: parts.slow_operations.tracked(),
            connections: parts.connections.len(),
        }
    }
}
