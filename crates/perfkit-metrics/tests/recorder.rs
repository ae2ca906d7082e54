#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The recorder's behaviour through its public API, on a manual clock.

use std::sync::Arc;
use std::time::Duration;

use perfkit_core::{Clock, ManualClock, MetricsSnapshot, Timestamp};
use perfkit_metrics::{Method, OVERFLOW_ROUTE, Recorder, RecorderConfig};

fn recorder_with(config: RecorderConfig) -> (Arc<ManualClock>, Recorder) {
    let clock = Arc::new(ManualClock::new(Timestamp::from_unix_millis(1_700_000_000_000)));
    let recorder = Recorder::new(config, clock.clone()).unwrap();
    (clock, recorder)
}

fn recorder() -> (Arc<ManualClock>, Recorder) {
    recorder_with(RecorderConfig::default())
}

fn ms(value: u64) -> Duration {
    Duration::from_millis(value)
}

fn assert_close(actual: Option<f64>, expected: f64, tolerance: f64) {
    let actual = actual.expect("a value");
    assert!(
        (actual - expected).abs() <= expected * tolerance,
        "{actual} is not within {tolerance} of {expected}"
    );
}

#[test]
fn percentiles_of_a_uniform_distribution() {
    let (_, recorder) = recorder();
    // 1..=1000 ms, once each: P50 = 500, P95 = 950, P99 = 990, mean = 500.5.
    for value in 1..=1000 {
        recorder.record_request(None, Method::Get, 200, ms(value));
    }
    let latency = recorder.snapshot().response_time.cumulative;
    assert_eq!(latency.count, 1000);
    assert_close(latency.avg, 500.5, 1e-9);
    assert_close(latency.p50, 500.0, 0.01);
    assert_close(latency.p95, 950.0, 0.01);
    assert_close(latency.p99, 990.0, 0.01);
    assert_close(latency.max, 1000.0, 0.01);
}

#[test]
fn percentiles_of_a_bimodal_distribution() {
    let (_, recorder) = recorder();
    // 90 % fast (10 ms) and 10 % slow (2 s): P50 fast, P95 and P99 slow.
    for i in 0..10_000 {
        let duration = if i % 10 == 0 { ms(2_000) } else { ms(10) };
        recorder.record_request(Some("/api/posts"), Method::Get, 200, duration);
    }
    let metrics = recorder.snapshot();
    let latency = metrics.response_time.cumulative;
    assert_close(latency.p50, 10.0, 0.01);
    assert_close(latency.p95, 2_000.0, 0.01);
    assert_close(latency.p99, 2_000.0, 0.01);
    assert_close(latency.avg, 0.9 * 10.0 + 0.1 * 2_000.0, 1e-9);
    let route = &metrics.routes.slowest[0];
    assert_eq!((route.route.as_str(), route.count), ("/api/posts", 10_000));
    assert_close(route.p95, 2_000.0, 0.035);
}

#[test]
fn interval_figures_rotate_on_the_clock() {
    let config = RecorderConfig { interval: Duration::from_secs(30), ..RecorderConfig::default() };
    let (clock, recorder) = recorder_with(config);

    // First interval: 30 requests of 100 ms, 3 of them server errors.
    for i in 0..30 {
        recorder.record_request(None, Method::Get, if i < 3 { 500 } else { 200 }, ms(100));
    }
    let running = recorder.snapshot();
    assert_eq!(running.requests.interval, 30, "before the first close, the running interval");

    clock.advance(Duration::from_secs(30));
    let first = recorder.snapshot();
    assert_eq!(first.requests.interval, 30);
    assert_eq!(first.interval.seconds, 30.0);
    assert_close(first.throughput.per_second, 1.0, 1e-9);
    assert_close(first.errors.rate, 0.1, 1e-9);
    assert_close(first.response_time.interval.p95, 100.0, 0.01);

    // Second interval: 60 fast requests, no errors. Until it closes, the first is reported.
    for _ in 0..60 {
        recorder.record_request(None, Method::Get, 200, ms(5));
    }
    clock.advance(Duration::from_secs(10));
    assert_eq!(recorder.snapshot().requests.interval, 30);
    clock.advance(Duration::from_secs(20));
    let second = recorder.snapshot();
    assert_eq!(second.requests.interval, 60);
    assert_close(second.throughput.per_second, 2.0, 1e-9);
    assert_eq!(second.errors.rate, Some(0.0));
    assert_close(second.response_time.interval.p95, 5.0, 0.01);
    // Cumulative figures span both intervals.
    assert_eq!(second.requests.total, 90);
    assert_close(second.errors.cumulative_rate, 3.0 / 90.0, 1e-9);
    // 90 requests over the 60 s of reads so far.
    assert_close(second.throughput.per_minute, 90.0, 1e-9);
}

