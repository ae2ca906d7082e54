//! `RequestMetricsLayer`: records every request of the host app into the recorder by
//! matched route, method and status, and (opt-in) gives sampled requests a span.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::extract::MatchedPath;
use axum::http::{Request, Response, StatusCode};
use perfkit_core::SampledSpan;
use perfkit_metrics::{Method, Recorder};
use tower::{Layer, Service};

use crate::error::ErrorKind;
use crate::middleware::OwnTrafficMark;
use crate::trace::{RequestTrace, RequestTracing, start_trace};

/// The route recorded for a request that matched no route (a 404 from the fallback):
/// raw paths never become series, so scanners cannot grow the label set.
pub const UNMATCHED_ROUTE: &str = "__unmatched__";

/// The error kind recorded for a 5xx response that carries no [`ErrorKind`].
pub const SERVER_ERROR_KIND: &str = "server_error";

/// A tower [`Layer`] that records every request into a [`Recorder`]: the matched route
/// template (axum's [`MatchedPath`], never the raw path; [`UNMATCHED_ROUTE`] when no route
/// matched), the method, the status and the time to the response head. A response with an
/// [`ErrorKind`] extension (every [`ApiError`](crate::ApiError)) is counted with
/// `record_error(kind)`; a 5xx without one as [`SERVER_ERROR_KIND`]. The recorder's route
/// cap bounds the series: routes beyond it fold into one overflow series, counted.
///
/// A response marked [`OwnTrafficMark`] (every answer of perfkit's own router: its API,
/// dashboard, assets, scrapes and live stream) is perfkit's, not the host's: it is
/// recorded with [`Recorder::record_own_request`], apart from every figure of the host's
/// (or not at all, as the recorder's `own_traffic` says). A `101` (a WebSocket upgrade)
/// is an upgrade, never a "1xx" request.
///
/// Add it with `Router::layer` on the outermost router, so it sees the matched route
/// (`MatchedPath` is set by the router before the layer runs) and every route, including
/// the fallback.
///
/// With [`with_tracing`](Self::with_tracing) it also traces requests (see
/// [`RequestTracing`]); without it, it creates no span and reads no trace header.
///
/// ```
/// use std::sync::Arc;
/// use axum::{Router, routing::get};
/// use perfkit_metrics::Recorder;
/// use perfkit_axum::RequestMetricsLayer;
/// use tower::ServiceExt;
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let recorder = Arc::new(Recorder::default());
/// let app = Router::new()
///     .route("/items/{id}", get(|| async { "item" }))
///     .layer(RequestMetricsLayer::new(Arc::clone(&recorder)));
///
/// let request = axum::http::Request::get("/items/42").body(axum::body::Body::empty()).unwrap();
/// let response = app.oneshot(request).await.unwrap();
/// assert_eq!(response.status(), 200);
///
/// let metrics = recorder.snapshot();
/// assert_eq!(metrics.routes.slowest[0].route, "/items/{id}");
/// # });
/// ```
#[derive(Debug, Clone)]
pub struct RequestMetricsLayer {
    shared: Arc<Shared>,
}

/// What every request of a layer reads: one reference count per request, tracing or not.
#[derive(Debug)]
struct Shared {
    recorder: Arc<Recorder>,
    tracing: Option<RequestTracing>,
}

impl RequestMetricsLayer {
    /// A layer recording into `recorder` (usually `service.recorder().clone()`).
    #[must_use]
    pub fn new(recorder: Arc<Recorder>) -> Self {
        RequestMetricsLayer { shared: Arc::new(Shared { recorder, tracing: None }) }
    }

    /// Traces requests too: the sampled ones get a span named `METHOD /route` with the HTTP
    /// semantic-convention attributes (see [`RequestTracing`]). The spans are ordinary
    /// `tracing` spans; with the `otel` feature and an OpenTelemetry layer installed
    /// (perfkit-otel), they continue a caller's W3C `traceparent` and reach a collector, and
    /// each sampled or kept request becomes the exemplar of its route's duration bucket
    /// ([`Recorder::record_request_traced`]). With `otel` this also installs perfkit-core's
    /// current-span source ([`perfkit_core::set_current_span_source`]), so that a facade
    /// histogram observed while a sampled span is current gets an exemplar too.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use perfkit_axum::{RequestMetricsLayer, RequestTracing};
    /// use perfkit_metrics::Recorder;
    ///
    /// let layer = RequestMetricsLayer::new(Arc::new(Recorder::default()))
    ///     .with_tracing(RequestTracing::ratio(0.05));
    /// # let _ = layer;
    /// ```
    #[must_use]
    pub fn with_tracing(mut self, tracing: RequestTracing) -> Self {
        #[cfg(feature = "otel")]
        perfkit_core::set_current_span_source(crate::trace::current_sampled_span);
        let recorder = Arc::clone(&self.shared.recorder);
        self.shared = Arc::new(Shared { recorder, tracing: Some(tracing) });
        self
    }
}

