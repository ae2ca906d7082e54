//! The request timeout, answered as perfkit's JSON 408, with a timer only for requests that
//! wait.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::response::{IntoResponse, Response};
use tokio::time::Sleep;
use tower::{Layer, Service};

use crate::error::ApiError;

/// Answers `408` with the JSON error when the inner service takes longer than the timeout.
///
/// tower-http's `TimeoutLayer` starts a timer for every request and polls it before the
/// inner future, so every request registers with tokio's timer wheel (a lock shared by the
/// requests of a worker) and deregisters again. Here the inner future is polled first, and
/// the timer starts only when it is not ready at once: an answer computed in one poll
/// costs no timer at all. The deadline then counts from that first poll, which is when the
/// request started to wait.
///
/// ```
/// use std::time::Duration;
/// use axum::{Router, body::Body, http::Request, routing::get};
/// use perfkit_axum::middleware::RequestTimeoutLayer;
/// use tower::ServiceExt;
///
/// # tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap().block_on(async {
/// let app = Router::new()
///     .route("/slow", get(|| tokio::time::sleep(Duration::from_secs(60))))
///     .route_layer(RequestTimeoutLayer::new(Duration::from_secs(1)));
/// let response = app.oneshot(Request::get("/slow").body(Body::empty()).unwrap()).await.unwrap();
/// assert_eq!(response.status(), 408);
/// # });
/// ```
#[derive(Debug, Clone, Copy)]
pub struct RequestTimeoutLayer {
    timeout: Duration,
}

impl RequestTimeoutLayer {
    /// Requests that take longer than `timeout` are answered with 408.
    #[must_use]
    pub fn new(timeout: Duration) -> Self {
        RequestTimeoutLayer { timeout }
    }
}

impl<S> Layer<S> for RequestTimeoutLayer {
    type Service = RequestTimeout<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequestTimeout { inner, timeout: self.timeout }
    }
}

/// The service [`RequestTimeoutLayer`] makes.
#[derive(Debug, Clone)]
pub struct RequestTimeout<S> {
    inner: S,
    timeout: Duration,
}

impl<S, Request> Service<Request> for RequestTimeout<S>
where
    S: Service<Request, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = RequestTimeoutFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        RequestTimeoutFuture { inner: self.inner.call(request), timeout: self.timeout, sleep: None }
    }
}

pin_project_lite::pin_project! {
    /// The future of [`RequestTimeout`]: the inner response, or a JSON 408 once the
    /// deadline passes.
    #[derive(Debug)]
    pub struct RequestTimeoutFuture<F> {
        #[pin]
        inner: F,
        timeout: Duration,
        // Started on the first poll that finds the inner future waiting.
        #[pin]
        sleep: Option<Sleep>,
    }
}

impl<F, E> Future for RequestTimeoutFuture<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        if let Poll::Ready(result) = this.inner.poll(cx) {
            return Poll::Ready(result);
        }
        if this.sleep.is_none() {
            this.sleep.set(Some(tokio::time::sleep(*this.timeout)));
        }
        match this.sleep.as_pin_mut().map(|sleep| sleep.poll(cx)) {
            Some(Poll::Ready(())) => Poll::Ready(Ok(ApiError::Timeout.into_response())),
            _ => Poll::Pending,
        }
    }
}
