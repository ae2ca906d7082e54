//! Traces from the real server: the demo's request → cache read → statement reach an OTLP
//! receiver (decoded with the official protobuf types) in the caller's trace, named and
//! attributed by the conventions, under `OTEL_SERVICE_NAME`, flushed at SIGTERM; a JSON log
//! line written inside a sampled request names its trace and span; and with
//! the collector down, every request is still answered, the drops are counted in the
//! exposition and `/health` reads degraded.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::{Duration, Instant};

use perfkit_testing::{OtlpAnswer, OtlpReceiver, SpanAttribute};
use serde_json::Value;
use support::Server;

const CALLER_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN: &str = "00f067aa0ba902b7";

#[tokio::test]
async fn a_demo_request_is_a_trace_of_request_cache_read_and_statement() {
    let receiver = OtlpReceiver::start(OtlpAnswer::Accept).unwrap();
    let base = receiver.base_url();
    let server = Server::start(
        &["--demo"],
        &[("OTEL_EXPORTER_OTLP_ENDPOINT", base.as_str()), ("OTEL_SERVICE_NAME", "blog-e2e")],
    );
    let client = reqwest::Client::new();
    server.wait_for_health(&client).await;
    let answer = client
        .get(server.url("/api/users/3/posts"))
        .header("traceparent", format!("00-{CALLER_TRACE}-{CALLER_SPAN}-01"))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let exposition = server.exposition(&client).await;
    assert!(exposition.contains("perfkit_trace_spans_exported_total"), "{exposition}");
    let (status, logs) = server.terminate();
    assert!(status.success(), "{status}");
    assert!(
        logs.iter().any(|line| line["message"] == "traces flushed"),
        "the shutdown flushed the queue: {logs:?}"
    );

    let spans = receiver.spans();
    let request = spans
        .iter()
        .find(|s| s.span.name == "GET /api/users/{id}/posts")
        .unwrap_or_else(|| panic!("no request span in {:#?}", outline(&spans)));
    assert_eq!(
        (request.trace_id(), request.parent_span_id()),
        (CALLER_TRACE.into(), CALLER_SPAN.into())
    );
    assert_eq!(request.attribute("http.route"), SpanAttribute::text("/api/users/{id}/posts"));
    assert_eq!(request.attribute("http.response.status_code"), Some(SpanAttribute::Int(200)));
    assert_eq!(request.resource_attribute("service.name"), SpanAttribute::text("blog-e2e"));
    let read = spans
        .iter()
        .find(|s| s.span.name == "cache.read" && s.parent_span_id() == request.span_id())
        .unwrap_or_else(|| panic!("no cache read under the request in {:#?}", outline(&spans)));
    assert_eq!(read.attribute("cache.lookup"), SpanAttribute::text("computed"));
    let statement = spans
        .iter()
        .find(|s| s.parent_span_id() == read.span_id() && s.attribute("db.query.text").is_some())
        .unwrap_or_else(|| panic!("no statement under the cache read in {:#?}", outline(&spans)));
    assert_eq!(statement.trace_id(), CALLER_TRACE);
    let text = statement.attribute("db.query.text");
    assert!(
        matches!(&text, Some(SpanAttribute::Text(sql)) if sql.contains('?') || sql.contains('$')),
        "the normalized statement: {text:?}"
    );
    assert!(statement.attribute("perfkit.statement.id").is_some());
    // The service's own runs are traces too.
    assert!(spans.iter().any(|s| s.span.name == "perfkit.collect"), "{spans:#?}");
}

