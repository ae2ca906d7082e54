//! Prometheus text exposition through the `prometheus` crate's registry and encoder.

pub(crate) mod families;
mod recorder_collector;
mod system_collector;

use std::sync::Arc;

use prometheus::{Encoder, Registry, TextEncoder};

use crate::{MetricsError, Recorder, SystemProbe};
use recorder_collector::RecorderCollector;
use system_collector::SystemCollector;

/// Renders the Prometheus text exposition of a [`Recorder`] and, optionally, a
/// [`SystemProbe`].
///
/// Values are read from the recorder and probe when [`render`](Self::render) runs, by
/// collectors registered in a `prometheus::Registry`: nothing is recorded twice, and nothing
/// accumulates between scrapes. Further collectors (a cache's statistics, say) can be added
/// through [`registry`](Self::registry).
///
/// ```
/// use std::sync::Arc;
/// use perfkit_metrics::{PrometheusExporter, Recorder};
///
/// let exporter = PrometheusExporter::new(Arc::new(Recorder::default()), None)?;
/// let text = exporter.render()?;
/// assert!(text.contains("# TYPE http_slow_requests_total counter"));
/// # Ok::<(), perfkit_metrics::MetricsError>(())
/// ```
#[derive(Debug)]
pub struct PrometheusExporter {
    registry: Registry,
}

impl PrometheusExporter {
    /// The content type of the text exposition format 0.0.4.
    pub const CONTENT_TYPE: &'static str = "text/plain; version=0.0.4; charset=utf-8";

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
        registry.register(Box::new(RecorderCollector::new(recorder)?))?;
        if let Some(probe) = probe {
            registry.register(Box::new(SystemCollector::new(probe)?))?;
        }
        Ok(PrometheusExporter { registry })
    }

    /// The registry the collectors live in, for adding more.
    #[must_use]
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The text exposition of every registered collector, read now.
    ///
    /// # Errors
    /// [`MetricsError::Exposition`] if encoding fails.
    pub fn render(&self) -> Result<String, MetricsError> {
        let families = self.registry.gather();
        let mut text = Vec::with_capacity(16 * 1024);
        TextEncoder::new().encode(&families, &mut text)?;
        String::from_utf8(text)
            .map_err(|e| MetricsError::Exposition(prometheus::Error::Msg(e.to_string())))
    }
}
