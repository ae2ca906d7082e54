//! The OpenTelemetry side of a request's trace (feature `otel`): the parent a sampled span
//! adopts, the unsampled context handed down to an unsampled request's children, and the
//! span a tail rule writes afterwards.

use std::time::{Duration, Instant, SystemTime};

use axum::extract::MatchedPath;
use opentelemetry::trace::{
    Span as _, SpanContext, SpanId, SpanKind, Status, TraceContextExt as _, TraceFlags, TraceId,
    TraceState, Tracer as _,
};
use opentelemetry::{Context, KeyValue};
use perfkit_core::{KeepTrace, SampledSpan};
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use super::RequestTracing;
use super::span::{SpanName, method_name};

/// The instrumentation scope of the spans written here.
const SCOPE: &str = "perfkit-axum";

/// A sampled request's span continues `caller`'s trace (or starts one), marked as sampled
/// by this layer's head decision so that perfkit-otel's sampler does not toss again.
pub(crate) fn adopt(tracing: &RequestTracing, span: &tracing::Span, caller: Option<SpanContext>) {
    let parent = match caller {
        Some(caller) => tracing.sampled_root.with_remote_span_context(caller),
        None => tracing.sampled_root.clone(),
    };
    // Err only when no OpenTelemetry layer sees the span: then there is nothing to adopt.
    let _ = span.set_parent(parent);
}

/// The parent of sampled requests without a caller: empty but for the mark of the layer's
/// decision; made once (a context's values are a map: one allocation saved per request).
pub(crate) fn sampled_root() -> Context {
    Context::new().with_value(KeepTrace::HeadSampled)
}

/// An unsampled request: the context its children start under (its caller's unsampled
/// span, or else the layer's made-up unsampled root, shared by all, so that they are dropped
/// rather than start traces of their own), and its caller, for a span a tail rule writes
/// afterwards.
#[derive(Debug)]
pub(crate) struct Unsampled {
    /// The caller's span and the context made of it; `None`: the shared root.
    caller: Option<(SpanContext, Context)>,
}

/// The made-up root's ids: valid, and a trace id that the trace-id ratio rule keeps at no
/// ratio below 1. One context for every unsampled request without a caller (no allocation
/// per request), so what leaves in a `traceparent` under it gets ids of its own
/// ([`inject_trace_context`](super::inject_trace_context)).
const ROOT_TRACE: u128 = u128::MAX;
const ROOT_SPAN: u64 = u64::MAX;

/// The made-up root every unsampled request without a caller shares: not sampled.
pub(crate) fn unsampled_root() -> Context {
    let root = SpanContext::new(
        TraceId::from(ROOT_TRACE),
        SpanId::from(ROOT_SPAN),
        TraceFlags::default(),
        true,
        TraceState::NONE,
    );
    Context::new().with_remote_span_context(root)
}

/// Whether `span` is the made-up root.
pub(crate) fn is_unsampled_root(span: &SpanContext) -> bool {
    span.trace_id() == TraceId::from(ROOT_TRACE) && span.span_id() == SpanId::from(ROOT_SPAN)
}

impl Unsampled {
    pub(crate) fn new(caller: Option<SpanContext>) -> Self {
        Unsampled {
            caller: caller.map(|caller| {
                let context = Context::new().with_remote_span_context(caller.clone());
                (caller, context)
            }),
        }
    }

    /// The context to attach while the request's service runs.
    #[inline]
    pub(crate) fn context<'a>(&'a self, tracing: &'a RequestTracing) -> &'a Context {
        self.caller.as_ref().map_or(&tracing.unsampled_root, |(_, context)| context)
    }

    /// Writes the request's span now if a tail rule keeps it: its method, route, status and
    /// why it was kept (what else the request carried was not kept: copying it for every
    /// unsampled request would cost them all). Returns the span's ids where it is sampled.
    pub(crate) fn finish(
        self,
        tracing: &RequestTracing,
        status: u16,
        elapsed: Duration,
        now: Instant,
        route: Option<&MatchedPath>,
        method: perfkit_metrics::Method,
    ) -> Option<SampledSpan> {
        let reason = tracing.keep_reason(status, elapsed, now)?;
        let method = method_name(method.as_str());
        let route = route.map(MatchedPath::as_str);
        let end = SystemTime::now();
        let start = end.checked_sub(elapsed).unwrap_or(end);
        let mut attributes = vec![
            KeyValue::new("http.request.method", method),
            KeyValue::new("http.response.status_code", i64::from(status)),
            KeyValue::new("perfkit.trace.kept", reason.as_str()),
        ];
        if let Some(route) = route {
            attributes.push(KeyValue::new("http.route", route.to_owned()));
        }
        if status >= 500 {
            attributes.push(KeyValue::new("error.type", status.to_string()));
        }
        let parent = match self.caller {
            Some((_, caller)) => caller,
            None => Context::new(),
        }
        .with_value(reason);
        let tracer = opentelemetry::global::tracer(SCOPE);
        let builder = tracer
            .span_builder(SpanName { method, route }.to_string())
            .with_kind(SpanKind::Server)
            .with_start_time(start)
            .with_attributes(attributes);
        let mut span = tracer.build_with_context(builder, &parent);
        if status >= 500 {
            span.set_status(Status::error(""));
        }
        let ids = sampled_span_of(span.span_context());
        span.end_with_timestamp(end);
        ids
    }
}

/// The ids of `context`, where it is a valid, sampled span's.
#[inline]
fn sampled_span_of(context: &SpanContext) -> Option<SampledSpan> {
    (context.is_sampled() && context.is_valid()).then(|| SampledSpan {
        trace_id: perfkit_core::TraceId::from_bytes(context.trace_id().to_bytes()),
        span_id: perfkit_core::SpanId::from_bytes(context.span_id().to_bytes()),
    })
}

/// The ids of the span current on this thread, where it is sampled: the source perfkit-core's
/// [`current_sampled_span`](perfkit_core::current_sampled_span) asks, and how the layer reads
/// a sampled request's ids while its span is entered (tracing-opentelemetry makes an entered
/// span's context the current one).
#[inline]
pub(crate) fn current_sampled_span() -> Option<SampledSpan> {
    Context::map_current(|current| sampled_span_of(current.span().span_context()))
}

/// A random trace id, never all zeros.
#[inline]
pub(crate) fn random_trace_id() -> TraceId {
    let high = u128::from(super::random::next_nonzero_u64());
    TraceId::from((high << 64) | u128::from(super::random::next_u64()))
}
