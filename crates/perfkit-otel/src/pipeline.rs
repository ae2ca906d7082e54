//! The pipeline: resource, sampler, bounded export and the OTLP/HTTP exporter put together
//! into a tracer provider, installed as the process's, and the `tracing` layer over it.

use std::sync::Arc;
use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, WithExportConfig as _, WithHttpConfig as _};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::resource::TelemetryResourceDetector;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};
use tracing::Subscriber;
use tracing_opentelemetry::OpenTelemetryLayer;
use tracing_subscriber::Layer as _;
use tracing_subscriber::filter::Filtered;
use tracing_subscriber::registry::LookupSpan;

use crate::export_queue::BoundedExport;
use crate::figures::{ExportCounts, ExportFigures};
use crate::http_client::ExportClient;
use crate::{KeepTraceSampler, OtelError, SampledSpans, TraceSettings};

/// The instrumentation scope of spans made from `tracing` spans.
const SCOPE: &str = "perfkit";

/// The `tracing` layer a pipeline gives: tracing-opentelemetry over its tracer, behind
/// [`SampledSpans`].
pub type PipelineLayer<S> = Filtered<OpenTelemetryLayer<S, SdkTracer>, SampledSpans, S>;

/// Traces from this process to an OTLP/HTTP collector: a tracer provider with
/// [`KeepTraceSampler`], a bounded export queue drained by a thread of its own, and the
/// figures of both.
///
/// ```no_run
/// use tracing_subscriber::layer::SubscriberExt as _;
/// use tracing_subscriber::util::SubscriberInitExt as _;
/// use perfkit_otel::{TracePipeline, TraceSettings};
///
/// let settings = TraceSettings::from_env(&|name| std::env::var(name).ok(), "my-app")?;
/// let pipeline = TracePipeline::install(&settings)?;
/// tracing_subscriber::registry().with(pipeline.layer()).init();
/// // ... serve, with perfkit_axum::RequestMetricsLayer::with_tracing ...
/// pipeline.shutdown(std::time::Duration::from_secs(2));
/// # Ok::<(), perfkit_otel::OtelError>(())
/// ```
#[derive(Debug, Clone)]
pub struct TracePipeline {
    provider: SdkTracerProvider,
    figures: Arc<ExportFigures>,
    settings: TraceSettings,
}

impl TracePipeline {
    /// Builds the pipeline for `settings` and installs it as the process's tracer provider
    /// (what `opentelemetry::global::tracer` answers, which perfkit-axum's kept spans and
    /// perfkit-sqlx's statement spans use) with the W3C trace-context propagator, and as
    /// perfkit-core's current-trace source ([`current_span_ids`](crate::current_span_ids)'s
    /// trace id), so that perfkit's log lines name the trace they were written in.
    ///
    /// Needs no runtime: the export thread has its own.
    ///
    /// # Errors
    /// A setting out of bounds, or the exporter or its thread could not be made.
    pub fn install(settings: &TraceSettings) -> Result<Self, OtelError> {
        let pipeline = TracePipeline::build(settings)?;
        opentelemetry::global::set_tracer_provider(pipeline.provider.clone());
        opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
        // Once per process; a second pipeline reads the same OpenTelemetry context.
        let _ = perfkit_core::set_current_span_source(crate::current_span::current_sampled_span);
        Ok(pipeline)
    }

    /// The pipeline without installing it anywhere (tests, benchmarks, a host with several).
    ///
    /// # Errors
    /// As [`install`](Self::install).
    pub fn build(settings: &TraceSettings) -> Result<Self, OtelError> {
        settings.validate()?;
        let resource = resource(settings);
        let client = ExportClient::new(settings.export_timeout).map_err(|error| {
            OtelError::Exporter(format!("cannot build its HTTP client: {error}"))
        })?;
        let mut exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_http_client(client)
            .with_protocol(Protocol::HttpBinary)
            .with_endpoint(settings.endpoint.clone())
            .with_timeout(settings.export_timeout)
            // A retry would sleep the export thread and hold the queue; a failed batch is
            // dropped and counted instead.
            .with_retry_policy(opentelemetry_otlp::RetryPolicy::disabled())
            .build()
            .map_err(|error| OtelError::Exporter(error.to_string()))?;
        opentelemetry_sdk::trace::SpanExporter::set_resource(&mut exporter, &resource);
        let figures = Arc::new(ExportFigures::with_capacity(settings.queue_capacity));
        let processor = BoundedExport::start(exporter, settings, Arc::clone(&figures))?;
        let provider = SdkTracerProvider::builder()
            .with_sampler(KeepTraceSampler::new(settings.sampler))
            .with_resource(resource)
            .with_span_processor(processor)
            .build();
        Ok(TracePipeline { provider, figures, settings: settings.clone() })
    }

    /// The `tracing` layer: spans at INFO and above become OpenTelemetry spans, except
    /// under an unsampled parent ([`SampledSpans`]). Source locations, thread names and
    /// busy/idle times are left out: they are not the HTTP conventions and each costs on
    /// every span.
    #[must_use]
    pub fn layer<S>(&self) -> PipelineLayer<S>
    where
        S: Subscriber + for<'span> LookupSpan<'span>,
    {
        tracing_opentelemetry::layer()
            .with_tracer(self.provider.tracer(SCOPE))
            .with_location(false)
            .with_threads(false)
            .with_tracked_inactivity(false)
            .with_filter(SampledSpans::at(tracing::Level::INFO))
    }

    /// The tracer provider, for spans made with the OpenTelemetry API directly.
    #[must_use]
    pub fn provider(&self) -> &SdkTracerProvider {
        &self.provider
    }

    /// The settings it was built from.
    #[must_use]
    pub fn settings(&self) -> &TraceSettings {
        &self.settings
    }

    /// The export path's counters now.
    #[must_use]
    pub fn counts(&self) -> ExportCounts {
        self.figures.counts()
    }

    /// The live counters, for a scrape-time collector.
    #[must_use]
    pub fn figures(&self) -> Arc<ExportFigures> {
        Arc::clone(&self.figures)
    }

    /// Exports what is queued, waiting at most the export timeout.
    ///
    /// # Errors
    /// When the queue could not be emptied in time (its spans are counted as dropped).
    pub fn flush(&self) -> Result<(), OtelError> {
        self.provider.force_flush().map_err(|error| OtelError::Exporter(error.to_string()))
    }

    /// Exports what is queued and stops, within `within` whatever the collector does; spans
    /// still queued then are counted in `dropped_at_shutdown`. Blocks the calling thread (in
    /// async code, call it through `spawn_blocking`). Calling it again does nothing.
    pub fn shutdown(&self, within: Duration) -> ExportCounts {
        let _ = self.provider.shutdown_with_timeout(within);
        self.figures.counts()
    }
}

/// `service.name`, the settings' attributes, and the SDK's `telemetry.sdk.*`.
fn resource(settings: &TraceSettings) -> Resource {
    let attributes = settings
        .resource_attributes
        .iter()
        .map(|(key, value)| KeyValue::new(key.clone(), value.clone()));
    Resource::builder_empty()
        .with_detector(Box::new(TelemetryResourceDetector))
        .with_attributes(attributes)
        .with_service_name(settings.service_name.clone())
        .build()
}
