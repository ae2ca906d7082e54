//! An OTLP/HTTP receiver for tests (feature `otlp`): a small axum server on a free loopback
//! port, on a thread and runtime of its own (so it answers whatever runtime a test runs on),
//! that decodes each `POST /v1/traces` with the official protobuf types
//! (`opentelemetry-proto`). It can answer 500, or read a request and never answer.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message as _;
use tokio::sync::oneshot;

use crate::TestingError;

/// How the receiver answers an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OtlpAnswer {
    /// 200, the spans kept.
    Accept,
    /// 500, nothing kept.
    Fail,
    /// Reads the request and never answers.
    Hang,
}

#[derive(Debug)]
struct Shared {
    answer: Mutex<OtlpAnswer>,
    requests: Mutex<Vec<ExportTraceServiceRequest>>,
    posts: AtomicUsize,
}

/// A running receiver; stopped when dropped.
///
/// ```
/// use perfkit_testing::{OtlpAnswer, OtlpReceiver};
///
/// let receiver = OtlpReceiver::start(OtlpAnswer::Accept)?;
/// assert!(receiver.endpoint().ends_with("/v1/traces"));
/// assert!(receiver.spans().is_empty());
/// # Ok::<(), perfkit_testing::TestingError>(())
/// ```
#[derive(Debug)]
pub struct OtlpReceiver {
    address: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
}

impl OtlpReceiver {
    /// Starts a receiver answering as `answer` says.
    ///
    /// # Errors
    /// When no loopback port or thread can be had.
    pub fn start(answer: OtlpAnswer) -> Result<OtlpReceiver, TestingError> {
        let failed = |what: &str, error: &dyn std::fmt::Display| {
            TestingError::Start(format!("the OTLP receiver: {what}: {error}"))
        };
        let shared = Arc::new(Shared {
            answer: Mutex::new(answer),
            requests: Mutex::new(Vec::new()),
            posts: AtomicUsize::new(0),
        });
        let listener =
            std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| failed("bind", &e))?;
        listener.set_nonblocking(true).map_err(|e| failed("non-blocking", &e))?;
        let address = listener.local_addr().map_err(|e| failed("address", &e))?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| failed("runtime", &e))?;
        let (stop, stopped) = oneshot::channel::<()>();
        let state = Arc::clone(&shared);
        std::thread::Builder::new()
            .name("otlp-receiver".to_owned())
            .spawn(move || {
                runtime.block_on(async move {
                    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                        return;
                    };
                    let app = Router::new().route("/v1/traces", post(receive)).with_state(state);
                    let _ = axum::serve(listener, app)
                        .with_graceful_shutdown(async {
                            let _ = stopped.await;
                        })
                        .await;
                });
            })
            .map_err(|e| failed("thread", &e))?;
        Ok(OtlpReceiver { address, shared, stop: Some(stop) })
    }

    /// A URL nothing listens on: a collector that is down.
    ///
    /// # Errors
    /// When no loopback port can be had.
    pub fn down_endpoint() -> Result<String, TestingError> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")
            .map_err(|e| TestingError::Start(format!("a free port: {e}")))?;
        let address =
            listener.local_addr().map_err(|e| TestingError::Start(format!("a free port: {e}")))?;
        Ok(format!("http://{address}/v1/traces"))
    }

    /// `http://127.0.0.1:PORT/v1/traces`.
    #[must_use]
    pub fn endpoint(&self) -> String {
        format!("http://{}/v1/traces", self.address)
    }

    /// `http://127.0.0.1:PORT`, as `OTEL_EXPORTER_OTLP_ENDPOINT` takes it.
    #[must_use]
    pub fn base_url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Answers the next exports as `answer` says.
    pub fn answer(&self, answer: OtlpAnswer) {
        *lock(&self.shared.answer) = answer;
    }

    /// Export requests posted so far, answered or not.
    #[must_use]
    pub fn posts(&self) -> usize {
        self.shared.posts.load(Ordering::SeqCst)
    }

    /// Every request accepted, decoded.
    #[must_use]
    pub fn requests(&self) -> Vec<ExportTraceServiceRequest> {
        lock(&self.shared.requests).clone()
    }

    /// Every span accepted, with its resource's attributes, in the order received.
    #[must_use]
    pub fn spans(&self) -> Vec<ReceivedSpan> {
        let mut spans = Vec::new();
        for request in self.requests() {
            for resource_spans in request.resource_spans {
                let resource = resource_spans.resource.map(|r| r.attributes).unwrap_or_default();
                for scope in resource_spans.scope_spans {
                    for span in scope.spans {
                        spans.push(ReceivedSpan { span, resource: resource.clone() });
                    }
                }
            }
        }
        spans
    }
}

