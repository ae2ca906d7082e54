#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The recorder's behaviour through its public API, on a manual clock.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
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
fn interval_figures_cover_the_intervals_closed() {
    let (clock, recorder) = recorder();

    // First interval: 30 requests of 100 ms, 3 of them server errors.
    for i in 0..30 {
        recorder.record_request(None, Method::Get, if i < 3 { 500 } else { 200 }, ms(100));
    }
    let running = recorder.snapshot();
    assert_eq!(running.requests.interval, 30, "before the first close, the running interval");

    clock.advance(Duration::from_secs(30));
    let first = recorder.close_interval();
    assert_eq!(first.requests.interval, 30);
    assert_eq!(first.interval.seconds, 30.0);
    assert_close(first.throughput.per_second, 1.0, 1e-9);
    assert_close(first.errors.rate, 0.1, 1e-9);
    assert_close(first.response_time.interval.p95, 100.0, 0.01);

    // Second interval: 60 fast requests, no errors. Until it closes, the first is reported,
    // however long it runs: reads never close it.
    for _ in 0..60 {
        recorder.record_request(None, Method::Get, 200, ms(5));
    }
    clock.advance(Duration::from_secs(10));
    assert_eq!(recorder.snapshot().requests.interval, 30);
    clock.advance(Duration::from_secs(50));
    assert_eq!(recorder.snapshot().requests.interval, 30);
    assert_eq!(recorder.snapshot().interval, first.interval);
    let second = recorder.close_interval();
    assert_eq!(second.requests.interval, 60);
    assert_close(second.throughput.per_second, 1.0, 1e-9);
    assert_eq!(second.errors.rate, Some(0.0));
    assert_close(second.response_time.interval.p95, 5.0, 0.01);
    // Cumulative figures span both intervals.
    assert_eq!(second.requests.total, 90);
    assert_close(second.errors.cumulative_rate, 3.0 / 90.0, 1e-9);
    // The most recent closed interval alone covers a minute: 60 requests over 60 s.
    assert_close(second.throughput.per_minute, 60.0, 1e-9);
    assert_eq!(recorder.snapshot().throughput, second.throughput);
}

#[test]
fn per_minute_throughput_adds_up_closed_intervals_to_a_minute() {
    let (clock, recorder) = recorder();
    for requests in [30, 60] {
        for _ in 0..requests {
            recorder.record_request(None, Method::Get, 200, ms(1));
        }
        clock.advance(Duration::from_secs(30));
        recorder.close_interval();
    }
    // [0, 30 s] 30 and [30 s, 60 s] 60: 90 over 60 s.
    assert_close(recorder.snapshot().throughput.per_minute, 90.0, 1e-9);
}

#[test]
fn closed_intervals_tile_time_and_count_every_request_once() {
    let (clock, recorder) = recorder();
    let started = clock.now();
    recorder.record_request(Some("/a"), Method::Get, 200, ms(1));
    clock.advance(Duration::from_secs(3));
    // Before the first close, reads report the running interval; from then on, the last
    // closed one.
    let mut closed = vec![recorder.close_interval()];
    for round in 0..20u64 {
        for _ in 0..round * 3 {
            recorder.record_request(Some("/a"), Method::Get, 200, ms(1 + round));
        }
        // Reads in between, at any time, change nothing.
        clock.advance(Duration::from_millis(7_000 + round * 1_013));
        let before = recorder.snapshot();
        clock.advance(Duration::from_millis(29_999));
        let read = recorder.snapshot();
        assert_eq!(read.interval, before.interval);
        assert_eq!(read.requests.interval, before.requests.interval);
        assert_eq!(read.response_time.interval, before.response_time.interval);
        assert_eq!(read.throughput, before.throughput);
        closed.push(recorder.close_interval());
    }
    let total = recorder.snapshot().requests.total;
    assert_eq!(total, 1 + (0..20).map(|round| round * 3).sum::<u64>());
    assert_eq!(closed.iter().map(|c| c.requests.interval).sum::<u64>(), total);
    // No gap, no overlap, and no interval twice.
    assert_eq!(closed[0].interval.start, started);
    for pair in closed.windows(2) {
        assert_eq!(pair[1].interval.start, pair[0].interval.end);
        assert!(pair[1].interval.end > pair[1].interval.start);
    }
    assert_eq!(closed.last().unwrap().interval.end, clock.now());
}

