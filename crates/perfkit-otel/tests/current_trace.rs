#![allow(clippy::unwrap_used, clippy::expect_used)] // tests
//! The installed pipeline is perfkit-core's current-trace source: perfkit-metrics'
//! slow-operation line, written inside a sampled request, names the trace the collector
//! receives the request's span in; inside an unsampled request it names none. (One
//! installed pipeline per process: one test in this binary.)

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use perfkit_axum::{RequestMetricsLayer, RequestTracing};
use perfkit_core::{ManualClock, Timestamp};
use perfkit_metrics::{Recorder, SlowOperations, SlowOperationsConfig};
use perfkit_otel::TracePipeline;
use support::{Answer, Receiver, get_status, settings};
use tracing_subscriber::layer::{Context, SubscriberExt as _};

const SAMPLED: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
const UNSAMPLED: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00";

/// The `trace_id` field of every slow-operation line (`None`: the line had none).
#[derive(Clone, Default)]
struct SlowLines(Arc<Mutex<Vec<Option<String>>>>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for SlowLines {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        struct TraceField(Option<String>);
        impl tracing::field::Visit for TraceField {
            fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
                if field.name() == "trace_id" {
                    self.0 = Some(value.to_owned());
                }
            }
            fn record_debug(&mut self, _: &tracing::field::Field, _: &dyn std::fmt::Debug) {}
        }
        if event.metadata().target() == "perfkit::slow" {
            let mut field = TraceField(None);
            event.record(&mut field);
            self.0.lock().unwrap().push(field.0);
        }
    }
}

/// `/checkout`: a slow operation (the manual clock moves 2 s while it runs).
fn app(slow: Arc<SlowOperations>, clock: Arc<ManualClock>) -> Router {
    let tracing = RequestTracing::ratio(0.0);
    Router::new()
        .route(
            "/checkout",
            get(move || {
                let (slow, clock) = (Arc::clone(&slow), Arc::clone(&clock));
                async move {
                    let _timed = slow.start("checkout");
                    clock.advance(Duration::from_secs(2));
                    "paid"
                }
            }),
        )
        .layer(RequestMetricsLayer::new(Arc::new(Recorder::default())).with_tracing(tracing))
}

#[tokio::test]
async fn a_slow_operation_line_names_the_sampled_trace_it_ran_in() {
    let receiver = Receiver::start(Answer::Accept).unwrap();
    let settings = settings(&[("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.base_url())]);
    assert_eq!(perfkit_core::current_sampled_span(), None, "no source before the pipeline");
    let pipeline = TracePipeline::install(&settings).unwrap();
    let lines = SlowLines::default();
    let _subscriber = tracing::subscriber::set_default(
        tracing_subscriber::registry().with(pipeline.layer()).with(lines.clone()),
    );
    let clock = Arc::new(ManualClock::new(Timestamp::from_unix_millis(0)));
    // One line per request: no interval between them suppresses one.
    let config =
        SlowOperationsConfig { log_interval: Duration::from_millis(1), ..Default::default() };
    let slow = Arc::new(SlowOperations::new(config, clock.clone()).unwrap());
    let app = app(slow, clock);

    assert_eq!(get_status(&app, "/checkout", Some(SAMPLED)).await, 200);
    assert_eq!(get_status(&app, "/checkout", Some(UNSAMPLED)).await, 200);
    assert_eq!(get_status(&app, "/checkout", None).await, 200); // ratio 0: not sampled
    let counts = pipeline.shutdown(Duration::from_secs(2));
    assert_eq!(counts.dropped(), 0, "{counts:?}");

    let lines = lines.0.lock().unwrap().clone();
    assert_eq!(lines, [Some("4bf92f3577b34da6a3ce929d0e0e4736".to_owned()), None, None]);
    let spans = receiver.spans();
    assert!(
        spans.iter().any(|s| s.span.name == "GET /checkout"
            && s.trace_id() == "4bf92f3577b34da6a3ce929d0e0e4736"),
        "the line's trace was exported: {spans:#?}"
    );
    assert_eq!(spans.len(), 1, "only the sampled request: {spans:#?}");
}