#[test]
fn close_interval_closes_at_once() {
    let (clock, recorder) = recorder();
    recorder.record_request(None, Method::Get, 200, ms(1));
    clock.advance(Duration::from_secs(5));
    recorder.close_interval();
    let metrics = recorder.snapshot();
    assert_eq!(metrics.requests.interval, 1);
    assert_eq!(metrics.interval.seconds, 5.0);
}

#[test]
fn error_kinds_are_capped_and_the_rest_count_as_other() {
    let config = RecorderConfig { max_error_kinds: 64, ..RecorderConfig::default() };
    let (_, recorder) = recorder_with(config);
    for i in 0..10_000_000u32 {
        recorder.record_error(&i.to_string());
    }
    let errors = recorder.snapshot().errors;
    assert_eq!(errors.recorded, 10_000_000);
    assert_eq!(errors.by_kind.len(), 64, "at most the cap, plus `other` beside them");
    assert!(errors.by_kind.values().all(|count| *count == 1));
    assert_eq!(errors.other, 10_000_000 - 64);
}

#[test]
fn routes_beyond_the_cap_fold_into_one_overflow_series() {
    let config = RecorderConfig { max_routes: 3, ..RecorderConfig::default() };
    let (_, recorder) = recorder_with(config);
    for i in 0..1_000 {
        recorder.record_request(Some(&format!("/raw/{i}")), Method::Get, 404, ms(1));
    }
    recorder.record_request(None, Method::Get, 200, ms(1));
    let routes = recorder.snapshot().routes;
    assert_eq!(routes.tracked, 3);
    assert_eq!(routes.slowest.len(), 3);
    assert_eq!(routes.overflow_requests, 997);
    assert_eq!(routes.unrouted_requests, 1);
    assert!(routes.slowest.iter().all(|route| route.route != OVERFLOW_ROUTE));
}

#[test]
fn slowest_routes_come_first_with_their_errors() {
    let (_, recorder) = recorder();
    for _ in 0..20 {
        recorder.record_request(Some("/fast"), Method::Get, 200, ms(2));
        recorder.record_request(Some("/slow"), Method::Post, 503, ms(800));
    }
    let slowest = recorder.snapshot().routes.slowest;
    assert_eq!(slowest[0].route, "/slow");
    assert_eq!(slowest[0].errors, 20);
    assert_close(slowest[0].avg, 800.0, 1e-9);
    assert_eq!(slowest[1].route, "/fast");
    assert_eq!(slowest[1].errors, 0);
}

#[test]
fn reset_zeroes_figures_and_forgets_names() {
    let (_, recorder) = recorder();
    recorder.record_request(Some("/a"), Method::Get, 500, ms(10));
    recorder.record_error("timeout");
    recorder.record_db_query_kind("select", ms(300));
    recorder.record_cache_operation(true);
    recorder.record_ws_connection(true);
    recorder.record_ws_message();
    recorder.set_queue_length(7);

    recorder.reset();
    let metrics = recorder.snapshot();
    assert_eq!(metrics.requests.total, 0);
    assert_eq!(metrics.requests.interval, 0);
    assert_eq!(metrics.response_time.cumulative.count, 0);
    assert_eq!(metrics.response_time.cumulative.p95, None);
    assert_eq!(metrics.routes.tracked, 0);
    assert!(metrics.errors.by_kind.is_empty());
    assert_eq!(metrics.errors.recorded, 0);
    assert_eq!(metrics.database.queries, 0);
    assert!(metrics.database.by_kind.is_empty());
    assert_eq!((metrics.cache.hits, metrics.cache.misses), (0, 0));
    assert_eq!(metrics.websocket.messages, 0);
    // The present is kept: connections still open, jobs still waiting.
    assert_eq!(metrics.websocket.active_connections, 1);
    assert_eq!(metrics.queue_length, 7);

    recorder.record_request(Some("/b"), Method::Get, 200, ms(1));
    assert_eq!(recorder.snapshot().routes.slowest[0].route, "/b");
}

#[test]
fn concurrent_recording_keeps_exact_totals() {
    let (_, recorder) = recorder();
    let recorder = Arc::new(recorder);
    const THREADS: u64 = 8;
    const PER_THREAD: u64 = 50_000;
    let handles: Vec<_> = (0..THREADS)
        .map(|thread| {
            let recorder = Arc::clone(&recorder);
            std::thread::spawn(move || {
                for i in 0..PER_THREAD {
                    let route = ["/a", "/b", "/c"][(i % 3) as usize];
                    let status = if i % 100 == 0 { 500 } else { 200 };
                    recorder.record_request(Some(route), Method::Get, status, ms(1 + i % 50));
                    recorder.record_cache_operation(i % 4 != 0);
                    if i % 10 == thread {
                        recorder.record_error("boom");
                    }
                    recorder.record_db_query(ms(1));
                }
            })
        })
        .collect();
    for handle in handles {
        handle.join().unwrap();
    }
    let metrics = recorder.snapshot();
    let total = THREADS * PER_THREAD;
    assert_eq!(metrics.requests.total, total);
    assert_eq!(metrics.response_time.cumulative.count, total);
    assert_eq!(metrics.errors.server_errors, THREADS * (PER_THREAD / 100));
    assert_eq!(metrics.routes.slowest.iter().map(|r| r.count).sum::<u64>(), total);
    assert_eq!(metrics.cache.hits + metrics.cache.misses, total);
    assert_eq!(metrics.cache.misses, total / 4);
    assert_eq!(metrics.errors.by_kind["boom"], THREADS * (PER_THREAD / 10));
    assert_eq!(metrics.database.queries, total);
}

