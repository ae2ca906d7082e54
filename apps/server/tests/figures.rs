//! One owner per figure, seen from outside: the real server's endpoints and its Prometheus
//! exposition show the same cache figures at the same moment, with no wait for a collection,
//! and the snapshot's hit rate is the one the cache's counters give over its interval; the
//! same for availability, uptime, perfkit's own requests and the allocator's figures; the demo's
//! warming figures agree between `/cache/stats`, `/dashboard` and the exposition.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::io::Write;
use std::time::{Duration, Instant};

use reqwest::Client;
use serde_json::Value;
use support::Server;

/// The value of the sample of `family` whose labels include `label` (`prefix="demo:posts:"`).
fn labelled(exposition: &str, family: &str, label: &str) -> Option<f64> {
    exposition.lines().filter(|line| !line.starts_with('#')).find_map(|line| {
        let (name_and_labels, value) = line.rsplit_once(' ')?;
        let (name, labels) = name_and_labels.split_once('{')?;
        (name == family && labels.contains(label)).then(|| value.parse().ok()).flatten()
    })
}

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
    assert_eq!(sample(&exposition, "perfkit_cache_bytes"), stats["bytes"].as_f64());

    // Per key prefix (depth 2: `demo:posts:`), the same figures on every surface. The
    // dashboard's cache panel reads its document's `cache`.
    let dashboard = get_json(&client, &server, "/api/performance/dashboard").await;
    let cache = &dashboard["cache"];
    let posts = |stats: &Value| {
        stats["prefixes"].as_array().unwrap().iter().find(|p| p["prefix"] == "demo:posts:").cloned()
    };
    let from_stats = posts(&stats).unwrap_or_else(|| panic!("no demo:posts: prefix: {stats}"));
    assert_eq!(posts(cache), Some(from_stats.clone()), "{cache}");
    // Every demo read is a `demo:posts:page:` key (the pages and their post count).
    assert_eq!(from_stats["hits"], BURST_HITS, "{from_stats}");
    assert_eq!(from_stats["misses"], BURST_MISSES, "{from_stats}");
    assert_eq!(from_stats["keys"], 9, "{from_stats}");
    let label = r#"prefix="demo:posts:""#;
    for (family, field) in [
        ("perfkit_cache_prefix_hits_total", "hits"),
        ("perfkit_cache_prefix_misses_total", "misses"),
        ("perfkit_cache_prefix_keys", "keys"),
        ("perfkit_cache_prefix_hit_rate", "hitRate"),
    ] {
        assert_eq!(labelled(&exposition, family, label), from_stats[field].as_f64(), "{family}");
    }
    for field in ["hits", "misses", "keys", "bytes", "estimated"] {
        assert_eq!(cache[field], stats[field], "{field}");
    }
    assert_eq!(cache["hostCaches"], stats["hostCaches"]);

    // The demo's warming figures, owned by its hot-key table: the same in `/cache/stats`,
    // `/dashboard` and the exposition (the eight pages counted; nothing warmed yet).
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

/// The sum of every sample of `family` (all label sets).
fn sum(exposition: &str, family: &str) -> f64 {
    exposition
        .lines()
        .filter(|line| line.split(['{', ' ']).next() == Some(family))
        .filter_map(|line| line.rsplit_once(' ')?.1.parse::<f64>().ok())
        .sum()
}

