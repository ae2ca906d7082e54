#![allow(clippy::unwrap_used, clippy::expect_used)] // tests
//! A collector that is down, hangs (accepts and never answers) or answers 500 changes no
//! answer: every request is still a 200, served without waiting on exports, and every span
//! is accounted for as exported or dropped. On a `current_thread` runtime and on a
//! multi-thread runtime with one worker, where the SDK's own processors have hung for others.

mod support;

use std::time::{Duration, Instant};

use perfkit_axum::RequestTracing;
use perfkit_otel::{ExportCounts, TracePipeline};
use support::{Answer, Receiver, app, dispatch, get_status, settings};
use tracing::instrument::WithSubscriber as _;

const REQUESTS: usize = 400;
/// A request span and its cache read, every request sampled.
const SPANS: u64 = 2 * REQUESTS as u64;

#[derive(Debug, Clone, Copy)]
enum Flavor {
    CurrentThread,
    OneWorker,
}

struct Outcome {
    answered_200: usize,
    counts: ExportCounts,
    serving: Duration,
    shutdown: Duration,
}

/// `REQUESTS` requests as concurrent tasks on a runtime of `flavor`, spans to `endpoint`
/// through a small queue with short export timeouts; then a shutdown with half a second.
fn serve(flavor: Flavor, endpoint: String, queue_capacity: usize) -> Outcome {
    let mut settings = settings(&[("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", endpoint)]);
    settings.queue_capacity = queue_capacity;
    settings.max_batch = 8.min(queue_capacity);
    settings.export_timeout = Duration::from_millis(200);
    let pipeline = TracePipeline::build(&settings).unwrap();
    let dispatch = dispatch(&pipeline);
    let runtime = match flavor {
        Flavor::CurrentThread => tokio::runtime::Builder::new_current_thread(),
        Flavor::OneWorker => {
            let mut builder = tokio::runtime::Builder::new_multi_thread();
            builder.worker_threads(1);
            builder
        }
    }
    .enable_all()
    .build()
    .unwrap();
    let (app, recorder) = app(RequestTracing::always());
    let started = Instant::now();
    let answered_200 = runtime.block_on(async {
        let mut tasks = tokio::task::JoinSet::new();
        for id in 0..REQUESTS {
            let app = app.clone();
            let path = format!("/posts/{}", id % 10);
            tasks.spawn(
                async move { get_status(&app, &path, None).await }
                    .with_subscriber(dispatch.clone()),
            );
        }
        tasks.join_all().await.into_iter().filter(|status| *status == 200).count()
    });
    let serving = started.elapsed();
    assert_eq!(recorder.snapshot().requests.total, REQUESTS as u64);
    let stopping = Instant::now();
    let counts = pipeline.shutdown(Duration::from_millis(500));
    Outcome { answered_200, counts, serving, shutdown: stopping.elapsed() }
}

/// What holds whatever the collector does.
fn assert_unhurt(outcome: &Outcome) {
    assert_eq!(outcome.answered_200, REQUESTS);
    let counts = outcome.counts;
    assert_eq!(counts.queued, 0, "{counts:?}");
    assert_eq!(counts.exported + counts.dropped(), SPANS, "every span accounted for: {counts:?}");
    // Blocking on one 200 ms export per request would take over a minute.
    assert!(outcome.serving < Duration::from_secs(10), "serving took {:?}", outcome.serving);
    assert!(outcome.shutdown < Duration::from_secs(2), "shutdown took {:?}", outcome.shutdown);
}

fn collector_down(flavor: Flavor) {
    let outcome = serve(flavor, Receiver::down_endpoint().unwrap(), 32);
    assert_unhurt(&outcome);
    assert_eq!(outcome.counts.exported, 0);
    assert!(outcome.counts.failed_exports > 0, "{:?}", outcome.counts);
}

fn collector_hanging(flavor: Flavor) {
    let receiver = Receiver::start(Answer::Hang).unwrap();
    let outcome = serve(flavor, receiver.endpoint(), 32);
    assert_unhurt(&outcome);
    assert_eq!(outcome.counts.exported, 0);
    assert!(
        outcome.counts.dropped_queue_full > 0,
        "the queue filled while exports hung: {:?}",
        outcome.counts
    );
    assert!(receiver.posts() > 0, "the exporter did reach the collector");
}

fn collector_failing(flavor: Flavor) {
    let receiver = Receiver::start(Answer::Fail).unwrap();
    let outcome = serve(flavor, receiver.endpoint(), 32);
    assert_unhurt(&outcome);
    assert_eq!(outcome.counts.exported, 0);
    assert!(outcome.counts.dropped_export_failed > 0, "{:?}", outcome.counts);
}

fn collector_accepting(flavor: Flavor) {
    let receiver = Receiver::start(Answer::Accept).unwrap();
    let outcome = serve(flavor, receiver.endpoint(), 2048);
    assert_unhurt(&outcome);
    assert_eq!(outcome.counts.exported, SPANS, "{:?}", outcome.counts);
    assert_eq!(receiver.spans().len(), SPANS as usize);
}

#[test]
fn collector_down_on_a_current_thread_runtime() {
    collector_down(Flavor::CurrentThread);
}

#[test]
fn collector_down_on_a_one_worker_runtime() {
    collector_down(Flavor::OneWorker);
}

#[test]
fn collector_hanging_on_a_current_thread_runtime() {
    collector_hanging(Flavor::CurrentThread);
}

#[test]
fn collector_hanging_on_a_one_worker_runtime() {
    collector_hanging(Flavor::OneWorker);
}

#[test]
fn collector_answering_500_on_a_current_thread_runtime() {
    collector_failing(Flavor::CurrentThread);
}

#[test]
fn collector_answering_500_on_a_one_worker_runtime() {
    collector_failing(Flavor::OneWorker);
}

#[test]
fn collector_accepting_on_a_current_thread_runtime() {
    collector_accepting(Flavor::CurrentThread);
}

#[test]
fn collector_accepting_on_a_one_worker_runtime() {
    collector_accepting(Flavor::OneWorker);
}

#[test]
fn a_flush_against_a_hanging_collector_answers_within_its_timeout() {
    let receiver = Receiver::start(Answer::Hang).unwrap();
    let mut settings = settings(&[("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", receiver.endpoint())]);
    settings.export_timeout = Duration::from_millis(200);
    let pipeline = TracePipeline::build(&settings).unwrap();
    let _subscriber = support::subscribe(&pipeline);
    tracing::info_span!("work").in_scope(|| ());
    let started = Instant::now();
    assert!(pipeline.flush().is_ok());
    assert!(started.elapsed() < Duration::from_secs(1), "flush took {:?}", started.elapsed());
    assert_eq!(pipeline.counts().dropped_export_failed, 1);
}
