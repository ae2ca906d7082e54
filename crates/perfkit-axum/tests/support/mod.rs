//! A service and its router, and a one-call way to send a request through it.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use perfkit::PerformanceService;
use perfkit_axum::{ApiConfig, router};
use tower::ServiceExt;

pub(crate) const TOKEN: &str = "test-admin-token-0123456789";
pub(crate) const BASE: &str = "/api/performance";

/// A service with the in-memory cache and one collected snapshot, and its router.
pub(crate) async fn app_with(config: ApiConfig) -> (PerformanceService, Router) {
    let service = PerformanceService::builder().build().unwrap();
    service.collect_now().await;
    let app = router(service.clone(), config).unwrap();
    (service, app)
}

pub(crate) async fn app() -> (PerformanceService, Router) {
    app_with(config()).await
}

/// The defaults, with [`TOKEN`].
pub(crate) fn config() -> ApiConfig {
    ApiConfig { admin_token: TOKEN.to_owned(), ..ApiConfig::default() }
}

/// A request to send.
#[derive(Debug, Clone)]
pub(crate) struct Call {
    pub(crate) method: Method,
    pub(crate) path: String,
    pub(crate) token: Option<String>,
    pub(crate) content_type: Option<String>,
    pub(crate) body: Vec<u8>,
    pub(crate) headers: Vec<(String, String)>,
}

impl Call {
    pub(crate) fn new(method: Method, path: &str) -> Self {
        Call {
            method,
            path: path.to_owned(),
            token: None,
            content_type: None,
            body: Vec::new(),
            headers: Vec::new(),
        }
    }
    pub(crate) fn get(path: &str) -> Self {
        Call::new(Method::GET, path)
    }
    pub(crate) fn admin(mut self) -> Self {
        self.token = Some(TOKEN.to_owned());
        self
    }
    pub(crate) fn token(mut self, token: &str) -> Self {
        self.token = Some(token.to_owned());
        self
    }
    pub(crate) fn json(mut self, body: &str) -> Self {
        self.content_type = Some("application/json".to_owned());
        self.body = body.as_bytes().to_vec();
        self
    }
    pub(crate) fn raw(mut self, content_type: Option<&str>, body: Vec<u8>) -> Self {
        self.content_type = content_type.map(str::to_owned);
        self.body = body;
        self
    }
    pub(crate) fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }
}

/// What came back.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Vec<u8>,
}

impl Answer {
    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|error| {
            panic!("{} is not JSON ({error}): {}", self.status, String::from_utf8_lossy(&self.body))
        })
    }
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    /// The `error.code` of a JSON error body, checking its shape.
    pub(crate) fn error_code(&self) -> String {
        let body = self.json();
        assert!(body["error"]["message"].is_string(), "no error.message in {body}");
        body["error"]["code"]
            .as_str()
            .unwrap_or_else(|| panic!("no error.code in {body}"))
            .to_owned()
    }
}

pub(crate) async fn send(app: &Router, call: Call) -> Answer {
    let mut request = Request::builder().method(call.method).uri(&call.path);
    if let Some(token) = &call.token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    if let Some(content_type) = &call.content_type {
        request = request.header(header::CONTENT_TYPE, content_type);
    }
    for (name, value) in &call.headers {
        request = request.header(name, value);
    }
    let request = request.body(Body::from(call.body)).unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap().to_vec();
    Answer { status, headers, body }
}

pub(crate) fn path(rest: &str) -> String {
    format!("{BASE}{rest}")
}
