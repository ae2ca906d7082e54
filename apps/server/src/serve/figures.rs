//! The listener's figures: connections open, closed by each timeout, refused at the cap. The
//! listener owns them (nothing else sees a connection before hyper does); the Prometheus
//! exposition reads them at scrape time through [`ConnectionCollector`].

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use perfkit::metrics::{FamilyBuilder, family_desc};
use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;

const OPEN: (&str, &str) =
    ("perfkit_server_connections_open", "TCP connections the server holds open now.");
const CLOSED: (&str, &str) = (
    "perfkit_server_connections_closed_total",
    "Connections the server closed for holding it without use, by reason (header_timeout: a request head not read in time; idle_timeout: a kept-alive connection with no request for too long).",
);
const REFUSED: (&str, &str) = (
    "perfkit_server_connections_refused_total",
    "Connections accepted and closed at once because the server already held its most.",
);

/// Why the server closed a connection on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CloseReason {
    /// The request head did not arrive within the header-read timeout.
    HeaderTimeout,
    /// A kept-alive connection stayed without a request past the keep-alive timeout.
    IdleTimeout,
}

/// The counts, shared by the accept loop, every connection and the collector.
#[derive(Debug, Default)]
pub(crate) struct ConnectionFigures {
    open: AtomicUsize,
    header_timeouts: AtomicU64,
    idle_timeouts: AtomicU64,
    refused: AtomicU64,
}

/// One open connection, counted until dropped.
#[derive(Debug)]
pub(crate) struct OpenSlot(Arc<ConnectionFigures>);

impl Drop for OpenSlot {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::Relaxed);
    }
}

impl ConnectionFigures {
    /// A slot for one more connection, or `None` (counted as refused) when `max` are open.
    /// Only the accept loop opens slots, so the check and the increment cannot interleave
    /// with another opening.
    pub(crate) fn open(self: &Arc<Self>, max: usize) -> Option<OpenSlot> {
        if self.open.load(Ordering::Relaxed) >= max {
            self.refused.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        self.open.fetch_add(1, Ordering::Relaxed);
        Some(OpenSlot(Arc::clone(self)))
    }

    pub(crate) fn closed(&self, reason: CloseReason) {
        let count = match reason {
            CloseReason::HeaderTimeout => &self.header_timeouts,
            CloseReason::IdleTimeout => &self.idle_timeouts,
        };
        count.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn open_now(&self) -> usize {
        self.open.load(Ordering::Relaxed)
    }

    pub(crate) fn closed_by(&self, reason: CloseReason) -> u64 {
        match reason {
            CloseReason::HeaderTimeout => self.header_timeouts.load(Ordering::Relaxed),
            CloseReason::IdleTimeout => self.idle_timeouts.load(Ordering::Relaxed),
        }
    }

    pub(crate) fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }
}

/// [`ConnectionFigures`] as a `prometheus` collector, for the service's exporter registry.
pub(crate) struct ConnectionCollector {
    figures: Arc<ConnectionFigures>,
    descs: Vec<Desc>,
}

impl ConnectionCollector {
    pub(crate) fn new(figures: Arc<ConnectionFigures>) -> prometheus::Result<Self> {
        let descs = vec![
            family_desc(OPEN.0, OPEN.1, &[])?,
            family_desc(CLOSED.0, CLOSED.1, &["reason"])?,
            family_desc(REFUSED.0, REFUSED.1, &[])?,
        ];
        Ok(ConnectionCollector { figures, descs })
    }
}

impl Collector for ConnectionCollector {
    fn desc(&self) -> Vec<&Desc> {
        self.descs.iter().collect()
    }

    #[allow(clippy::cast_precision_loss)] // counts far below 2^52
    fn collect(&self) -> Vec<MetricFamily> {
        let figures = &self.figures;
        let mut open = FamilyBuilder::gauge(OPEN.0, OPEN.1);
        open.value(&[], figures.open_now() as f64);
        let mut closed = FamilyBuilder::counter(CLOSED.0, CLOSED.1);
        for (label, reason) in [
            ("header_timeout", CloseReason::HeaderTimeout),
            ("idle_timeout", CloseReason::IdleTimeout),
        ] {
            closed.value(&[("reason", label)], figures.closed_by(reason) as f64);
        }
        let mut refused = FamilyBuilder::counter(REFUSED.0, REFUSED.1);
        refused.value(&[], figures.refused() as f64);
        vec![open.finish(), closed.finish(), refused.finish()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn past_the_cap_a_slot_is_refused_and_counted_and_a_freed_slot_opens_again() {
        let figures = Arc::new(ConnectionFigures::default());
        let first = figures.open(2).unwrap();
        let _second = figures.open(2).unwrap();
        assert!(figures.open(2).is_none());
        assert_eq!((figures.open_now(), figures.refused()), (2, 1));
        drop(first);
        assert!(figures.open(2).is_some());
        assert_eq!(figures.refused(), 1);
    }

    #[test]
    fn the_collector_writes_each_reason_and_the_refusals() {
        let figures = Arc::new(ConnectionFigures::default());
        figures.closed(CloseReason::HeaderTimeout);
        figures.closed(CloseReason::IdleTimeout);
        figures.closed(CloseReason::IdleTimeout);
        let _held = figures.open(0);
        let exporter = perfkit::metrics::PrometheusExporter::new(Arc::default(), None).unwrap();
        exporter.registry().register(Box::new(ConnectionCollector::new(figures).unwrap())).unwrap();
        let text = exporter.render().unwrap();
        for line in [
            "perfkit_server_connections_closed_total{reason=\"header_timeout\"} 1",
            "perfkit_server_connections_closed_total{reason=\"idle_timeout\"} 2",
            "perfkit_server_connections_refused_total 1",
            "perfkit_server_connections_open 0",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing from:\n{text}");
        }
    }
}