impl<S> Layer<S> for RequestMetricsLayer {
    type Service = RequestMetrics<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequestMetrics { inner, shared: Arc::clone(&self.shared) }
    }
}

/// The service [`RequestMetricsLayer`] wraps around each route.
#[derive(Debug, Clone)]
pub struct RequestMetrics<S> {
    inner: S,
    shared: Arc<Shared>,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for RequestMetrics<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = RequestMetricsFuture<S::Future>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    #[inline]
    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let start = Instant::now();
        let route = request.extensions().get::<MatchedPath>().cloned();
        let method = Method::from_name(request.method().as_str());
        let trace = match &self.shared.tracing {
            Some(tracing) => start_trace(tracing, &request, route.as_ref()),
            None => None,
        };
        RequestMetricsFuture {
            inner: self.inner.call(request),
            done: Some(Pending { shared: Arc::clone(&self.shared), route, method, start, trace }),
        }
    }
}

/// What the future needs to record once the response head is ready.
#[derive(Debug)]
struct Pending {
    shared: Arc<Shared>,
    route: Option<MatchedPath>,
    method: Method,
    start: Instant,
    trace: Option<RequestTrace>,
}

impl Pending {
    /// perfkit's own answer: counted apart from the host's figures (its span, if traced,
    /// ends as any other).
    #[inline]
    fn record_own(self, status: StatusCode) {
        let now = Instant::now();
        let elapsed = now.saturating_duration_since(self.start);
        self.shared.recorder.record_own_request(self.method, status.as_u16(), elapsed);
        if let (Some(trace), Some(tracing)) = (self.trace, &self.shared.tracing) {
            // perfkit's own answers give no exemplar: they are not the host's latency.
            let _kept = trace.finish(
                tracing,
                status.as_u16(),
                elapsed,
                now,
                self.route.as_ref(),
                self.method,
            );
        }
    }

    /// Records the request; `sampled` is its span's ids where it was sampled (read while the
    /// span was current), and a span a tail rule keeps now gives its own.
    #[inline]
    fn record(self, status: StatusCode, kind: Option<&ErrorKind>, sampled: Option<SampledSpan>) {
        let route = self.route.as_ref().map_or(UNMATCHED_ROUTE, MatchedPath::as_str);
        let now = Instant::now();
        let elapsed = now.saturating_duration_since(self.start);
        let kept = match (self.trace, &self.shared.tracing) {
            (Some(trace), Some(tracing)) => trace
                .finish(tracing, status.as_u16(), elapsed, now, self.route.as_ref(), self.method)
                .filter(|_| tracing.records_exemplars()),
            _ => None,
        };
        let recorder = &self.shared.recorder;
        match sampled.or(kept) {
            None => recorder.record_request(Some(route), self.method, status.as_u16(), elapsed),
            Some(span) => {
                recorder.record_request_traced(
                    Some(route),
                    self.method,
                    status.as_u16(),
                    elapsed,
                    span,
                );
            }
        }
        match kind {
            Some(ErrorKind(kind)) => recorder.record_error(kind),
            None if status.is_server_error() => recorder.record_error(SERVER_ERROR_KIND),
            None => {}
        }
    }
}

/// What is current while the inner service runs: the request's span, or (feature `otel`)
/// the unsampled context its children start under.
enum Entered<'a> {
    Span(#[allow(dead_code)] tracing::span::Entered<'a>),
    #[cfg(feature = "otel")]
    Context(#[allow(dead_code)] opentelemetry::ContextGuard),
}

impl Entered<'_> {
    /// The ids of the request's span, where it is sampled: read while it is current, where
    /// the OpenTelemetry layer has made its context the current one (feature `otel`).
    #[inline]
    fn sampled_span(&self) -> Option<SampledSpan> {
        match self {
            #[cfg(feature = "otel")]
            Entered::Span(_) => crate::trace::current_sampled_span(),
            #[cfg(not(feature = "otel"))]
            Entered::Span(_) => None,
            #[cfg(feature = "otel")]
            Entered::Context(_) => None,
        }
    }
}

