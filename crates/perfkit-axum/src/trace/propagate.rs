//! Outgoing requests carry the current trace (feature `otel`): a tower layer for clients
//! whose requests are `http::Request`s (hyper, hyper-util's client, tower-http stacks), and
//! [`inject_trace_context`] for any other client's headers (reqwest: `.headers(..)`).

use std::task::{Context as TaskContext, Poll};

use axum::http::{HeaderMap, Request};
use opentelemetry::Context;
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt as _, TraceFlags, TraceState};
use tower::{Layer, Service};

use super::context::is_unsampled_root;
use super::w3c;

/// Writes the current OpenTelemetry context's span as `traceparent` (and `tracestate`) into
/// `headers`, replacing any there; nothing when no valid span is current. Inside a request
/// traced by [`RequestMetricsLayer`](crate::RequestMetricsLayer), the current span is the
/// request's (or a child's); in an unsampled one it is an unsampled parent, so the service
/// called does not sample either.
///
/// ```
/// use axum::http::HeaderMap;
///
/// let mut headers = HeaderMap::new();
/// perfkit_axum::inject_trace_context(&mut headers); // no span current: nothing written
/// assert!(headers.get("traceparent").is_none());
/// ```
pub fn inject_trace_context(headers: &mut HeaderMap) {
    let context = Context::current();
    let span = context.span();
    let mut span_context = span.span_context().clone();
    if !span_context.is_valid() {
        return;
    }
    // The unsampled root is shared by requests: each call leaves with ids of its own, so
    // that what a downstream service keeps is not joined to others' traces.
    if is_unsampled_root(&span_context) {
        span_context = SpanContext::new(
            super::context::random_trace_id(),
            SpanId::from(super::random::next_nonzero_u64()),
            TraceFlags::default(),
            true,
            TraceState::NONE,
        );
    }
    let span_context = &span_context;
    if let Some(parent) = w3c::format_traceparent(span_context) {
        headers.insert(&w3c::TRACEPARENT, parent);
    }
    match w3c::format_tracestate(span_context) {
        Some(state) => {
            headers.insert(&w3c::TRACESTATE, state);
        }
        None => {
            headers.remove(&w3c::TRACESTATE);
        }
    }
}

/// A tower [`Layer`] for an HTTP client: each request leaves with the current trace context
/// ([`inject_trace_context`]).
///
/// ```
/// use axum::body::Body;
/// use axum::http::{Request, Response};
/// use perfkit_axum::PropagateTraceContextLayer;
/// use tower::{ServiceBuilder, ServiceExt};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// // In a real host the inner service is a hyper client.
/// let client = ServiceBuilder::new().layer(PropagateTraceContextLayer).service_fn(
///     |request: Request<Body>| async move {
///         Ok::<_, std::convert::Infallible>(Response::new(Body::empty()))
///     },
/// );
/// let response = client.oneshot(Request::get("http://upstream/").body(Body::empty()).unwrap()).await;
/// assert!(response.is_ok());
/// # });
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct PropagateTraceContextLayer;

impl<S> Layer<S> for PropagateTraceContextLayer {
    type Service = PropagateTraceContext<S>;

    fn layer(&self, inner: S) -> Self::Service {
        PropagateTraceContext { inner }
    }
}

/// The client service [`PropagateTraceContextLayer`] wraps.
#[derive(Debug, Clone)]
pub struct PropagateTraceContext<S> {
    inner: S,
}

impl<S, B> Service<Request<B>> for PropagateTraceContext<S>
where
    S: Service<Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        inject_trace_context(request.headers_mut());
        self.inner.call(request)
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry::trace::TraceId;

    use super::*;

    #[test]
    fn writes_the_current_span_and_drops_a_stale_tracestate() {
        let span = SpanContext::new(
            TraceId::from(0x0af7651916cd43dd8448eb211c80319c_u128),
            SpanId::from(0xb7ad6b7169203331_u64),
            TraceFlags::SAMPLED,
            false,
            TraceState::NONE,
        );
        let _current = Context::new().with_remote_span_context(span).attach();
        let mut headers = HeaderMap::new();
        headers.insert(&w3c::TRACESTATE, "stale=1".parse().unwrap());
        inject_trace_context(&mut headers);
        assert_eq!(
            headers[&w3c::TRACEPARENT],
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
        );
        assert!(headers.get(&w3c::TRACESTATE).is_none());
    }
}