#[test]
fn concurrent_closes_count_every_request_exactly_once() {
    // Real time: recording threads race a closer that closes at jittered moments, and a
    // reader that reads as fast as it can.
    let recorder = Arc::new(Recorder::default());
    const THREADS: u64 = 4;
    const PER_THREAD: u64 = 200_000;
    let recording = Arc::new(AtomicUsize::new(THREADS as usize));
    let still_recording = {
        let recording = Arc::clone(&recording);
        move || recording.load(Ordering::SeqCst) > 0
    };
    let recorders: Vec<_> = (0..THREADS)
        .map(|thread| {
            let recorder = Arc::clone(&recorder);
            let recording = Arc::clone(&recording);
            std::thread::spawn(move || {
                for i in 0..PER_THREAD {
                    let route = ["/a", "/b"][((i + thread) % 2) as usize];
                    recorder.record_request(Some(route), Method::Get, 200, ms(i % 7));
                }
                recording.fetch_sub(1, Ordering::SeqCst);
            })
        })
        .collect();
    // Two closers, so closes also race each other.
    let closers: Vec<_> = (0..2u64)
        .map(|seed| {
            let recorder = Arc::clone(&recorder);
            let still_recording = still_recording.clone();
            std::thread::spawn(move || {
                let mut closed = Vec::new();
                let mut jitter = 0x9e37_79b9_u64 + seed;
                while still_recording() {
                    jitter ^= jitter << 13;
                    jitter ^= jitter >> 7;
                    jitter ^= jitter << 17;
                    std::thread::sleep(Duration::from_micros(jitter % 2_000));
                    closed.push(recorder.close_interval());
                }
                closed
            })
        })
        .collect();
    let reader = {
        let recorder = Arc::clone(&recorder);
        std::thread::spawn(move || {
            while still_recording() {
                let _ = recorder.snapshot();
            }
        })
    };
    for thread in recorders {
        thread.join().unwrap();
    }
    let mut closed: Vec<_> =
        closers.into_iter().flat_map(|closer| closer.join().unwrap()).collect();
    reader.join().unwrap();
    // Back into the order of the closes: ends and totals never decrease from one to the next.
    closed.sort_by_key(|c| (c.interval.end, c.requests.total, c.interval.start));
    assert!(closed.len() > 1, "the closer closed {} intervals", closed.len());

    let total = THREADS * PER_THREAD;
    let closed_sum: u64 = closed.iter().map(|c| c.requests.interval).sum();
    let running_remainder =
        recorder.snapshot().requests.total - closed.last().unwrap().requests.total;
    assert_eq!(closed_sum + running_remainder, total);
    // Each close's total is the sum of every interval closed so far: nothing counted twice,
    // nothing left between two intervals.
    let mut so_far = 0;
    for interval in &closed {
        so_far += interval.requests.interval;
        assert_eq!(interval.requests.total, so_far);
    }
    for pair in closed.windows(2) {
        assert_eq!(pair[1].interval.start, pair[0].interval.end);
    }
    assert_eq!(recorder.close_interval().requests.interval, running_remainder);
}

#[test]
fn close_interval_closes_at_once() {
    let (clock, recorder) = recorder();
    recorder.record_request(None, Method::Get, 200, ms(1));
    clock.advance(Duration::from_secs(5));
    let closed = recorder.close_interval();
    assert_eq!(closed.requests.interval, 1);
    assert_eq!(closed.interval.seconds, 5.0);
    let metrics = recorder.snapshot();
    assert_eq!(metrics.requests.interval, 1);
    assert_eq!(metrics.interval.seconds, 5.0);
    // The next close returns the next interval, never the same one again.
    clock.advance(Duration::from_secs(1));
    let next = recorder.close_interval();
    assert_eq!(next.requests.interval, 0);
    assert_eq!((next.interval.start, next.interval.seconds), (closed.interval.end, 1.0));
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
    let (clock, recorder) = recorder();
    recorder.record_request(Some("/a"), Method::Get, 500, ms(10));
    recorder.record_error("timeout");
    recorder.record_db_statement("SELECT 1", ms(300), 1);
    recorder.record_pool_acquire(ms(2));
    recorder.record_ws_opened();
    recorder.record_ws_message();
    clock.advance(Duration::from_secs(30));
    recorder.close_interval();

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
    assert!(metrics.database.statements.slowest.is_empty());
    assert_eq!(metrics.database.statements.tracked, 0);
    assert_eq!(metrics.database.pool_acquire.cumulative.count, 0);
    assert_eq!(metrics.websocket.messages, 0);
    assert_eq!(metrics.websocket.total_connections, 0);
    // Closed intervals are forgotten too: a new running interval starts at the reset.
    assert_eq!(metrics.interval.start, clock.now());
    assert_eq!(metrics.throughput.per_minute, None);

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
    assert_eq!(metrics.errors.by_kind["boom"], THREADS * (PER_THREAD / 10));
    assert_eq!(metrics.database.queries, total);
}

