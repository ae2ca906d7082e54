//! The OpenTelemetry side of a request's trace (feature `otel`): the parent a sampled span
//! adopts, the unsampled context handed down to an unsampled request's children, and the
//! span a tail rule writes afterwards.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use axum::extract::MatchedPath;
use axum::http::{HeaderMap, HeaderValue, header};
use opentelemetry::trace::{
    Span as _, SpanContext, SpanId, SpanKind, Status, TraceContextExt as _, TraceFlags, TraceId,
    TraceState, Tracer as _,
};
use opentelemetry::{Context, KeyValue};
use perfkit_core::KeepTrace;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use super::RequestTracing;
use super::span::{SpanName, kept_header, method_name, server_address, user_agent};

/// The instrumentation scope of the spans written here.
const SCOPE: &str = "perfkit-axum";

/// A sampled request's span continues `caller`'s trace (or starts one), marked as sampled
/// by this layer's head decision so that perfkit-otel's sampler does not toss again.
pub(crate) fn adopt(span: &tracing::Span, caller: Option<SpanContext>) {
    let parent = match caller {
        Some(caller) => Context::new().with_remote_span_context(caller),
        None => Context::new(),
    };
    // Err only when no OpenTelemetry layer sees the span: then there is nothing to adopt.
    let _ = span.set_parent(parent.with_value(KeepTrace::HeadSampled));
}

/// An unsampled request: the context its children start under (the caller's unsampled
/// span, or one made up for it so that they are dropped rather than start traces of their
/// own), and what a tail rule needs to write the request's span afterwards.
#[derive(Debug)]
pub(crate) struct Unsampled {
    context: Context,
    caller: Option<SpanContext>,
    tracing: Arc<RequestTracing>,
    host: Option<HeaderValue>,
    user_agent: Option<HeaderValue>,
}

impl Unsampled {
    /// `root`: the trace id the head decision was taken on, when there is no caller.
    pub(crate) fn new(
        tracing: Arc<RequestTracing>,
        caller: Option<SpanContext>,
        root: Option<TraceId>,
        headers: &HeaderMap,
    ) -> Self {
        let parent = match &caller {
            Some(caller) => caller.clone(),
            None => made_up_parent(root.unwrap_or_else(random_trace_id)),
        };
        let context = Context::new().with_remote_span_context(parent);
        let keeps = tracing.keep_errors || tracing.keep_slower_than.is_some();
        let (host, user_agent) = if keeps {
            (kept_header(headers, header::HOST), kept_header(headers, header::USER_AGENT))
        } else {
            (None, None)
        };
        Unsampled { context, caller, tracing, host, user_agent }
    }

    /// The context to attach while the request's service runs.
    #[inline]
    pub(crate) fn context(&self) -> &Context {
        &self.context
    }

    /// Writes the request's span now if a tail rule keeps it.
    pub(crate) fn finish(
        self,
        status: u16,
        elapsed: Duration,
        now: Instant,
        route: Option<&MatchedPath>,
        method: perfkit_metrics::Method,
    ) {
        let Some(reason) = self.tracing.keep_reason(status, elapsed, now) else {
            return;
        };
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
        let mut headers = HeaderMap::new();
        if let Some(host) = self.host {
            headers.insert(header::HOST, host);
        }
        if let Some(agent) = self.user_agent {
            headers.insert(header::USER_AGENT, agent);
        }
        let (address, port) = server_address(&headers);
        if let Some(address) = address {
            attributes.push(KeyValue::new("server.address", address.to_owned()));
        }
        if let Some(port) = port {
            attributes.push(KeyValue::new("server.port", i64::from(port)));
        }
        if let Some(agent) = user_agent(&headers) {
            attributes.push(KeyValue::new("user_agent.original", agent.to_owned()));
        }
        if status >= 500 {
            attributes.push(KeyValue::new("error.type", status.to_string()));
        }
        let parent = match self.caller {
            Some(caller) => Context::new().with_remote_span_context(caller),
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
        span.end_with_timestamp(end);
    }
}

/// A parent for an unsampled request with no caller: random ids, not sampled. Nothing is
/// ever exported under it; a downstream service that gets it from
/// [`inject_trace_context`](super::inject_trace_context) sees an unsampled caller.
fn made_up_parent(trace_id: TraceId) -> SpanContext {
    let span_id = SpanId::from(super::random::next_nonzero_u64());
    SpanContext::new(trace_id, span_id, TraceFlags::default(), true, TraceState::NONE)
}

/// A random trace id, never all zeros.
#[inline]
pub(crate) fn random_trace_id() -> TraceId {
    let high = u128::from(super::random::next_nonzero_u64());
    TraceId::from((high << 64) | u128::from(super::random::next_u64()))
}
