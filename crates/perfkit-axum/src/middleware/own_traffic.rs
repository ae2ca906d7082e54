//! The mark that tells [`RequestMetricsLayer`](crate::RequestMetricsLayer) a response is
//! perfkit's own (its API, dashboard, assets, scrapes, live stream), so a host that merges
//! perfkit's router into its app never counts perfkit's traffic as its own.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::http::Response;
use tower::{Layer, Service};

/// A response extension: this answer came from perfkit itself, not from the host's routes.
/// The request-metrics layer records it with
/// [`Recorder::record_own_request`](perfkit_metrics::Recorder::record_own_request), apart
/// from every figure of the host's. perfkit's router marks each of its answers; a host may
/// mark answers of its own operational routes the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OwnTrafficMark;

/// A [`Layer`] that puts [`OwnTrafficMark`] on every response of the services it wraps.
///
/// ```
/// use axum::{Router, body::Body, http::Request, routing::get};
/// use perfkit_axum::middleware::{MarkOwnTrafficLayer, OwnTrafficMark};
/// use tower::ServiceExt;
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let ops = Router::new().route("/ops/ping", get(|| async { "pong" })).layer(MarkOwnTrafficLayer);
/// let response = ops.oneshot(Request::get("/ops/ping").body(Body::empty()).unwrap()).await.unwrap();
/// assert!(response.extensions().get::<OwnTrafficMark>().is_some());
/// # });
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct MarkOwnTrafficLayer;

impl<S> Layer<S> for MarkOwnTrafficLayer {
    type Service = MarkOwnTraffic<S>;

    fn layer(&self, inner: S) -> Self::Service {
        MarkOwnTraffic { inner }
    }
}

/// The service of [`MarkOwnTrafficLayer`].
#[derive(Debug, Clone)]
pub struct MarkOwnTraffic<S> {
    inner: S,
}

impl<S, Request, Body> Service<Request> for MarkOwnTraffic<S>
where
    S: Service<Request, Response = Response<Body>>,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = MarkOwnTrafficFuture<S::Future>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    #[inline]
    fn call(&mut self, request: Request) -> Self::Future {
        MarkOwnTrafficFuture { inner: self.inner.call(request) }
    }
}

pin_project_lite::pin_project! {
    /// The future of [`MarkOwnTraffic`]: the inner one, with the mark put on its response.
    #[derive(Debug)]
    pub struct MarkOwnTrafficFuture<F> {
        #[pin]
        inner: F,
    }
}

impl<F, Body, E> Future for MarkOwnTrafficFuture<F>
where
    F: Future<Output = Result<Response<Body>, E>>,
{
    type Output = Result<Response<Body>, E>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut response = std::task::ready!(self.project().inner.poll(cx))?;
        response.extensions_mut().insert(OwnTrafficMark);
        Poll::Ready(Ok(response))
    }
}
