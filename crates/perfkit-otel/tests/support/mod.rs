#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)] // shared by test binaries
//! Test support: an OTLP/HTTP receiver (a small axum server on a thread and runtime of its
//! own, so it answers whatever runtime the test runs on) that decodes what it is sent with
//! the official protobuf types, and can answer 500 or never answer; and an app behind the
//! traced request layer, with a cache read under a route.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::Span;
use perfkit_axum::{RequestMetricsLayer, RequestTracing};
use perfkit_cache::{CacheAside, MemoryCache};
use perfkit_metrics::Recorder;
use perfkit_otel::{TracePipeline, TraceSettings};
use prost::Message as _;
use tokio::sync::oneshot;

/// How the receiver answers an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// 200, the spans kept.
    Accept,
    /// 500, nothing kept.
    Fail,
    /// Reads the request and never answers.
    Hang,
}

#[derive(Debug)]
struct Shared {
    answer: Mutex<Answer>,
    requests: Mutex<Vec<ExportTraceServiceRequest>>,
    posts: AtomicUsize,
}

/// An OTLP/HTTP receiver on a free port of loopback.
#[derive(Debug)]
pub struct Receiver {
    address: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
}

impl Receiver {
    pub fn start(answer: Answer) -> Receiver {
        let shared = Arc::new(Shared {
            answer: Mutex::new(answer),
            requests: Mutex::new(Vec::new()),
            posts: AtomicUsize::new(0),
        });
        let (stop, stopped) = oneshot::channel::<()>();
        let (bound, address) = std::sync::mpsc::channel();
        let state = Arc::clone(&shared);
        std::thread::spawn(move || {
            let runtime =
                tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                bound.send(listener.local_addr().unwrap()).unwrap();
                let app = Router::new().route("/v1/traces", post(receive)).with_state(state);
                let _ = axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = stopped.await;
                    })
                    .await;
            });
        });
        Receiver { address: address.recv().unwrap(), shared, stop: Some(stop) }
    }

    /// A port nothing listens on: a collector that is down.
    pub fn down_endpoint() -> String {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        drop(listener);
        format!("http://{address}/v1/traces")
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}/v1/traces", self.address)
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.address)
    }

    pub fn answer(&self, answer: Answer) {
        *self.shared.answer.lock().unwrap() = answer;
    }

    /// Export requests posted, answered or not.
    pub fn posts(&self) -> usize {
        self.shared.posts.load(Ordering::SeqCst)
    }

    /// Every request accepted, decoded.
    pub fn requests(&self) -> Vec<ExportTraceServiceRequest> {
        self.shared.requests.lock().unwrap().clone()
    }

    /// Every span accepted, with its resource's `service.name`.
    pub fn spans(&self) -> Vec<Received> {
        let mut spans = Vec::new();
        for request in self.requests() {
            for resource_spans in request.resource_spans {
                let resource = resource_spans.resource.map(|r| r.attributes).unwrap_or_default();
                for scope in resource_spans.scope_spans {
                    for span in scope.spans {
                        spans.push(Received { span, resource: resource.clone() });
                    }
                }
            }
        }
        spans
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

async fn receive(State(shared): State<Arc<Shared>>, body: Bytes) -> StatusCode {
    shared.posts.fetch_add(1, Ordering::SeqCst);
    let answer = *shared.answer.lock().unwrap();
    match answer {
        Answer::Accept => {
            let request = ExportTraceServiceRequest::decode(body).unwrap();
            shared.requests.lock().unwrap().push(request);
            StatusCode::OK
        }
        Answer::Fail => StatusCode::INTERNAL_SERVER_ERROR,
        Answer::Hang => std::future::pending().await,
    }
}

/// One received span and its resource's attributes.
#[derive(Debug, Clone)]
pub struct Received {
    pub span: Span,
    pub resource: Vec<KeyValue>,
}

impl Received {
    pub fn attribute(&self, key: &str) -> Option<Attr> {
        attribute(&self.span.attributes, key)
    }

    pub fn resource_attribute(&self, key: &str) -> Option<Attr> {
        attribute(&self.resource, key)
    }
}

/// An attribute's value, as text or a number.
#[derive(Debug, Clone, PartialEq)]
pub enum Attr {
    Text(String),
    Int(i64),
    Bool(bool),
    Other,
}

fn attribute(attributes: &[KeyValue], key: &str) -> Option<Attr> {
    let value = attributes.iter().find(|kv| kv.key == key)?.value.clone()?;
    Some(match value {
        AnyValue { value: Some(any_value::Value::StringValue(text)) } => Attr::Text(text),
        AnyValue { value: Some(any_value::Value::IntValue(number)) } => Attr::Int(number),
        AnyValue { value: Some(any_value::Value::BoolValue(flag)) } => Attr::Bool(flag),
        AnyValue { .. } => Attr::Other,
    })
}

pub fn text(value: &str) -> Option<Attr> {
    Some(Attr::Text(value.to_owned()))
}

/// Hex of an id as OTLP carries it (bytes).
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Settings read from `env` as the process's variables would be, with a short interval.
pub fn settings(env: &[(&str, String)]) -> TraceSettings {
    let table: HashMap<String, String> =
        env.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect();
    let mut settings =
        TraceSettings::from_env(&|name| table.get(name).cloned(), "perfkit-otel-tests").unwrap();
    settings.export_interval = std::time::Duration::from_millis(20);
    settings
}

/// A thread-local subscriber with `pipeline`'s layer, for the current thread (and so a
/// `current_thread` runtime run on it).
pub fn subscribe(pipeline: &TracePipeline) -> tracing::subscriber::DefaultGuard {
    use tracing_subscriber::layer::SubscriberExt as _;
    tracing::subscriber::set_default(tracing_subscriber::registry().with(pipeline.layer()))
}

/// The same subscriber as a dispatcher, for futures spawned onto other threads.
pub fn dispatch(pipeline: &TracePipeline) -> tracing::Dispatch {
    use tracing_subscriber::layer::SubscriberExt as _;
    tracing::Dispatch::new(tracing_subscriber::registry().with(pipeline.layer()))
}

/// `/posts/{id}`: a cache-aside read over a memory cache (computed the first time, a hit
/// after); `/boom`: a 500; both behind the traced request layer.
pub fn app(tracing: RequestTracing) -> (Router, Arc<Recorder>) {
    let recorder = Arc::new(Recorder::default());
    let posts = CacheAside::new(Arc::new(MemoryCache::default()));
    let app = Router::new()
        .route(
            "/posts/{id}",
            get(move |axum::extract::Path(id): axum::extract::Path<u32>| {
                let posts = posts.clone();
                async move {
                    let key = format!("post:{id}");
                    let (value, _) = posts
                        .get_or_compute(&key, None, || async move {
                            Ok(format!("post {id}").into_bytes())
                        })
                        .await
                        .unwrap();
                    value
                }
            }),
        )
        .route("/boom", get(|| async { StatusCode::INTERNAL_SERVER_ERROR }))
        .layer(RequestMetricsLayer::new(Arc::clone(&recorder)).with_tracing(tracing));
    (app, recorder)
}

/// GET `path` through `app`, with `traceparent` when given; the status.
pub async fn get_status(app: &Router, path: &str, traceparent: Option<&str>) -> StatusCode {
    use tower::ServiceExt as _;
    let mut request = axum::http::Request::get(path).header("host", "shop.test:8080");
    if let Some(parent) = traceparent {
        request = request.header("traceparent", parent);
    }
    let request = request.body(axum::body::Body::empty()).unwrap();
    app.clone().oneshot(request).await.unwrap().status()
}