#[tokio::test]
async fn a_line_logged_inside_a_sampled_request_names_its_trace_and_span() {
    const TOKEN: &str = "traces-test-token";
    let receiver = OtlpReceiver::start(OtlpAnswer::Accept).unwrap();
    let base = receiver.base_url();
    let server = Server::start(
        &[],
        &[("OTEL_EXPORTER_OTLP_ENDPOINT", base.as_str()), ("PERFKIT_ADMIN_TOKEN", TOKEN)],
    );
    let client = reqwest::Client::new();
    server.wait_for_health(&client).await;
    // Admin actions: each handler writes an audit line. The first caller sampled its trace,
    // the second did not (parent-based sampling follows it).
    for (path, flags) in [("/api/performance/alerts", "01"), ("/api/performance/metrics", "00")] {
        let answer = client
            .delete(server.url(path))
            .bearer_auth(TOKEN)
            .header("traceparent", format!("00-{CALLER_TRACE}-{CALLER_SPAN}-{flags}"))
            .send()
            .await
            .unwrap();
        assert!(answer.status().is_success(), "{path}: {}", answer.status());
    }
    let (status, logs) = server.terminate();
    assert!(status.success(), "{status}");
    let audit = |action: &str| {
        logs.iter()
            .find(|line| line["message"] == "admin action" && line["action"] == action)
            .unwrap_or_else(|| panic!("no audit line for {action} in {logs:#?}"))
            .clone()
    };
    let sampled = audit("DELETE /api/performance/alerts");
    assert_eq!(sampled["trace_id"], CALLER_TRACE, "{sampled}");
    let unsampled = audit("DELETE /api/performance/metrics");
    assert!(
        unsampled.get("trace_id").is_none() && unsampled.get("span_id").is_none(),
        "{unsampled}"
    );

    let spans = receiver.spans();
    let request = spans
        .iter()
        .find(|s| s.span.name == "DELETE /api/performance/alerts")
        .unwrap_or_else(|| panic!("no request span in {:#?}", outline(&spans)));
    assert_eq!(request.trace_id(), CALLER_TRACE);
    assert_eq!(sampled["span_id"], request.span_id(), "the line names the request's span");
    assert!(
        !spans.iter().any(|s| s.span.name == "DELETE /api/performance/metrics"),
        "the unsampled request was not exported: {:#?}",
        outline(&spans)
    );
}

/// Each span's name, id, parent and trace, for a failure's message.
fn outline(spans: &[perfkit_testing::ReceivedSpan]) -> Vec<String> {
    spans
        .iter()
        .map(|s| {
            format!("{} {} <- {} in {}", s.span.name, s.span_id(), s.parent_span_id(), s.trace_id())
        })
        .collect()
}

/// The exposition's `perfkit_trace_spans_dropped_total`, every reason added.
async fn dropped(client: &reqwest::Client, server: &Server) -> f64 {
    let text = server.exposition(client).await;
    text.lines()
        .filter(|line| line.starts_with("perfkit_trace_spans_dropped_total"))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[tokio::test]
async fn with_the_collector_down_requests_are_answered_drops_counted_and_health_degraded() {
    let config = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        config.path(),
        "[service]\nhealthCheckInterval = \"1s\"\n[tracing]\nexportTimeout = \"200ms\"\nexportInterval = \"50ms\"\n",
    )
    .unwrap();
    let down = OtlpReceiver::down_endpoint().unwrap();
    let path = config.path().to_str().unwrap().to_owned();
    let server = Server::start(
        &["--demo", "--config", &path],
        &[("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", down.as_str())],
    );
    let client = reqwest::Client::new();
    server.wait_for_health(&client).await;
    for id in 0..200 {
        let answer = client
            .get(server.url(&format!("/api/users/{}/posts", 1 + id % 20)))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 200);
    }
    let started = Instant::now();
    let mut degraded = Value::Null;
    while started.elapsed() < support::PATIENCE {
        let health: Value = client
            .get(server.url("/api/performance/health"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if health["checks"]["traceExport"]["status"] == "degraded"
            && dropped(&client, &server).await > 0.0
        {
            degraded = health;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(degraded["status"], "degraded", "{degraded}");
    let detail = degraded["checks"]["traceExport"]["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("spans dropped since the last check"), "{detail}");
    let stopping = Instant::now();
    let (status, _) = server.terminate();
    assert!(status.success(), "{status}");
    assert!(stopping.elapsed() < Duration::from_secs(10), "shutdown took {:?}", stopping.elapsed());
}
