//! The server's traces: the pipeline started before logging (its layer is one of the
//! subscriber's), its figures in the Prometheus exposition, a health indicator that reads
//! degraded while spans are being dropped, and the flush at shutdown.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use perfkit::metrics::{FamilyBuilder, family_desc};
use perfkit_otel::{ExportFigures, TracePipeline};
use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;

use crate::config::TracingSettings;

/// The health indicator's name in `/health`.
pub(crate) const INDICATOR: &str = "traceExport";

const EXPORTED: (&str, &str) =
    ("perfkit_trace_spans_exported_total", "Spans the OpenTelemetry collector accepted.");
const DROPPED: (&str, &str) = (
    "perfkit_trace_spans_dropped_total",
    "Spans dropped, by reason (queue_full: the export queue was full; export_failed: the collector refused the export, was unreachable or did not answer in time; shutdown: still queued when the flush at shutdown ran out of time).",
);
const QUEUED: (&str, &str) = ("perfkit_trace_export_queue_spans", "Spans waiting for export now.");
const CAPACITY: (&str, &str) =
    ("perfkit_trace_export_queue_capacity", "Most spans the export queue holds.");
const FAILED: (&str, &str) =
    ("perfkit_trace_exports_failed_total", "Exports that failed or timed out.");

/// Builds and installs the pipeline, before logging starts (so no span is missed).
pub(crate) fn start(settings: &TracingSettings) -> anyhow::Result<TracePipeline> {
    Ok(TracePipeline::install(&settings.export)?)
}

/// The export figures as a `prometheus` collector, for the service's exporter registry.
pub(crate) struct TraceCollector {
    figures: Arc<ExportFigures>,
    descs: Vec<Desc>,
}

impl TraceCollector {
    pub(crate) fn new(figures: Arc<ExportFigures>) -> prometheus::Result<Self> {
        let descs = vec![
            family_desc(EXPORTED.0, EXPORTED.1, &[])?,
            family_desc(DROPPED.0, DROPPED.1, &["reason"])?,
            family_desc(QUEUED.0, QUEUED.1, &[])?,
            family_desc(CAPACITY.0, CAPACITY.1, &[])?,
            family_desc(FAILED.0, FAILED.1, &[])?,
        ];
        Ok(TraceCollector { figures, descs })
    }
}

impl Collector for TraceCollector {
    fn desc(&self) -> Vec<&Desc> {
        self.descs.iter().collect()
    }

    #[allow(clippy::cast_precision_loss)] // counts far below 2^52
    fn collect(&self) -> Vec<MetricFamily> {
        let counts = self.figures.counts();
        let mut exported = FamilyBuilder::counter(EXPORTED.0, EXPORTED.1);
        exported.value(&[], counts.exported as f64);
        let mut dropped = FamilyBuilder::counter(DROPPED.0, DROPPED.1);
        for (reason, count) in [
            ("queue_full", counts.dropped_queue_full),
            ("export_failed", counts.dropped_export_failed),
            ("shutdown", counts.dropped_at_shutdown),
        ] {
            dropped.value(&[("reason", reason)], count as f64);
        }
        let mut queued = FamilyBuilder::gauge(QUEUED.0, QUEUED.1);
        queued.value(&[], counts.queued as f64);
        let mut capacity = FamilyBuilder::gauge(CAPACITY.0, CAPACITY.1);
        capacity.value(&[], counts.capacity as f64);
        let mut failed = FamilyBuilder::counter(FAILED.0, FAILED.1);
        failed.value(&[], counts.failed_exports as f64);
        vec![
            exported.finish(),
            dropped.finish(),
            queued.finish(),
            capacity.finish(),
            failed.finish(),
        ]
    }
}

/// The health indicator's check: down (so `/health` is degraded; it is not critical) when
/// spans were dropped since the previous check, up otherwise.
pub(crate) fn export_check(
    figures: Arc<ExportFigures>,
    endpoint: String,
) -> impl Fn() -> std::future::Ready<Result<String, String>> + Send + Sync + 'static {
    let seen = AtomicU64::new(figures.counts().dropped());
    move || {
        let counts = figures.counts();
        let dropped = counts.dropped();
        let before = seen.swap(dropped, Ordering::Relaxed);
        std::future::ready(if dropped > before {
            Err(format!(
                "{} spans dropped since the last check ({dropped} in all, {} exports failed): \
                 the collector at {endpoint} is down, slow or refusing, or the export queue \
                 ({}) is too small for the traffic",
                dropped - before,
                counts.failed_exports,
                counts.capacity,
            ))
        } else {
            Ok(format!(
                "{} spans exported, {} queued, none dropped lately",
                counts.exported, counts.queued
            ))
        })
    }
}

/// Sends what is queued and stops the pipeline, within `within` whatever the collector
/// does (on a blocking thread: the flush waits).
pub(crate) async fn stop(pipeline: TracePipeline, within: Duration) {
    let stopped = tokio::task::spawn_blocking(move || pipeline.shutdown(within)).await;
    match stopped {
        Ok(counts) if counts.dropped() > 0 => tracing::warn!(
            exported = counts.exported,
            dropped = counts.dropped(),
            dropped_at_shutdown = counts.dropped_at_shutdown,
            "traces flushed; some spans were dropped"
        ),
        Ok(counts) => tracing::info!(exported = counts.exported, "traces flushed"),
        Err(error) => tracing::warn!(%error, "the traces flush did not finish"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pipeline(endpoint: &str) -> TracePipeline {
        let mut settings = perfkit_otel::TraceSettings::new("test");
        settings.endpoint = endpoint.to_owned();
        settings.export_timeout = Duration::from_millis(100);
        TracePipeline::build(&settings).unwrap()
    }

    /// A loopback port nothing listens on.
    fn nowhere() -> String {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/v1/traces", listener.local_addr().unwrap())
    }

    fn end_one_span(pipeline: &TracePipeline) {
        use tracing_subscriber::layer::SubscriberExt as _;
        let subscriber = tracing_subscriber::registry().with(pipeline.layer());
        tracing::subscriber::with_default(subscriber, || {
            tracing::info_span!("work").in_scope(|| ());
        });
    }

    #[test]
    fn the_collector_writes_every_family_and_the_check_reads_degraded_while_dropping() {
        let pipeline = pipeline(&nowhere());
        let check = export_check(pipeline.figures(), "http://collector".to_owned());
        assert!(check().into_inner().is_ok());
        end_one_span(&pipeline);
        pipeline.flush().unwrap();
        let down = check().into_inner().unwrap_err();
        assert!(down.starts_with("1 spans dropped since the last check"), "{down}");
        // Nothing new dropped: up again.
        assert!(check().into_inner().is_ok());

        let exporter = perfkit::metrics::PrometheusExporter::new(Arc::default(), None).unwrap();
        exporter
            .registry()
            .register(Box::new(TraceCollector::new(pipeline.figures()).unwrap()))
            .unwrap();
        let text = exporter.render().unwrap();
        for line in [
            "perfkit_trace_spans_dropped_total{reason=\"export_failed\"} 1",
            "perfkit_trace_spans_dropped_total{reason=\"queue_full\"} 0",
            "perfkit_trace_spans_exported_total 0",
            "perfkit_trace_exports_failed_total 1",
            "perfkit_trace_export_queue_capacity 2048",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing from:\n{text}");
        }
    }
}
