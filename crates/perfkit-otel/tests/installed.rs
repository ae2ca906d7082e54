#![allow(clippy::unwrap_used, clippy::expect_used)] // tests
//! The pipeline installed as the process's tracer provider (one per process: one test in
//! this binary): spans the layer keeps afterwards, written through the global tracer, reach
//! the receiver, and a shutdown sends what is still queued.

mod support;

use std::time::Duration;

use perfkit_axum::RequestTracing;
use perfkit_otel::TracePipeline;
use support::{Answer, Receiver, app, get_status, settings, subscribe, text};

#[tokio::test]
async fn kept_requests_reach_the_collector_and_shutdown_sends_the_queue() {
    let receiver = Receiver::start(Answer::Accept).unwrap();
    let mut settings = settings(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.base_url()),
        ("OTEL_SERVICE_NAME", "kept".to_owned()),
        ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio".to_owned()),
        ("OTEL_TRACES_SAMPLER_ARG", "0".to_owned()),
    ]);
    // Nothing leaves before the shutdown: it must send the queue itself.
    settings.export_interval = Duration::from_secs(60);
    let pipeline = TracePipeline::install(&settings).unwrap();
    let _subscriber = subscribe(&pipeline);
    let sampler = pipeline.settings().sampler;
    let tracing = RequestTracing::ratio(sampler.ratio()).parent_based(sampler.is_parent_based());
    let (app, _) = app(tracing);

    for id in 0..20 {
        assert_eq!(get_status(&app, &format!("/posts/{id}"), None).await, 200);
    }
    let caller = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00";
    assert_eq!(get_status(&app, "/boom", Some(caller)).await, 500);
    assert!(receiver.spans().is_empty());

    let counts = pipeline.shutdown(Duration::from_secs(2));
    assert_eq!((counts.exported, counts.dropped()), (1, 0), "{counts:?}");
    let spans = receiver.spans();
    assert_eq!(spans.len(), 1, "only the failed request: {spans:#?}");
    let kept = &spans[0];
    assert_eq!(kept.span.name, "GET /boom");
    assert_eq!(kept.trace_id(), "0af7651916cd43dd8448eb211c80319c");
    assert_eq!(kept.parent_span_id(), "b7ad6b7169203331");
    assert_eq!(kept.attribute("perfkit.trace.kept"), text("error"));
    assert_eq!(kept.resource_attribute("service.name"), text("kept"));
    // A second shutdown does nothing and says so.
    assert_eq!(pipeline.shutdown(Duration::from_millis(10)), counts);
}
