#![allow(clippy::unwrap_used, clippy::expect_used)] // tests
//! What reaches an OTLP/HTTP receiver, decoded with the official protobuf types: the
//! request → cache read tree, the HTTP conventions, the error status of a 5xx, the resource
//! from `OTEL_SERVICE_NAME` and `OTEL_RESOURCE_ATTRIBUTES`, and a caller's trace continued.

mod support;

use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use perfkit_axum::RequestTracing;
use perfkit_otel::TracePipeline;
use support::{Answer, Attr, Receiver, app, get_status, settings, subscribe, text};

const CALLER: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

#[tokio::test]
async fn spans_reach_the_receiver_as_a_tree_with_the_conventions_and_the_resource() {
    let receiver = Receiver::start(Answer::Accept).unwrap();
    let settings = settings(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.base_url()),
        ("OTEL_SERVICE_NAME", "checkout".to_owned()),
        (
            "OTEL_RESOURCE_ATTRIBUTES",
            "deployment.environment.name=test,service.version=1.2".to_owned(),
        ),
    ]);
    let pipeline = TracePipeline::build(&settings).unwrap();
    let _subscriber = subscribe(&pipeline);
    let (app, _) = app(RequestTracing::always());

    assert_eq!(get_status(&app, "/posts/7", None).await, 200);
    assert_eq!(get_status(&app, "/posts/7", Some(CALLER)).await, 200);
    assert_eq!(get_status(&app, "/boom", None).await, 500);
    pipeline.flush().unwrap();

    let spans = receiver.spans();
    assert_eq!(spans.len(), 5, "two requests with a cache read each, and the 500: {spans:#?}");
    let requests: Vec<_> = spans.iter().filter(|s| s.span.name == "GET /posts/{id}").collect();
    let reads: Vec<_> = spans.iter().filter(|s| s.span.name == "cache.read").collect();
    assert_eq!((requests.len(), reads.len()), (2, 2));

    // The first request: a root, its cache read a computed miss under it.
    let (first, read) = (requests[0], reads[0]);
    assert_eq!(first.span.kind, SpanKind::Server as i32);
    assert!(first.span.parent_span_id.is_empty());
    assert_eq!(read.span.parent_span_id, first.span.span_id);
    assert_eq!(read.span.trace_id, first.span.trace_id);
    assert_eq!(read.attribute("cache.backend"), text("memory"));
    assert_eq!(read.attribute("cache.lookup"), text("computed"));
    assert_eq!(read.attribute("cache.hit"), Some(Attr::Bool(false)));
    for (key, value) in [
        ("http.request.method", text("GET")),
        ("http.route", text("/posts/{id}")),
        ("url.path", text("/posts/7")),
        ("server.address", text("shop.test")),
        ("server.port", Some(Attr::Int(8080))),
        ("http.response.status_code", Some(Attr::Int(200))),
    ] {
        assert_eq!(first.attribute(key), value, "{key}");
    }

    // The second continues the caller's trace; its read is a hit.
    let (second, hit) = (requests[1], reads[1]);
    assert_eq!(second.trace_id(), "0af7651916cd43dd8448eb211c80319c");
    assert_eq!(second.parent_span_id(), "b7ad6b7169203331");
    assert_eq!(hit.span.parent_span_id, second.span.span_id);
    assert_eq!(hit.attribute("cache.hit"), Some(Attr::Bool(true)));

    let failed = spans.iter().find(|s| s.span.name == "GET /boom").unwrap();
    assert_eq!(failed.span.status.as_ref().unwrap().code, StatusCode::Error as i32);
    assert_eq!(failed.attribute("error.type"), text("500"));
    assert_eq!(first.span.status.as_ref().map_or(0, |s| s.code), StatusCode::Unset as i32);

    for span in &spans {
        assert_eq!(span.resource_attribute("service.name"), text("checkout"));
        assert_eq!(span.resource_attribute("deployment.environment.name"), text("test"));
        assert_eq!(span.resource_attribute("service.version"), text("1.2"));
    }
    let counts = pipeline.counts();
    assert_eq!((counts.exported, counts.dropped()), (5, 0));
}

#[tokio::test]
async fn at_a_ratio_unsampled_requests_export_nothing_and_cost_no_queue_room() {
    let receiver = Receiver::start(Answer::Accept).unwrap();
    let settings = settings(&[("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", receiver.endpoint())]);
    let pipeline = TracePipeline::build(&settings).unwrap();
    let _subscriber = subscribe(&pipeline);
    let (app, recorder) = app(RequestTracing::ratio(0.0).keep_errors(false));
    for id in 0..50 {
        assert_eq!(get_status(&app, &format!("/posts/{id}"), None).await, 200);
    }
    pipeline.flush().unwrap();
    assert!(receiver.spans().is_empty());
    assert_eq!(
        pipeline.counts(),
        perfkit_otel::ExportCounts { capacity: 2048, ..Default::default() }
    );
    assert_eq!(recorder.snapshot().requests.total, 50);
}