/// The value of `family`'s sample with exactly `labels` (`window="interval"`).
#[tokio::test]
async fn availability_uptime_and_own_traffic_agree_across_the_surfaces() {
    let mut config = tempfile::NamedTempFile::new().unwrap();
    writeln!(config, "[service]\ncollectInterval = \"2s\"\n\n[demo]\nenabled = true").unwrap();
    let server = Server::start(&["--config", config.path().to_str().unwrap()], &[]);
    let client = Client::new();
    server.wait_for_health(&client).await;

    // The demo's 40 reads are the host's requests; every poll of the API here is perfkit's
    // own, so the intervals that hold the burst count exactly 40.
    let before = next_snapshot(&client, &server, None).await;
    let before = next_snapshot(&client, &server, before["timestamp"].as_str()).await;
    burst_of_cached_reads(&client, &server).await;
    let first = next_snapshot(&client, &server, before["timestamp"].as_str()).await;

    // At one moment (right after a collection, 2 s before the next): the snapshot, the
    // summary's targets, the dashboard and the exposition give one availability.
    let summary = get_json(&client, &server, "/api/performance/summary").await;
    let dashboard = get_json(&client, &server, "/api/performance/dashboard").await;
    let exposition = get_text(&client, &server, "/api/performance/metrics/prometheus").await;
    let snapshot = &summary["snapshot"];
    assert_eq!(snapshot["timestamp"], first["timestamp"], "read within one interval");
    let availability = snapshot["availability"].as_f64().expect("requests, so availability");
    assert_eq!(availability, 1.0, "no 5xx in the burst: {snapshot}");
    let target =
        summary["targets"].as_array().unwrap().iter().find(|t| t["metric"] == "availability");
    let target = target.expect("the availability target");
    assert_eq!(
        (target["value"].as_f64(), target["met"].as_bool()),
        (Some(availability), Some(true))
    );
    assert_eq!(target["target"], 0.999);
    assert_eq!(dashboard["summary"]["snapshot"]["availability"].as_f64(), Some(availability));
    assert_eq!(
        labelled(&exposition, "perfkit_availability_ratio", "window=\"interval\""),
        Some(availability)
    );
    assert_eq!(
        labelled(&exposition, "perfkit_availability_ratio", "window=\"cumulative\""),
        Some(1.0)
    );
    // Uptime: the exposition gives the start (a constant, so scrapes repeat), the snapshot
    // the seconds from it to the snapshot's time.
    let uptime = snapshot["uptime"].as_f64().unwrap();
    let started = sample(&exposition, "perfkit_start_time_seconds").unwrap();
    let taken: perfkit::core::Timestamp =
        serde_json::from_value(snapshot["timestamp"].clone()).unwrap();
    assert!(
        uptime > 0.0 && (started + uptime - taken.as_secs_f64()).abs() < 0.05,
        "{uptime} {started}"
    );
    // The summary says which interval it shows and when the next one closes.
    let interval = &summary["interval"];
    // (closed just after the snapshot's time was read, in the same collection)
    assert!(interval["end"].as_str() >= first["timestamp"].as_str(), "{summary}");
    assert!(interval["start"].as_str() < interval["end"].as_str(), "{summary}");
    assert!(summary["nextCloseAt"].as_str() > interval["end"].as_str(), "{summary}");

    let second = next_snapshot(&client, &server, first["timestamp"].as_str()).await;
    let counted =
        first["requestCount"].as_f64().unwrap() + second["requestCount"].as_f64().unwrap();
    assert_eq!(counted, 40.0, "the burst, and none of the API's polls: {first} {second}");

    // perfkit's own requests: the application figures and the exposition read in turn
    // agree, the scrape counting the application read before it (each request is counted
    // once answered).
    let application = get_json(&client, &server, "/api/performance/metrics/application").await;
    let exposition = get_text(&client, &server, "/api/performance/metrics/prometheus").await;
    let own = application["own"]["requests"].as_f64().unwrap();
    assert!(own > 10.0, "{application}");
    assert_eq!(sum(&exposition, "perfkit_own_requests_total"), own + 1.0);
    assert_eq!(
        sum(&exposition, "http_requests_total"),
        application["requests"]["total"].as_f64().unwrap()
    );
    assert_eq!(application["requests"]["total"], 40, "only the burst is the host's");

    // The allocator's figures: /metrics/system's process section and the exposition name
    // the same one (the figures move with every allocation, so only presence is compared).
    let system = get_json(&client, &server, "/api/performance/metrics/system").await;
    assert_eq!(system["process"]["heap"]["allocator"], "mimalloc", "{system}");
    assert!(system["process"]["heap"]["residentBytes"].as_u64().unwrap() > 0);
    assert!(
        labelled(&exposition, "perfkit_heap_resident_bytes", "allocator=\"mimalloc\"").is_some()
    );
}
