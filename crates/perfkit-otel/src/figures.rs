//! What the export path counts: spans queued, exported and dropped (by why), and failed
//! exports. Written by the span processor and the export thread, read at scrape time.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// The export path's counters, shared by the processor, the export thread and readers.
#[derive(Debug, Default)]
pub struct ExportFigures {
    pub(crate) capacity: usize,
    pub(crate) queued: AtomicUsize,
    pub(crate) exported: AtomicU64,
    pub(crate) dropped_queue_full: AtomicU64,
    pub(crate) dropped_export_failed: AtomicU64,
    pub(crate) dropped_at_shutdown: AtomicU64,
    pub(crate) failed_exports: AtomicU64,
}

/// The counters at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExportCounts {
    /// The queue's capacity.
    pub capacity: usize,
    /// Spans waiting for export now.
    pub queued: usize,
    /// Spans the collector accepted.
    pub exported: u64,
    /// Spans dropped because the queue was full (the collector could not keep up, or is
    /// down or hanging and exports are timing out).
    pub dropped_queue_full: u64,
    /// Spans lost with an export that failed or timed out.
    pub dropped_export_failed: u64,
    /// Spans still queued when the shutdown's time ran out.
    pub dropped_at_shutdown: u64,
    /// Exports that failed or timed out.
    pub failed_exports: u64,
}

impl ExportCounts {
    /// Every span dropped, for whatever reason.
    #[must_use]
    pub fn dropped(&self) -> u64 {
        self.dropped_queue_full + self.dropped_export_failed + self.dropped_at_shutdown
    }
}

impl ExportFigures {
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        ExportFigures { capacity, ..ExportFigures::default() }
    }

    /// The counters now.
    #[must_use]
    pub fn counts(&self) -> ExportCounts {
        ExportCounts {
            capacity: self.capacity,
            queued: self.queued.load(Ordering::Relaxed),
            exported: self.exported.load(Ordering::Relaxed),
            dropped_queue_full: self.dropped_queue_full.load(Ordering::Relaxed),
            dropped_export_failed: self.dropped_export_failed.load(Ordering::Relaxed),
            dropped_at_shutdown: self.dropped_at_shutdown.load(Ordering::Relaxed),
            failed_exports: self.failed_exports.load(Ordering::Relaxed),
        }
    }

    pub(crate) fn add(counter: &AtomicU64, spans: usize) {
        counter.fetch_add(spans as u64, Ordering::Relaxed);
    }
}