#[test]
fn database_queries_report_percentiles_slow_count_and_statements() {
    let config = RecorderConfig { slow_query_threshold: ms(100), ..RecorderConfig::default() };
    let (_, recorder) = recorder_with(config);
    for value in 1..=100 {
        recorder.record_db_query(ms(value));
    }
    let select = "SELECT * FROM posts WHERE user_id = ?";
    recorder.record_db_statement(select, ms(250), 10);
    recorder.record_db_statement(select, ms(150), 12);
    recorder.record_db_statement("INSERT INTO posts VALUES (?)", ms(5), 1);
    let database = recorder.snapshot().database;
    assert_eq!(database.queries, 103);
    assert_eq!(database.slow_queries, 3, "100 ms, 250 ms and 150 ms");
    assert_close(database.cumulative.p95, 96.0, 0.02);
    let slowest = &database.statements.slowest;
    assert_eq!(slowest[0].statement, select);
    assert_eq!((slowest[0].count, slowest[0].slow, slowest[0].rows), (2, 2, 22));
    assert_close(slowest[0].avg, 200.0, 1e-9);
    assert_close(Some(slowest[0].total_ms), 400.0, 1e-9);
    assert_close(slowest[0].p95, 250.0, 0.04);
    assert_close(slowest[0].max, 250.0, 1e-9);
    assert_eq!(slowest[0].id, perfkit_metrics::statement_id(select));
    assert_eq!(slowest[1].statement, "INSERT INTO posts VALUES (?)");
}

#[test]
fn statements_beyond_the_cap_fold_into_one_overflow_series() {
    let config = RecorderConfig { max_statements: 2, ..RecorderConfig::default() };
    let (_, recorder) = recorder_with(config);
    for (index, statement) in ["SELECT a", "SELECT b", "SELECT c", "SELECT d"].iter().enumerate() {
        recorder.record_db_statement(statement, ms(1), 1);
        recorder.record_db_statement(statement, ms(1 + index as u64), 1);
    }
    let statements = recorder.snapshot().database.statements;
    assert_eq!((statements.tracked, statements.max), (2, 2));
    assert_eq!(statements.slowest.len(), 2);
    assert_eq!(statements.overflow_queries, 4);
}