#[test]
fn database_queries_report_percentiles_slow_count_and_kinds() {
    let config = RecorderConfig { slow_query_threshold: ms(100), ..RecorderConfig::default() };
    let (_, recorder) = recorder_with(config);
    for value in 1..=100 {
        recorder.record_db_query(ms(value));
    }
    recorder.record_db_query_kind("select_posts", ms(250));
    recorder.record_db_query_kind("select_posts", ms(150));
    recorder.record_db_query_kind("insert_post", ms(5));
    let database = recorder.snapshot().database;
    assert_eq!(database.queries, 103);
    assert_eq!(database.slow_queries, 3, "100 ms, 250 ms and 150 ms");
    assert_close(database.cumulative.p95, 96.0, 0.02);
    assert_eq!(database.by_kind[0].kind, "select_posts");
    assert_eq!(database.by_kind[0].slow, 2);
    assert_close(database.by_kind[0].avg, 200.0, 1e-9);
    assert_eq!(database.by_kind[1].kind, "insert_post");
}

#[test]
fn slow_requests_are_counted() {
    let config = RecorderConfig { slow_request_threshold: ms(500), ..RecorderConfig::default() };
    let (_, recorder) = recorder_with(config);
    for value in [100, 499, 500, 5_000] {
        recorder.record_request(None, Method::Get, 200, ms(value));
    }
    assert_eq!(recorder.snapshot().requests.slow, 2);
}

#[test]
fn websocket_gauge_never_goes_negative() {
    let (_, recorder) = recorder();
    recorder.record_ws_connection(false);
    recorder.record_ws_connection(true);
    recorder.record_ws_connection(true);
    recorder.record_ws_connection(false);
    let websocket = recorder.snapshot().websocket;
    assert_eq!(websocket.active_connections, 1);
    assert_eq!(websocket.total_connections, 2);
}

#[test]
fn snapshot_fills_the_figures_the_recorder_owns() {
    let (clock, recorder) = recorder();
    for _ in 0..10 {
        recorder.record_request(None, Method::Get, 200, ms(40));
    }
    recorder.record_cache_operation(true);
    recorder.record_cache_operation(false);
    recorder.set_queue_length(3);
    recorder.record_db_query(ms(20));
    clock.advance(Duration::from_secs(30));

    let mut snapshot = MetricsSnapshot::empty(clock.now());
    recorder.snapshot().apply_to(&mut snapshot);
    assert_close(snapshot.p95, 40.0, 0.01);
    assert_close(snapshot.response_time, 40.0, 1e-9);
    assert_close(snapshot.throughput, 10.0 / 30.0, 1e-9);
    assert_eq!(snapshot.error_rate, Some(0.0));
    assert_eq!(snapshot.cache_hit_rate, Some(0.5));
    assert_eq!(snapshot.queue_length, Some(3.0));
    assert_eq!(snapshot.request_count, Some(10.0));
    assert_close(snapshot.db_query_p95, 20.0, 0.01);
    assert_eq!(snapshot.cpu_usage, None, "the probe's figure, not the recorder's");
}

#[test]
fn figures_without_samples_are_missing_not_zero() {
    let (_, recorder) = recorder();
    let metrics = recorder.snapshot();
    assert_eq!(metrics.response_time.interval.p95, None);
    assert_eq!(metrics.errors.rate, None);
    assert_eq!(metrics.cache.hit_rate, None);
    let json = serde_json::to_value(&metrics).unwrap();
    assert!(json["responseTime"]["interval"]["p95"].is_null());
    assert_eq!(json["requests"]["total"], 0);
}

#[test]
fn invalid_config_is_refused() {
    let clock = Arc::new(ManualClock::default());
    let config = RecorderConfig { max_routes: 0, ..RecorderConfig::default() };
    assert!(Recorder::new(config, clock).is_err());
}

#[test]
fn huge_durations_are_clamped_not_lost() {
    let (_, recorder) = recorder();
    recorder.record_request(None, Method::Get, 200, Duration::from_secs(u64::MAX / 2));
    let latency = recorder.snapshot().response_time.cumulative;
    assert_eq!(latency.count, 1);
    assert!(latency.p99.unwrap() > 60.0 * 60.0 * 1000.0);
}
