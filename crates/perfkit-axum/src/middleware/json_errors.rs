//! Error statuses that are not JSON (axum's 405, a 413, a bare status from any layer below)
//! and panics below come out as perfkit's JSON error; every other response passes untouched.
//!
//! Catching panics here rather than with tower-http's `CatchPanicLayer` saves two
//! allocations per request: that layer boxes every response body, and axum boxes it again.

use std::any::Any;
use std::future::Future;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use axum::http::header::{self, HeaderValue};
use axum::response::{IntoResponse, Response};
use tower::{Layer, Service};

use crate::error::{ApiError, ErrorKind};

/// Rewrites an error response that is not JSON into the JSON error of its status, keeping
/// its other headers (`Allow`, say), and answers a panic below it with the JSON 500 (the
/// payload is logged, never sent). A success, or an error that is already JSON, is not
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
        let inner = &mut self.inner;
        let (inner, panicked) = match panic::catch_unwind(AssertUnwindSafe(|| inner.call(request)))
        {
            Ok(future) => (Some(future), None),
            Err(payload) => (None, Some(panic_response(&*payload))),
        };
        JsonErrorsFuture { inner, panicked, body_limit: self.body_limit }
    }
}

pin_project_lite::pin_project! {
    /// The future of [`JsonErrors`]: the inner response, rewritten only when it is an error
    /// that is not JSON.
    #[derive(Debug)]
    pub struct JsonErrorsFuture<F> {
        // `None` when the call itself panicked; `panicked` then holds the answer.
        #[pin]
        inner: Option<F>,
        panicked: Option<Response>,
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
        let Some(inner) = this.inner.as_pin_mut() else {
            let answer = this.panicked.take().unwrap_or_else(|| {
                ApiError::Internal("the JSON-errors future was polled after it completed".into())
                    .into_response()
            });
            return Poll::Ready(Ok(answer));
        };
        let response = match panic::catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(polled) => ready!(polled)?,
            Err(payload) => return Poll::Ready(Ok(panic_response(&*payload))),
        };
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

/// What a panicking handler answers: the JSON 500, `no-store`; the payload is logged, never
/// sent.
fn panic_response(payload: &(dyn Any + Send)) -> Response {
    let detail = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a non-string panic payload".to_owned());
    let mut response = ApiError::Internal(format!("handler panicked: {detail}")).into_response();
    // Set here too: the panic skips the layer that sets it on every other answer.
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn is_json(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().starts_with(b"application/json"))
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use axum::Router;
    use axum::body::{Body, to_bytes};
    use axum::http::{Request, StatusCode};
    use axum::routing::get;
    use tower::ServiceExt;

    use super::*;

    async fn answer(app: Router, path: &str) -> (StatusCode, Option<String>, serde_json::Value) {
        let request = Request::get(path).body(Body::empty()).unwrap();
        let response = app.oneshot(request).await.unwrap();
        let status = response.status();
        let cache =
            response.headers().get(header::CACHE_CONTROL).map(|v| v.to_str().unwrap().into());
        let body = to_bytes(response.into_body(), 1 << 16).await.unwrap();
        (status, cache, serde_json::from_slice(&body).unwrap())
    }

    async fn boom() -> &'static str {
        panic!("secret detail")
    }

    #[tokio::test]
    async fn a_panic_while_answering_is_the_json_500_and_nothing_of_it_is_sent() {
        let app = Router::new().route("/boom", get(boom)).route_layer(JsonErrorsLayer::new(1024));
        let (status, cache, body) = answer(app, "/boom").await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(cache.as_deref(), Some("no-store"));
        assert_eq!(body["error"]["code"], "internal_error", "{body}");
        assert!(!body.to_string().contains("secret detail"), "{body}");
    }

    #[tokio::test]
    async fn a_panic_in_the_call_itself_is_caught_too() {
        #[derive(Clone)]
        struct PanicsOnCall;
        impl Service<Request<Body>> for PanicsOnCall {
            type Response = Response;
            type Error = Infallible;
            type Future = std::future::Ready<Result<Response, Infallible>>;
            fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
                Poll::Ready(Ok(()))
            }
            fn call(&mut self, _: Request<Body>) -> Self::Future {
                panic!("before any future exists")
            }
        }
        let service = JsonErrorsLayer::new(1024).layer(PanicsOnCall);
        let response = service.oneshot(Request::get("/").body(Body::empty()).unwrap()).await;
        let response = response.unwrap();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
    }

    #[tokio::test]
    async fn successes_and_json_errors_pass_untouched_and_bare_errors_become_json() {
        let app = Router::new()
            .route("/ok", get(|| async { "fine" }))
            .route("/bare", get(|| async { StatusCode::BAD_GATEWAY }))
            .route_layer(JsonErrorsLayer::new(1024));
        let response =
            app.clone().oneshot(Request::get("/ok").body(Body::empty()).unwrap()).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(to_bytes(response.into_body(), 64).await.unwrap(), "fine");
        let (status, _, body) = answer(app, "/bare").await;
        assert_eq!(status, StatusCode::BAD_GATEWAY);
        assert!(body["error"]["code"].is_string(), "{body}");
    }
}
