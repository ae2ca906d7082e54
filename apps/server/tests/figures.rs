//! One owner per figure, seen from outside: the real server's endpoints and its Prometheus
//! exposition show the same cache figures at the same moment, with no wait for a collection,
//! and the snapshot's hit rate is the one the cache's counters give over its interval; the
//! demo's warming figures agree between `/cache/stats`, `/dashboard` and the exposition.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::io::Write;
use std::time::{Duration, Instant};

use reqwest::Client;
use serde_json::Value;
use support::Server;

/// The value of the first sample of `family` in a text exposition (any labels).
fn sample(exposition: &str, family: &str) -> Option<f64> {
    exposition.lines().filter(|line| !line.starts_with('#')).find_map(|line| {
        let (name_and_labels, value) = line.rsplit_once(' ')?;
        let name = name_and_labels.split('{').next()?;
        (name == family).then(|| value.parse().ok()).flatten()
    })
}

async fn get_json(client: &Client, server: &Server, path: &str) -> Value {
    let response = client.get(server.url(path)).send().await.unwrap();
    assert!(response.status().is_success(), "{path}: {}", response.status());
    response.json().await.unwrap()
}

async fn get_text(client: &Client, server: &Server, path: &str) -> String {
    client.get(server.url(path)).send().await.unwrap().text().await.unwrap()
}

/// Reads 8 distinct demo pages 5 times each: 8 misses, then 32 hits; and, as every page miss
/// reads the post count it carries (cached on its own), 1 miss and 7 hits of that.
const BURST_HITS: u64 = 32 + 7;
const BURST_MISSES: u64 = 8 + 1;
const BURST_HIT_RATE: f64 = 39.0 / 48.0;

async fn burst_of_cached_reads(client: &Client, server: &Server) {
    for _ in 0..5 {
        for page in 1..=8 {
            let url = server.url(&format!("/api/posts?page={page}&limit=5"));
            let response = client.get(url).send().await.unwrap();
            assert_eq!(response.status(), 200);
        }
    }
}

#[tokio::test]
async fn one_scrape_after_a_burst_agrees_with_the_cache_stats() {
    let server = Server::start(&["--demo"], &[]);
    let client = Client::new();
    server.wait_for_health(&client).await;

    burst_of_cached_reads(&client, &server).await;
    // No wait for a collection: the exposition reads the cache's counters when scraped.
    let exposition = get_text(&client, &server, "/api/performance/metrics/prometheus").await;
    let stats = get_json(&client, &server, "/api/performance/cache/stats").await;

    assert_eq!(stats["hits"], BURST_HITS, "{stats}");
    assert_eq!(stats["misses"], BURST_MISSES, "{stats}");
    assert_eq!(sample(&exposition, "perfkit_cache_hits_total"), Some(BURST_HITS as f64));
    assert_eq!(sample(&exposition, "perfkit_cache_misses_total"), Some(BURST_MISSES as f64));
    assert_eq!(sample(&exposition, "cache_hit_rate"), stats["hitRate"].as_f64());
    assert_eq!(sample(&exposition, "cache_hit_rate"), Some(BURST_HIT_RATE));
    assert_eq!(sample(&exposition, "perfkit_cache_keys"), stats["keys"].as_f64());

    // The demo's warming figures, owned by its hot-key table: the same in `/cache/stats`,
    // `/dashboard` and the exposition (the eight pages counted; nothing warmed yet).
    let dashboard = get_json(&client, &server, "/api/performance/dashboard").await;
    for (field, family, expected) in [
        ("trackedKeys", "perfkit_cache_hot_keys_tracked", 8.0),
        ("untrackedReads", "perfkit_cache_hot_keys_untracked_reads_total", 0.0),
        ("runs", "perfkit_cache_warm_runs_total", 0.0),
        ("warmedKeys", "perfkit_cache_warmed_keys_total", 0.0),
        ("warmedHits", "perfkit_cache_warmed_hits_total", 0.0),
    ] {
        assert_eq!(stats["warming"][field].as_f64(), Some(expected), "{field}: {stats}");
        assert_eq!(dashboard["cache"]["warming"][field].as_f64(), Some(expected), "{field}");
        assert_eq!(sample(&exposition, family), Some(expected), "{family}");
    }
}

#[tokio::test]
async fn a_plain_server_exports_the_cache_families() {
    let server = Server::start(&[], &[]);
    let client = Client::new();
    server.wait_for_health(&client).await;
    let exposition = get_text(&client, &server, "/api/performance/metrics/prometheus").await;
    for family in [
        "cache_hit_rate",
        "perfkit_cache_hits_total",
        "perfkit_cache_misses_total",
        "perfkit_cache_keys",
        "perfkit_cache_bytes",
        "perfkit_cache_evictions_total",
        "perfkit_cache_errors_total",
    ] {
        assert!(sample(&exposition, family).is_some(), "{family} missing:\n{exposition}");
    }
}

/// Waits for a snapshot newer than `after` (an RFC 3339 timestamp, or none) and returns it.
async fn next_snapshot(client: &Client, server: &Server, after: Option<&str>) -> Value {
    let started = Instant::now();
    loop {
        let history = get_json(client, server, "/api/performance/history?limit=1").await;
        if let Some(latest) = history.as_array().and_then(|h| h.last())
            && after.is_none_or(|after| latest["timestamp"].as_str() > Some(after))
        {
            return latest.clone();
        }
        assert!(started.elapsed() < Duration::from_secs(20), "no new snapshot in 20 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn snapshot_summary_cache_stats_and_prometheus_give_one_hit_rate() {
    let mut config = tempfile::NamedTempFile::new().unwrap();
    writeln!(config, "[service]\ncollectInterval = \"2s\"\n\n[demo]\nenabled = true").unwrap();
    let server = Server::start(&["--config", config.path().to_str().unwrap()], &[]);
    let client = Client::new();
    server.wait_for_health(&client).await;

    // Every read falls inside one interval: right after one collection (seen within 50 ms),
    // well before the next (2 s later).
    let before = next_snapshot(&client, &server, None).await;
    let before = next_snapshot(&client, &server, before["timestamp"].as_str()).await;
    burst_of_cached_reads(&client, &server).await;
    let snapshot = next_snapshot(&client, &server, before["timestamp"].as_str()).await;

    let stats = get_json(&client, &server, "/api/performance/cache/stats").await;
    let summary = get_json(&client, &server, "/api/performance/summary").await;
    let exposition = get_text(&client, &server, "/api/performance/metrics/prometheus").await;
    let hit_rate = stats["hitRate"].as_f64().unwrap();
    assert!((hit_rate - BURST_HIT_RATE).abs() < 1e-9, "{stats}");
    assert_eq!(snapshot["cacheHitRate"].as_f64(), Some(hit_rate), "{snapshot}");
    assert_eq!(sample(&exposition, "cache_hit_rate"), Some(hit_rate));
    let summarized = &summary["snapshot"];
    if summarized["timestamp"] == snapshot["timestamp"] {
        assert_eq!(summarized["cacheHitRate"].as_f64(), Some(hit_rate), "{summary}");
    } else {
        // A later interval without reads has no hit rate rather than a made-up one.
        assert!(summarized["cacheHitRate"].is_null(), "{summary}");
    }
}
