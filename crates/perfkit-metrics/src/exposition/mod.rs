//! Prometheus text exposition: the recorder's families written straight into text, then the
//! series emitted through the `metrics` facade, then whatever else is registered in a
//! `prometheus::Registry`, through the same writer, in the text format 0.0.4 or (asked for
//! with `Accept`) OpenMetrics 1.0 with exemplars.

mod business_text;
pub(crate) mod families;
mod format;
mod recorder_collector;
mod recorder_families;
mod recorder_text;
mod system_collector;
pub(crate) mod text_format;

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};

use prometheus::Registry;
use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;

use crate::{MetricsError, Recorder, SystemProbe};
pub use format::ExpositionFormat;
pub use recorder_collector::RecorderCollector;
use system_collector::SystemCollector;

/// Renders the Prometheus text exposition of a [`Recorder`] and, optionally, a
/// [`SystemProbe`].
///
/// Values are read when [`render`](Self::render) runs: nothing is recorded twice, and nothing
/// accumulates between scrapes. The recorder's families are written from its counters
/// straight into text; further collectors (a cache's statistics, say) can be added through
/// [`registry`](Self::registry), and are gathered and written by the same writer.
///
/// ```
/// use std::collections::HashSet;
use std::sync::Arc;
/// use perfkit_metrics::{PrometheusExporter, Recorder};
///
/// let exporter = PrometheusExporter::new(Arc::new(Recorder::default()), None)?;
/// let text = exporter.render()?;
/// assert!(text.contains("# TYPE http_slow_requests_total counter"));
/// # Ok::<(), perfkit_metrics::MetricsError>(())
/// ```
#[derive(Debug)]
pub struct PrometheusExporter {
    recorder: Arc<Recorder>,
    registry: Registry,
    /// The length of the last text rendered, so the next one allocates once.
    last_len: AtomicUsize,
}

impl PrometheusExporter {
    /// The content type of the text exposition format 0.0.4.
    pub const CONTENT_TYPE: &'static str = ExpositionFormat::PrometheusText.content_type();

    /// An exporter over `recorder`, and over `probe` when given.
    ///
    /// # Errors
    /// [`MetricsError::Exposition`] if the registry refuses a collector (it does not with
    /// the built-in ones).
    pub fn new(
        recorder: Arc<Recorder>,
        probe: Option<Arc<dyn SystemProbe>>,
    ) -> Result<Self, MetricsError> {
        let registry = Registry::new();
        registry.register(Box::new(RecorderNames::new()?))?;
        if let Some(probe) = probe {
            registry.register(Box::new(SystemCollector::new(probe)?))?;
        }
        Ok(PrometheusExporter { recorder, registry, last_len: AtomicUsize::new(16 * 1024) })
    }

    /// The registry further collectors live in. It already holds the recorder's family names,
    /// so a collector claiming one of them is refused.
    #[must_use]
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The text exposition of the recorder and every registered collector, read now.
    ///
    /// # Errors
    /// None today; kept for collectors that may fail to encode.
    pub fn render(&self) -> Result<String, MetricsError> {
        self.render_as(ExpositionFormat::PrometheusText)
    }

    /// The exposition in `format`: the same families, samples and values in either; in
    /// OpenMetrics the histograms' buckets carry exemplars (the latest sampled request of each
    /// route's duration bucket, the latest observation under a sampled span of a facade
    /// histogram's).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use perfkit_core::{SampledSpan, SpanId, TraceId};
    /// use perfkit_metrics::{ExpositionFormat, Method, PrometheusExporter, Recorder};
    ///
    /// let recorder = Arc::new(Recorder::default());
    /// let span = SampledSpan { trace_id: TraceId::from_u128(0xabc), span_id: SpanId::from_u64(1) };
    /// recorder.record_request_traced(Some("/a"), Method::Get, 200, Duration::from_millis(3), span);
    /// let text = PrometheusExporter::new(recorder, None)?.render_as(ExpositionFormat::OpenMetrics)?;
    /// assert!(text.contains("# TYPE http_requests counter\n"));
    /// assert!(text.contains(r#"le="0.005"} 1 # {trace_id="00000000000000000000000000000abc""#));
    /// assert!(text.ends_with("# EOF\n"));
    /// # Ok::<(), perfkit_metrics::MetricsError>(())
    /// ```
    ///
    /// # Errors
    /// As [`render`](Self::render).
    pub fn render_as(&self, format: ExpositionFormat) -> Result<String, MetricsError> {
        let mut text = String::with_capacity(self.last_len.load(Ordering::Relaxed) + 1024);
        self.render_into_as(&mut text, format)?;
        self.last_len.store(text.len(), Ordering::Relaxed);
        Ok(text)
    }

    /// Appends the text exposition to `out`, so a caller can reuse one buffer across scrapes.
    ///
    /// # Errors
    /// As [`render`](Self::render).
    pub fn render_into(&self, out: &mut String) -> Result<(), MetricsError> {
        self.render_into_as(out, ExpositionFormat::PrometheusText)
    }

    /// Appends the exposition in `format` to `out`.
    ///
    /// # Errors
    /// As [`render`](Self::render).
    pub fn render_into_as(
        &self,
        out: &mut String,
        format: ExpositionFormat,
    ) -> Result<(), MetricsError> {
        let gathered = self.registry.gather();
        recorder_text::write_recorder(out, &self.recorder, format);
        // A facade name that another family already has gives way: one family per name.
        let taken: HashSet<&str> = recorder_families::FAMILIES
            .iter()
            .map(|(name, _, _)| *name)
            .chain(gathered.iter().map(MetricFamily::name))
            .collect();
        business_text::write_business(out, self.recorder.business(), &taken, format);
        text_format::write_families(out, &gathered, format);
        text_format::write_end(out, format);
        Ok(())
    }
}

/// Holds the recorder's family names in the registry, so registering another collector that
/// claims one fails as it would if the recorder's families were gathered from it. Collects
/// nothing: the exporter writes those families itself.
struct RecorderNames {
    descs: Vec<Desc>,
}

impl RecorderNames {
    fn new() -> Result<Self, MetricsError> {
        let descs = recorder_families::FAMILIES
            .iter()
            .chain(business_text::FACADE_FAMILIES)
            .map(|(name, help, labels)| families::desc(name, help, labels))
            .collect::<Result<_, _>>()?;
        Ok(RecorderNames { descs })
    }
}

impl Collector for RecorderNames {
    fn desc(&self) -> Vec<&Desc> {
        self.descs.iter().collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        Vec::new()
    }
}
