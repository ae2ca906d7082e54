#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The interval boundary has one owner: the collector. Under steady load, with readers
//! reading all the while, every request lands in exactly one snapshot and no two snapshots
//! carry the same interval: once on tokio's paused time with the real schedule, once on the
//! real clock with collections at jittered moments and threads recording concurrently.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use perfkit::core::{MetricsSnapshot, Timestamp};
use perfkit::metrics::Method;
use perfkit::{PerformanceService, ServiceConfig, TokioClock};
use support::{steady_cache, steady_probe};

fn request_counts(history: &[MetricsSnapshot]) -> Vec<u64> {
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // whole counts
    history.iter().map(|s| s.request_count.unwrap_or(0.0) as u64).collect()
}

/// Checks the history against the recorder: counts add up to the total, timestamps
/// strictly increase, and no two neighbours repeat the same interval figures.
fn assert_intervals_tile(service: &PerformanceService, history: &[MetricsSnapshot]) {
    let counts = request_counts(history);
    let total = service.recorder().snapshot().requests.total;
    assert_eq!(counts.iter().sum::<u64>(), total, "per-snapshot counts {counts:?}");
    for pair in history.windows(2) {
        assert!(pair[0].timestamp < pair[1].timestamp, "{:?} then {:?}", pair[0], pair[1]);
        // Two empty intervals look alike and are still two; only those with requests can
        // betray a repeat.
        let same = pair[0].request_count.is_some_and(|count| count > 0.0)
            && pair[0].request_count == pair[1].request_count
            && pair[0].response_time == pair[1].response_time
            && pair[0].throughput == pair[1].throughput;
        assert!(!same, "two snapshots carry one interval: {:?} and {:?}", pair[0], pair[1]);
    }
}

#[tokio::test(start_paused = true)]
async fn twenty_scheduled_collections_count_every_request_once() {
    let service = PerformanceService::builder()
        .config(ServiceConfig::default())
        .clock(Arc::new(TokioClock::starting_at(Timestamp::from_unix_millis(1_764_000_000_000))))
        .probe(Arc::new(steady_probe(Arc::default())))
        .cache_parts(Arc::new(perfkit::cache::MockCache::new()), Arc::new(steady_cache()))
        .build()
        .unwrap();
    service.start();
    // Steady load with a varying rate, and readers in between: a read at 29.999 s after
    // the last collection must not move the boundary.
    for step in 0..(20 * 30 * 10u64) {
        let requests = 1 + step % 7;
        for _ in 0..requests {
            service.recorder().record_request(
                Some("/api/posts"),
                Method::Get,
                200,
                Duration::from_millis(5 + step % 40),
            );
        }
        if step.is_multiple_of(3) {
            let _ = service.recorder().snapshot();
            let _ = service.parts().exporter.render().unwrap();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    service.shutdown().await;
    // The requests since the last scheduled collection go into one more.
    service.collect_now().await;
    let history = service.readout().history(1000);
    assert!(history.len() >= 21, "{} snapshots", history.len());
    assert_intervals_tile(&service, &history);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collections_at_jittered_moments_on_the_real_clock_count_every_request_once() {
    let service = PerformanceService::builder()
        .probe(Arc::new(steady_probe(Arc::default())))
        .cache_parts(Arc::new(perfkit::cache::MockCache::new()), Arc::new(steady_cache()))
        .build()
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let recorders: Vec<_> = (0..2u64)
        .map(|thread| {
            let recorder = Arc::clone(service.recorder());
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                let mut i = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let status = if i.is_multiple_of(50) { 500 } else { 200 };
                    let micros = 100 + (i * 37 + thread) % 5000;
                    recorder.record_request(
                        Some("/api/users/{id}"),
                        Method::Get,
                        status,
                        Duration::from_micros(micros),
                    );
                    i += 1;
                    if i.is_multiple_of(64) {
                        std::thread::sleep(Duration::from_micros(200));
                    }
                }
            })
        })
        .collect();
    let reader = {
        let service = service.clone();
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let _ = service.recorder().snapshot();
                let _ = service.parts().exporter.render();
                std::thread::sleep(Duration::from_micros(700));
            }
        })
    };
    // Twenty collections at moments 20 to 52 ms apart.
    let mut seed = 0x9e37_79b9_u64;
    for _ in 0..20 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        tokio::time::sleep(Duration::from_millis(20 + seed % 33)).await;
        service.collect_now().await;
    }
    stop.store(true, Ordering::Relaxed);
    for thread in recorders {
        thread.join().unwrap();
    }
    reader.join().unwrap();
    // Whatever was recorded after the twentieth collection goes into a last one.
    service.collect_now().await;
    let history = service.readout().history(1000);
    assert_eq!(history.len(), 21);
    let with_requests = request_counts(&history).iter().filter(|count| **count > 0).count();
    assert!(with_requests >= 15, "load ran throughout: {:?}", request_counts(&history));
    assert_intervals_tile(&service, &history);
}
