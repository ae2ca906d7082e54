#![allow(clippy::unwrap_used, clippy::expect_used)] // tests
//! Request spans through a real OpenTelemetry SDK (feature `otel`): names, HTTP attributes
//! and status, a caller's `traceparent` continued, unsampled requests costing no span (nor
//! their children), the tail rules writing a kept span afterwards with its budget, and the
//! context sent on outgoing requests.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use axum::routing::get;
use opentelemetry::trace::{SpanKind, Status, TracerProvider as _};
use opentelemetry::{Context, Value};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SdkTracerProvider, Span, SpanData, SpanProcessor};
use perfkit_axum::{RequestMetricsLayer, RequestTracing, inject_trace_context};
use perfkit_metrics::{ExpositionFormat, FacadeRecorder, PrometheusExporter, Recorder};
use perfkit_otel::{KeepTraceSampler, SampledSpans, SamplerSetting};
use tower::ServiceExt;
use tracing_subscriber::Layer as _;
use tracing_subscriber::layer::SubscriberExt as _;

const CALLER: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7";

/// Every span that ended, sampled or not.
#[derive(Debug, Clone, Default)]
struct Collected(Arc<Mutex<Vec<SpanData>>>);

impl SpanProcessor for Collected {
    fn on_start(&self, _: &mut Span, _: &Context) {}
    fn on_end(&self, span: SpanData) {
        self.0.lock().unwrap().push(span);
    }
    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }
    fn shutdown_with_timeout(&self, _: Duration) -> OTelSdkResult {
        Ok(())
    }
}

impl Collected {
    fn spans(&self) -> Vec<SpanData> {
        self.0.lock().unwrap().clone()
    }
}

/// The global tracer provider is one per process: the tests that set it take turns.
static GLOBAL: Mutex<()> = Mutex::new(());

/// A provider collecting into a fresh list, installed globally (kept spans use the global
/// tracer) and as this thread's subscriber behind perfkit-otel's filter.
struct Installed {
    collected: Collected,
    _subscriber: tracing::subscriber::DefaultGuard,
    _turn: MutexGuard<'static, ()>,
}

fn install(sampler: SamplerSetting) -> Installed {
    let turn = GLOBAL.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let collected = Collected::default();
    let provider = SdkTracerProvider::builder()
        .with_sampler(KeepTraceSampler::new(sampler))
        .with_span_processor(collected.clone())
        .build();
    opentelemetry::global::set_tracer_provider(provider.clone());
    let layer = tracing_opentelemetry::layer()
        .with_tracer(provider.tracer("test"))
        .with_filter(SampledSpans::at(tracing::Level::INFO));
    let subscriber = tracing::subscriber::set_default(tracing_subscriber::registry().with(layer));
    Installed { collected, _subscriber: subscriber, _turn: turn }
}

/// Items with a child span; `/fail` answers 500 after one; `/headers` answers the
/// `traceparent` an outgoing request would carry.
fn app(tracing: RequestTracing) -> Router {
    app_with(tracing, Arc::new(Recorder::default()))
}

/// [`app`] recording into `recorder`, with `/observe`, which observes a facade histogram.
fn app_with(tracing: RequestTracing, recorder: Arc<Recorder>) -> Router {
    let facade = Arc::clone(&recorder);
    Router::new()
        .route(
            "/observe",
            get(move || async move {
                let facade = FacadeRecorder::new(facade);
                metrics::with_local_recorder(&facade, || metrics::histogram!("work").record(2.0));
                "observed"
            }),
        )
        .route(
            "/items/{id}",
            get(|| async {
                tracing::info_span!("cache.read").in_scope(|| ());
                "item"
            }),
        )
        .route(
            "/fail",
            get(|| async {
                tracing::info_span!("cache.read").in_scope(|| ());
                StatusCode::INTERNAL_SERVER_ERROR
            }),
        )
        .route(
            "/outgoing",
            get(|| async {
                let mut headers = HeaderMap::new();
                inject_trace_context(&mut headers);
                headers
                    .get("traceparent")
                    .map(|v| v.to_str().unwrap().to_owned())
                    .unwrap_or_default()
            }),
        )
        .layer(RequestMetricsLayer::new(recorder).with_tracing(tracing))
}

async fn send(app: &Router, path: &str, traceparent: Option<String>) -> (StatusCode, String) {
    let mut request =
        Request::get(path).header("host", "example.com:8080").header("user-agent", "curl/8.5");
    if let Some(parent) = traceparent {
        request = request.header("traceparent", parent).header("tracestate", "vendor=kept");
    }
    let response = app.clone().oneshot(request.body(Body::empty()).unwrap()).await.unwrap();
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), 1024).await.unwrap();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

fn attribute<'a>(span: &'a SpanData, key: &str) -> Option<&'a Value> {
    span.attributes.iter().find(|kv| kv.key.as_str() == key).map(|kv| &kv.value)
}