impl Drop for OtlpReceiver {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

async fn receive(State(shared): State<Arc<Shared>>, body: Bytes) -> StatusCode {
    shared.posts.fetch_add(1, Ordering::SeqCst);
    let answer = *lock(&shared.answer);
    match answer {
        OtlpAnswer::Accept => match ExportTraceServiceRequest::decode(body) {
            Ok(request) => {
                lock(&shared.requests).push(request);
                StatusCode::OK
            }
            Err(_) => StatusCode::BAD_REQUEST,
        },
        OtlpAnswer::Fail => StatusCode::INTERNAL_SERVER_ERROR,
        OtlpAnswer::Hang => std::future::pending().await,
    }
}

/// One received span and its resource's attributes.
#[derive(Debug, Clone)]
pub struct ReceivedSpan {
    /// The span as decoded.
    pub span: Span,
    /// Its resource's attributes.
    pub resource: Vec<KeyValue>,
}

impl ReceivedSpan {
    /// The span's attribute `key`.
    #[must_use]
    pub fn attribute(&self, key: &str) -> Option<SpanAttribute> {
        attribute(&self.span.attributes, key)
    }

    /// The resource's attribute `key`.
    #[must_use]
    pub fn resource_attribute(&self, key: &str) -> Option<SpanAttribute> {
        attribute(&self.resource, key)
    }

    /// The trace id in hex, as `traceparent` writes it.
    #[must_use]
    pub fn trace_id(&self) -> String {
        hex(&self.span.trace_id)
    }

    /// The span id in hex.
    #[must_use]
    pub fn span_id(&self) -> String {
        hex(&self.span.span_id)
    }

    /// The parent's span id in hex; empty for a root.
    #[must_use]
    pub fn parent_span_id(&self) -> String {
        hex(&self.span.parent_span_id)
    }
}

/// An attribute's value: text, an integer, a flag, or something else.
#[derive(Debug, Clone, PartialEq)]
pub enum SpanAttribute {
    /// A string value.
    Text(String),
    /// An integer value.
    Int(i64),
    /// A boolean value.
    Bool(bool),
    /// Any other kind.
    Other,
}

impl SpanAttribute {
    /// `Some(Text(value))`, for comparisons.
    #[must_use]
    pub fn text(value: &str) -> Option<SpanAttribute> {
        Some(SpanAttribute::Text(value.to_owned()))
    }
}

fn attribute(attributes: &[KeyValue], key: &str) -> Option<SpanAttribute> {
    let value = attributes.iter().find(|kv| kv.key == key)?.value.clone()?;
    Some(match value {
        AnyValue { value: Some(any_value::Value::StringValue(text)) } => SpanAttribute::Text(text),
        AnyValue { value: Some(any_value::Value::IntValue(number)) } => SpanAttribute::Int(number),
        AnyValue { value: Some(any_value::Value::BoolValue(flag)) } => SpanAttribute::Bool(flag),
        AnyValue { .. } => SpanAttribute::Other,
    })
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut text, byte| {
        let _ = write!(text, "{byte:02x}");
        text
    })
}