/// Whether the request's tracing keeps exemplars.
#[inline]
fn records_exemplars(pending: Option<&Pending>) -> bool {
    pending
        .and_then(|pending| pending.shared.tracing.as_ref())
        .is_some_and(RequestTracing::records_exemplars)
}

#[inline]
fn enter(pending: Option<&Pending>) -> Option<Entered<'_>> {
    let pending = pending?;
    match pending.trace.as_ref()? {
        RequestTrace::Recording(span) => Some(Entered::Span(span.enter())),
        #[cfg(feature = "otel")]
        RequestTrace::Unsampled(unsampled) => {
            let tracing = pending.shared.tracing.as_ref()?;
            Some(Entered::Context(unsampled.context(tracing).clone().attach()))
        }
    }
}

pin_project_lite::pin_project! {
    /// The future of [`RequestMetrics`].
    #[derive(Debug)]
    pub struct RequestMetricsFuture<F> {
        #[pin]
        inner: F,
        done: Option<Pending>,
    }
}

impl<F, ResBody, E> Future for RequestMetricsFuture<F>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
{
    type Output = Result<Response<ResBody>, E>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let (result, sampled) = {
            let entered = enter(this.done.as_ref());
            let result = std::task::ready!(this.inner.poll(cx));
            // Tracing off: `entered` is `None`, and nothing more is read.
            let sampled = match &entered {
                Some(entered) if records_exemplars(this.done.as_ref()) => entered.sampled_span(),
                _ => None,
            };
            (result, sampled)
        };
        if let Some(pending) = this.done.take() {
            match &result {
                Ok(response) if response.extensions().get::<OwnTrafficMark>().is_some() => {
                    pending.record_own(response.status());
                }
                Ok(response) => {
                    let kind = response.extensions().get::<ErrorKind>();
                    pending.record(response.status(), kind, sampled);
                }
                // The inner service failed outright: what the client sees is a server error.
                Err(_) => pending.record(StatusCode::INTERNAL_SERVER_ERROR, None, sampled),
            }
        }
        Poll::Ready(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::body::Body;
    use axum::routing::get;
    use tower::ServiceExt;

    async fn send(app: &Router, method: &str, path: &str) -> StatusCode {
        let request = Request::builder().method(method).uri(path).body(Body::empty()).unwrap();
        app.clone().oneshot(request).await.unwrap().status()
    }

    #[tokio::test]
    async fn records_route_method_status_and_error_kinds() {
        let recorder = Arc::new(Recorder::default());
        let app = Router::new()
            .route("/ok", get(|| async { "ok" }))
            .route("/boom", get(|| async { crate::ApiError::Internal("db down".to_owned()) }))
            .route("/plain500", get(|| async { StatusCode::BAD_GATEWAY }))
            .layer(RequestMetricsLayer::new(Arc::clone(&recorder)));

        assert_eq!(send(&app, "GET", "/ok").await, 200);
        assert_eq!(send(&app, "GET", "/boom").await, 500);
        assert_eq!(send(&app, "GET", "/plain500").await, 502);
        assert_eq!(send(&app, "GET", "/nowhere").await, 404);
        assert_eq!(send(&app, "POST", "/ok").await, 405);

        let metrics = recorder.snapshot();
        assert_eq!(metrics.requests.total, 5);
        assert_eq!(metrics.errors.server_errors, 2);
        assert_eq!(metrics.errors.by_kind["internal_error"], 1);
        assert_eq!(metrics.errors.by_kind[SERVER_ERROR_KIND], 1);
        let routes: Vec<&str> = metrics.routes.slowest.iter().map(|r| r.route.as_str()).collect();
        for route in ["/ok", "/boom", "/plain500", UNMATCHED_ROUTE] {
            assert!(routes.contains(&route), "{route} missing from {routes:?}");
        }
        let ok = metrics.routes.slowest.iter().find(|r| r.route == "/ok").unwrap();
        assert_eq!(ok.count, 2, "the 405 is recorded under the matched route");
    }
}
