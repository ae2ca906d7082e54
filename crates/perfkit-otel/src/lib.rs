//! perfkit's traces over OTLP/HTTP, built so that they cannot hurt the service.
//!
//! perfkit's crates emit ordinary `tracing` spans (perfkit-axum's request spans, cache
//! reads, the orchestrator's runs) and perfkit-sqlx's statement spans; this crate sends them,
//! and any other span of the process, to an OpenTelemetry collector:
//!
//! - [`TracePipeline`]: a tracer provider over the OTLP/HTTP protobuf exporter (the
//!   ecosystem's `opentelemetry-otlp`, through reqwest 0.12), installed as the process's, and
//!   [`TracePipeline::layer`], the tracing-opentelemetry layer over it.
//! - The export path (`export_queue.rs`): ending a span is a counter and a channel send;
//!   past the queue's capacity spans are dropped and counted ([`ExportCounts`]). Exports run
//!   on a thread with a runtime of their own, each cut off at a timeout, so a collector
//!   that is down, slow or hanging changes no answer and adds no latency, on any runtime.
//! - [`KeepTraceSampler`]: keeps what perfkit-axum's layer decided to keep (a head sample,
//!   or a failed or slow request afterwards: perfkit-core's `KeepTrace`), samples the rest by
//!   the standard rule ([`SamplerSetting`], `OTEL_TRACES_SAMPLER`).
//! - [`SampledSpans`]: the layer's filter; nothing under an unsampled parent is built.
//! - [`TraceSettings`] and [`StandardEnv`]: the standard `OTEL_*` variables.
//! - [`current_span_ids`]: the sampled span current on this thread, for log lines; an
//!   installed pipeline answers perfkit-core's `current_sampled_span` with it.
//!
//! ```no_run
//! use std::sync::Arc;
//! use axum::{Router, routing::get};
//! use perfkit_axum::{RequestMetricsLayer, RequestTracing};
//! use tracing_subscriber::layer::SubscriberExt as _;
//! use tracing_subscriber::util::SubscriberInitExt as _;
//!
//! // The three lines that turn tracing on:
//! let settings = perfkit_otel::TraceSettings::from_env(&|name| std::env::var(name).ok(), "my-app")?;
//! let pipeline = perfkit_otel::TracePipeline::install(&settings)?;
//! tracing_subscriber::registry().with(pipeline.layer()).init();
//!
//! let recorder = Arc::new(perfkit_metrics::Recorder::default());
//! let sampling = RequestTracing::ratio(settings.sampler.ratio()).parent_based(settings.sampler.is_parent_based());
//! let app: Router = Router::new()
//!     .route("/api/posts/{id}", get(|| async { "a post" }))
//!     .layer(RequestMetricsLayer::new(recorder).with_tracing(sampling));
//! // ... serve `app`; at the end:
//! pipeline.shutdown(std::time::Duration::from_secs(2));
//! # Ok::<(), perfkit_otel::OtelError>(())
//! ```

mod current_span;
mod error;
mod export_queue;
mod figures;
mod filter;
mod http_client;
mod pipeline;
mod sampler;
mod settings;

pub use current_span::current_span_ids;
pub use error::OtelError;
pub use figures::{ExportCounts, ExportFigures};
pub use filter::SampledSpans;
pub use pipeline::{PipelineLayer, TracePipeline};
pub use sampler::KeepTraceSampler;
pub use settings::{
    DEFAULT_ENDPOINT, DEFAULT_EXPORT_INTERVAL, DEFAULT_EXPORT_TIMEOUT, DEFAULT_MAX_BATCH,
    DEFAULT_QUEUE_CAPACITY, SamplerSetting, StandardEnv, TraceSettings, parse_resource_attributes,
    traces_endpoint,
};