#[test]
fn pool_acquires_give_a_p95_and_the_mean_number_waiting() {
    let (clock, recorder) = recorder();
    // 10 acquires of 20 ms each, waited over a 2 s interval: 0.2 s of waiting, so on
    // average 0.1 tasks were waiting (Little's law).
    for _ in 0..10 {
        recorder.record_pool_acquire(ms(20));
    }
    clock.advance(Duration::from_secs(2));
    let closed = recorder.close_interval();
    assert_eq!(closed.database.pool_acquire.interval.count, 10);
    let mut snapshot = perfkit_core::MetricsSnapshot::empty(clock.now());
    closed.apply_to(&mut snapshot);
    assert_close(snapshot.db_pool_acquire_p95, 20.0, 0.01);
    assert_close(snapshot.db_pool_waiters, 0.1, 0.01);
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
fn websocket_connections_and_messages_are_counted() {
    let (_, recorder) = recorder();
    recorder.record_ws_opened();
    recorder.record_ws_opened();
    recorder.record_ws_message();
    let websocket = recorder.snapshot().websocket;
    assert_eq!(websocket.total_connections, 2);
    assert_eq!(websocket.messages, 1);
    let json = serde_json::to_value(&websocket).unwrap();
    assert!(json.get("activeConnections").is_none(), "the registry owns open connections");
}

#[test]
fn snapshot_fills_the_figures_the_recorder_owns() {
    let (clock, recorder) = recorder();
    for _ in 0..10 {
        recorder.record_request(None, Method::Get, 200, ms(40));
    }
    recorder.record_db_query(ms(20));
    recorder.record_ws_opened();
    clock.advance(Duration::from_secs(30));

    let mut snapshot = MetricsSnapshot::empty(clock.now());
    recorder.close_interval().apply_to(&mut snapshot);
    assert_close(snapshot.p95, 40.0, 0.01);
    assert_close(snapshot.response_time, 40.0, 1e-9);
    assert_close(snapshot.throughput, 10.0 / 30.0, 1e-9);
    assert_eq!(snapshot.error_rate, Some(0.0));
    assert_eq!(snapshot.request_count, Some(10.0));
    assert_close(snapshot.db_query_p95, 20.0, 0.01);
    assert_eq!(snapshot.cpu_usage, None, "the probe's figure, not the recorder's");
    assert_eq!(snapshot.cache_hit_rate, None, "the cache's figure, not the recorder's");
    assert_eq!(snapshot.active_connections, None, "the registry's figure");
    assert_eq!(snapshot.queue_length, None, "the queue control's figure");
}

#[test]
fn figures_without_samples_are_missing_not_zero() {
    let (_, recorder) = recorder();
    let metrics = recorder.snapshot();
    assert_eq!(metrics.response_time.interval.p95, None);
    assert_eq!(metrics.errors.rate, None);
    assert_eq!(metrics.throughput.per_minute, None);
    let json = serde_json::to_value(&metrics).unwrap();
    assert!(json["responseTime"]["interval"]["p95"].is_null());
    assert_eq!(json["requests"]["total"], 0);
    assert!(json.get("cache").is_none() && json.get("queueLength").is_none());
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

#[test]
fn availability_is_the_share_not_5xx_and_nothing_without_requests() {
    let clock = Arc::new(ManualClock::new(Timestamp::from_unix_millis(0)));
    let recorder = Recorder::new(RecorderConfig::default(), clock.clone()).unwrap();
    // No request yet: nothing measured, neither 100 % nor 0 %.
    let idle = recorder.close_interval();
    assert_eq!((idle.availability.interval, idle.availability.cumulative), (None, None));
    let mut snapshot = MetricsSnapshot::empty(Timestamp::UNIX_EPOCH);
    idle.apply_to(&mut snapshot);
    assert_eq!(snapshot.availability, None);

    for status in [200, 200, 404, 503] {
        recorder.record_request(Some("/a"), Method::Get, status, Duration::from_millis(1));
    }
    clock.advance(Duration::from_secs(30));
    let first = recorder.close_interval();
    assert_eq!(first.availability.interval, Some(0.75));
    recorder.record_request(Some("/a"), Method::Get, 200, Duration::from_millis(1));
    clock.advance(Duration::from_secs(30));
    let second = recorder.close_interval();
    assert_eq!(
        (second.availability.interval, second.availability.cumulative),
        (Some(1.0), Some(0.8))
    );
    second.apply_to(&mut snapshot);
    assert_eq!((snapshot.availability, snapshot.uptime), (Some(1.0), Some(60.0)));

    // A reset zeroes the figures, not the uptime: the process did not restart.
    recorder.reset();
    clock.advance(Duration::from_secs(5));
    assert_eq!(recorder.snapshot().uptime_seconds, 65.0);
}

#[test]
fn upgrades_and_perfkits_own_requests_stay_out_of_the_request_figures() {
    let recorder = Recorder::default();
    recorder.record_request(Some("/items"), Method::Get, 200, Duration::from_millis(2));
    recorder.record_request(Some("/ws"), Method::Get, 101, Duration::from_secs(600));
    recorder.record_own_request(Method::Get, 200, Duration::from_millis(1));
    recorder.record_own_request(Method::Get, 500, Duration::from_millis(1));
    recorder.record_own_request(Method::Get, 101, Duration::from_millis(1));
    let metrics = recorder.snapshot();
    assert_eq!((metrics.requests.total, metrics.requests.upgrades), (1, 1));
    assert!(!metrics.requests.by_status_class.contains_key("1xx"));
    assert_eq!(metrics.errors.server_errors, 0, "perfkit's 500 is not the host's");
    assert_eq!(metrics.response_time.cumulative.count, 1, "an upgrade has no latency");
    assert_eq!(metrics.routes.slowest.len(), 1, "{:?}", metrics.routes.slowest);
    let own = metrics.own;
    assert_eq!((own.requests, own.server_errors, own.upgrades), (2, 1, 1));
}