fn named<'a>(spans: &'a [SpanData], name: &str) -> Vec<&'a SpanData> {
    spans.iter().filter(|span| span.name == name).collect()
}

#[tokio::test]
async fn a_sampled_request_is_a_server_span_with_the_http_conventions_and_its_children() {
    let installed = install(SamplerSetting::AlwaysOff);
    let app = app(RequestTracing::always());
    assert_eq!(send(&app, "/items/42", None).await.0, 200);

    let spans = installed.collected.spans();
    let request = named(&spans, "GET /items/{id}")[0];
    assert_eq!(request.span_kind, SpanKind::Server);
    assert!(request.span_context.is_sampled(), "the layer's decision wins over always_off");
    assert_eq!(request.status, Status::Unset);
    for (key, value) in [
        ("http.request.method", Value::from("GET")),
        ("http.route", Value::from("/items/{id}")),
        ("url.path", Value::from("/items/42")),
        ("server.address", Value::from("example.com")),
        ("server.port", Value::I64(8080)),
        ("user_agent.original", Value::from("curl/8.5")),
        ("http.response.status_code", Value::I64(200)),
    ] {
        assert_eq!(attribute(request, key), Some(&value), "{key}");
    }
    let child = named(&spans, "cache.read")[0];
    assert_eq!(child.parent_span_id, request.span_context.span_id());
    assert_eq!(child.span_context.trace_id(), request.span_context.trace_id());
}

#[tokio::test]
async fn a_server_error_sets_the_error_status_and_type() {
    let installed = install(SamplerSetting::ParentBasedAlwaysOn);
    let app = app(RequestTracing::always());
    assert_eq!(send(&app, "/fail", None).await.0, 500);
    assert_eq!(send(&app, "/nowhere", None).await.0, 404);

    let spans = installed.collected.spans();
    let failed = named(&spans, "GET /fail")[0];
    assert_eq!(failed.status, Status::error(""));
    assert_eq!(attribute(failed, "error.type"), Some(&Value::from("500")));
    // No route matched: the method alone names it, and no route attribute is made up.
    let unmatched = named(&spans, "GET")[0];
    assert_eq!(attribute(unmatched, "http.route"), None);
    assert_eq!(unmatched.status, Status::Unset);
}

