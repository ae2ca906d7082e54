//! Error statuses that are not JSON (axum's 405, tower-http's 413, a bare status from any
//! layer below) come out as API.md's JSON error; every other response passes untouched.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use axum::http::header::{self, HeaderValue};
use axum::response::{IntoResponse, Response};
use tower::{Layer, Service};

use crate::error::{ApiError, ErrorKind};

/// Rewrites an error response that is not JSON into the JSON error of its status, keeping
/// its other headers (`Allow`, say). A success, or an error that is already JSON, is not
/// touched: the ordinary path costs one status comparison.
///
/// ```
/// use axum::{Router, body::Body, http::{Request, StatusCode}, routing::get};
/// use perfkit_axum::middleware::JsonErrorsLayer;
/// use tower::ServiceExt;
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let app = Router::new()
///     .route("/teapot", get(|| async { StatusCode::IM_A_TEAPOT }))
///     .route_layer(JsonErrorsLayer::new(1024));
/// let response = app.oneshot(Request::get("/teapot").body(Body::empty()).unwrap()).await.unwrap();
/// assert_eq!(response.status(), 418);
/// assert_eq!(response.headers()["content-type"], "application/json");
/// # });
/// ```
#[derive(Debug, Clone, Copy)]
pub struct JsonErrorsLayer {
    body_limit: usize,
}

impl JsonErrorsLayer {
    /// Rewrites error statuses; a 413 names `body_limit` as the limit.
    #[must_use]
    pub fn new(body_limit: usize) -> Self {
        JsonErrorsLayer { body_limit }
    }
}

impl<S> Layer<S> for JsonErrorsLayer {
    type Service = JsonErrors<S>;

    fn layer(&self, inner: S) -> Self::Service {
        JsonErrors { inner, body_limit: self.body_limit }
    }
}

/// The service [`JsonErrorsLayer`] makes.
#[derive(Debug, Clone)]
pub struct JsonErrors<S> {
    inner: S,
    body_limit: usize,
}

impl<S, Request> Service<Request> for JsonErrors<S>
where
    S: Service<Request, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = JsonErrorsFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        JsonErrorsFuture { inner: self.inner.call(request), body_limit: self.body_limit }
    }
}

pin_project_lite::pin_project! {
    /// The future of [`JsonErrors`]: the inner response, rewritten only when it is an error
    /// that is not JSON.
    #[derive(Debug)]
    pub struct JsonErrorsFuture<F> {
        #[pin]
        inner: F,
        body_limit: usize,
    }
}

impl<F, E> Future for JsonErrorsFuture<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let response = ready!(this.inner.poll(cx))?;
        let status = response.status();
        if !(status.is_client_error() || status.is_server_error()) || is_json(&response) {
            return Poll::Ready(Ok(response));
        }
        Poll::Ready(Ok(rewrite(response, *this.body_limit)))
    }
}

/// The JSON error of `response`'s status, with the headers it had besides its content.
fn rewrite(response: Response, body_limit: usize) -> Response {
    let status = response.status();
    let (mut parts, _) = response.into_parts();
    let replacement = ApiError::from_status(status, body_limit).into_response();
    let kind = replacement.extensions().get::<ErrorKind>().copied();
    let (replacement_parts, body) = replacement.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    for (name, value) in &replacement_parts.headers {
        parts.headers.insert(name.clone(), value.clone());
    }
    if let Some(kind) = kind {
        parts.extensions.insert(kind);
    }
    Response::from_parts(parts, body)
}

fn is_json(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().starts_with(b"application/json"))
}