#[tokio::test]
async fn a_callers_traceparent_is_continued_with_its_tracestate() {
    let installed = install(SamplerSetting::ParentBasedAlwaysOn);
    let app = app(RequestTracing::ratio(0.0));
    assert_eq!(send(&app, "/items/1", Some(format!("{CALLER}-01"))).await.0, 200);

    let spans = installed.collected.spans();
    let request = named(&spans, "GET /items/{id}")[0];
    assert_eq!(request.span_context.trace_id().to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_eq!(request.parent_span_id.to_string(), "00f067aa0ba902b7");
    assert!(request.parent_span_is_remote);
    assert_eq!(request.span_context.trace_state().get("vendor"), Some("kept"));
}

#[tokio::test]
async fn an_unsampled_request_has_no_span_and_neither_have_its_children() {
    let installed = install(SamplerSetting::ParentBasedAlwaysOn);
    let app = app(RequestTracing::ratio(0.0).keep_errors(false));
    for _ in 0..10 {
        assert_eq!(send(&app, "/items/1", None).await.0, 200);
    }
    assert_eq!(send(&app, "/items/1", Some(format!("{CALLER}-00"))).await.0, 200);
    assert_eq!(send(&app, "/fail", None).await.0, 500);
    // Filtered before tracing-opentelemetry builds them: not even a dropped span ends.
    assert!(installed.collected.spans().is_empty(), "{:?}", installed.collected.spans());
}

#[tokio::test]
async fn an_unsampled_request_that_fails_is_written_afterwards_alone_in_its_callers_trace() {
    let installed = install(SamplerSetting::ParentBasedAlwaysOn);
    let app = app(RequestTracing::ratio(0.0));
    let before = std::time::SystemTime::now();
    assert_eq!(send(&app, "/fail", Some(format!("{CALLER}-00"))).await.0, 500);
    assert_eq!(send(&app, "/items/1", None).await.0, 200);

    let spans = installed.collected.spans();
    assert_eq!(spans.len(), 1, "only the failed request, without its children: {spans:?}");
    let kept = &spans[0];
    assert_eq!(kept.name, "GET /fail");
    assert!(kept.span_context.is_sampled());
    assert_eq!(kept.span_context.trace_id().to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_eq!(kept.parent_span_id.to_string(), "00f067aa0ba902b7");
    assert_eq!(kept.status, Status::error(""));
    assert_eq!(attribute(kept, "perfkit.trace.kept"), Some(&Value::from("error")));
    assert_eq!(attribute(kept, "http.route"), Some(&Value::from("/fail")));
    assert!(kept.start_time >= before && kept.start_time <= kept.end_time);
}

#[tokio::test]
async fn slow_requests_are_kept_within_the_budget_of_a_second() {
    let installed = install(SamplerSetting::ParentBasedAlwaysOn);
    // Every request is slower than zero; two a second may be kept.
    let tracing =
        RequestTracing::ratio(0.0).keep_slower_than(Duration::ZERO).max_kept_per_second(2);
    let app = app(tracing);
    for _ in 0..5 {
        assert_eq!(send(&app, "/items/7", None).await.0, 200);
    }
    let spans = installed.collected.spans();
    assert_eq!(spans.len(), 2, "{spans:?}");
    assert!(spans.iter().all(|s| attribute(s, "perfkit.trace.kept") == Some(&Value::from("slow"))));
    // A root with no caller: its own trace.
    assert_ne!(spans[0].span_context.trace_id(), spans[1].span_context.trace_id());
}

#[tokio::test]
async fn outgoing_requests_carry_the_request_span_or_the_unsampled_parent() {
    let installed = install(SamplerSetting::ParentBasedAlwaysOn);
    let sampled = app(RequestTracing::always());
    let (_, header) = send(&sampled, "/outgoing", None).await;
    let request = named(&installed.collected.spans(), "GET /outgoing")[0].clone();
    let context = &request.span_context;
    assert_eq!(header, format!("00-{}-{}-01", context.trace_id(), context.span_id()));

    let unsampled = app(RequestTracing::ratio(0.0));
    let (_, header) = send(&unsampled, "/outgoing", Some(format!("{CALLER}-00"))).await;
    assert_eq!(header, format!("{CALLER}-00"), "the caller's context, not sampled, passed on");
    let (_, header) = send(&unsampled, "/outgoing", None).await;
    assert!(header.ends_with("-00") && header.len() == 55, "{header}");
}

#[tokio::test]
async fn with_no_subscriber_the_layer_records_and_answers_as_before() {
    let recorder = Arc::new(Recorder::default());
    let app = Router::new().route("/items/{id}", get(|| async { "item" })).layer(
        RequestMetricsLayer::new(Arc::clone(&recorder)).with_tracing(RequestTracing::always()),
    );
    assert_eq!(send(&app, "/items/1", Some(format!("{CALLER}-01"))).await.0, 200);
    assert_eq!(recorder.snapshot().requests.total, 1);
}

#[tokio::test]
async fn sampled_and_kept_requests_leave_their_span_as_their_bucket_s_exemplar() {
    let installed = install(SamplerSetting::ParentBasedAlwaysOn);
    let recorder = Arc::new(Recorder::default());
    let sampled = app_with(RequestTracing::always(), Arc::clone(&recorder));
    assert_eq!(send(&sampled, "/items/1", None).await.0, 200);
    assert_eq!(send(&sampled, "/observe", None).await.0, 200);
    let unsampled = app_with(RequestTracing::ratio(0.0), Arc::clone(&recorder));
    assert_eq!(send(&unsampled, "/fail", None).await.0, 500);
    assert_eq!(send(&unsampled, "/outgoing", None).await.0, 200);

    let spans = installed.collected.spans();
    let item = named(&spans, "GET /items/{id}")[0].span_context.clone();
    let observe = named(&spans, "GET /observe")[0].span_context.clone();
    let failed = named(&spans, "GET /fail")[0].span_context.clone();
    let routes = recorder.snapshot().routes.slowest;
    let trace_of = |route: &str| {
        let summary = routes.iter().find(|r| r.route == route).unwrap();
        summary.slow_trace_id.map(|id| id.to_string())
    };
    assert_eq!(trace_of("/items/{id}"), Some(item.trace_id().to_string()));
    assert_eq!(trace_of("/fail"), Some(failed.trace_id().to_string()), "kept afterwards");
    assert_eq!(trace_of("/outgoing"), None, "neither sampled nor kept");

    let text = PrometheusExporter::new(Arc::clone(&recorder), None)
        .unwrap()
        .render_as(ExpositionFormat::OpenMetrics)
        .unwrap();
    let exemplar = format!("# {{trace_id=\"{}\",span_id=\"{}\"}}", item.trace_id(), item.span_id());
    let line =
        text.lines().find(|line| line.contains(&exemplar)).unwrap_or_else(|| panic!("{text}"));
    assert!(
        line.starts_with("http_request_duration_seconds_bucket{route=\"/items/{id}\""),
        "{line}"
    );
    // The facade histogram observed in the handler, under the request's span.
    let work = text
        .lines()
        .find(|line| line.starts_with("work_bucket") && line.contains(" # {"))
        .unwrap_or_else(|| panic!("no exemplar on work's buckets: {text}"));
    assert!(work.contains(&format!("trace_id=\"{}\"", observe.trace_id())), "{work}");
    assert!(work.contains(&format!("span_id=\"{}\"", observe.span_id())), "{work}");
}
