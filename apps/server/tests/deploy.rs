//! `deploy/`: the Prometheus rules checked and unit-tested by promtool, and a real Prometheus
//! (Debian's `prometheus` binary) scraping a real perfkit-server, where every expression of
//! every panel of `deploy/grafana/perfkit.json` must answer with data.
//!
//! Both need the `prometheus` package (`cargo xtask ci` installs it); where its programs are
//! absent, the tests say so and pass, as the only tests of the suite that do.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use reqwest::Client;
use serde_json::Value;
use support::prometheus::{Prometheus, program, query, start_prometheus};
use support::{PATIENCE, Server};

fn deploy() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy")
}

fn run(command: &mut Command) -> String {
    let output = command.output().expect("run promtool");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{command:?} failed:\n{text}");
    text
}

#[test]
fn promtool_checks_the_config_and_rules_and_their_unit_tests_pass() {
    let Some(promtool) = program("promtool") else { return };
    let dir = deploy().join("prometheus");
    let checked = run(Command::new(&promtool).current_dir(&dir).args([
        "check",
        "rules",
        "perfkit-rules.yml",
    ]));
    assert!(checked.contains("SUCCESS: 9 rules found"), "{checked}");
    run(Command::new(&promtool).current_dir(&dir).args(["check", "config", "prometheus.yml"]));
    let tested = run(Command::new(&promtool).current_dir(&dir).args([
        "test",
        "rules",
        "perfkit-rules.test.yml",
    ]));
    assert!(tested.contains("SUCCESS"), "{tested}");
}

/// Every target expression of every panel, with Grafana's `$__rate_interval` made concrete.
fn panel_expressions() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(deploy().join("grafana/perfkit.json")).unwrap();
    let dashboard: Value = serde_json::from_str(&text).unwrap();
    let mut expressions = Vec::new();
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().unwrap() {
            let expr = target["expr"].as_str().unwrap().replace("$__rate_interval", "10s");
            assert!(!expr.contains('$'), "a Grafana variable the test does not know: {expr}");
            expressions.push((panel["title"].as_str().unwrap().to_owned(), expr));
        }
    }
    expressions
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_grafana_panel_has_data_from_a_real_prometheus_scraping_the_server() {
    let Some(binary) = program("prometheus") else { return };
    let expressions = panel_expressions();
    assert!(expressions.len() >= 9, "{expressions:?}");
    // Traces on, for the trace export panel: spans to a receiver of this test.
    let collector =
        perfkit_testing::OtlpReceiver::start(perfkit_testing::OtlpAnswer::Accept).unwrap();
    let endpoint = collector.base_url();
    let server = Server::start(&["--demo"], &[("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str())]);
    let client = Client::new();
    server.wait_for_health(&client).await;
    let target = server.base.trim_start_matches("http://").to_owned();
    let prometheus = start_prometheus(&binary, &target);

    // Traffic for the panels: demo reads (cache misses, then hits), a 404, while Prometheus
    // scrapes every second; then every expression must answer with at least one series.
    let started = Instant::now();
    let mut missing: Vec<(String, String)> = expressions.clone();
    let mut round = 0_u32;
    while !missing.is_empty() && started.elapsed() < PATIENCE * 2 {
        round += 1;
        for page in 1..=3 {
            let url = server.url(&format!("/api/posts?page={page}&limit=5"));
            assert!(client.get(url).send().await.unwrap().status().is_success());
        }
        let url = server.url(&format!("/api/users/{}/posts", round % 5 + 1));
        assert!(client.get(url).send().await.unwrap().status().is_success());
        // A 4xx of the host's (perfkit's own answers are counted apart, not here).
        let _ = client.get(server.url("/api/users/not-a-number/posts")).send().await;
        let mut still = Vec::new();
        for (title, expr) in missing {
            let ready = client.get(format!("{}/-/ready", prometheus.base)).send().await;
            if !ready.is_ok_and(|r| r.status().is_success()) {
                still.push((title, expr));
                continue;
            }
            let samples = query(&client, &prometheus, &expr).await;
            let has_number = samples.iter().any(|s| {
                s["value"][1].as_str().is_some_and(|v| v.parse::<f64>().is_ok_and(f64::is_finite))
            });
            if !has_number {
                still.push((title, expr));
            }
        }
        missing = still;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(
        missing.is_empty(),
        "panels whose expression returned no data after {:?}: {missing:#?}",
        started.elapsed()
    );
    println!(
        "{} panel expressions answered with data after {:?}",
        expressions.len(),
        started.elapsed()
    );
}

/// The single value of an instant query, `None` while Prometheus has no such series.
async fn instant(client: &Client, prometheus: &Prometheus, expr: &str) -> Option<f64> {
    let samples = query(client, prometheus, expr).await;
    samples.first().and_then(|s| s["value"][1].as_str()).and_then(|v| v.parse().ok())
}

/// The demo's business series in `/metrics/application`, by name and optional label.
fn business<'a>(application: &'a Value, name: &str, label: Option<(&str, &str)>) -> &'a Value {
    application["business"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| {
            s["name"] == name && label.is_none_or(|(k, v)| s["labels"][k].as_str() == Some(v))
        })
        .unwrap_or_else(|| panic!("{name} missing from {application}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_and_perfkit_agree_on_the_demo_s_business_series() {
    let Some(binary) = program("prometheus") else { return };
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("perfkit.toml");
    std::fs::write(&config, "[service]\ncollectInterval = \"2s\"\n").unwrap();
    let server = Server::start(&["--demo", "--config", config.to_str().unwrap()], &[]);
    let client = Client::new();
    server.wait_for_health(&client).await;
    let prometheus = start_prometheus(&binary, server.base.trim_start_matches("http://"));

    // Posts at a steady 5 per second for 12 s, every body between 300 and 900 bytes: one
    // bucket (256, 1024], so any interval's P95 interpolates to the same 985.6 bytes, in
    // perfkit's estimate and in histogram_quantile() alike, however the intervals fall.
    let mut created = 0_u32;
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(12) {
        let body = "x".repeat(300 + (created as usize * 37) % 600);
        let post = serde_json::json!({ "title": format!("post {created}"), "body": body });
        let url = server.url(&format!("/api/users/{}/posts", created % 5 + 1));
        assert!(client.post(url).json(&post).send().await.unwrap().status().is_success());
        created += 1;
        let url = server.url(&format!("/api/posts?page={}&limit=5", created % 8 + 1));
        assert!(client.get(url).send().await.unwrap().status().is_success());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // While still fresh: both rates near the 5 per second the loop made.
    let perfkit_rate = {
        let application = server.get_json(&client, "/api/performance/metrics/application").await;
        business(&application, "demo_posts_created", None)["ratePerSecond"].as_f64().unwrap()
    };
    let prometheus_rate =
        instant(&client, &prometheus, "rate(demo_posts_created_total[6s])").await.unwrap();
    let made = f64::from(created) / started.elapsed().as_secs_f64();
    for (who, rate) in [("perfkit", perfkit_rate), ("prometheus", prometheus_rate)] {
        assert!((rate - made).abs() / made < 0.35, "{who} says {rate}/s, the loop made {made}/s");
    }

    // At rest, after a collection and a scrape: the same totals and the same P95.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let application = server.get_json(&client, "/api/performance/metrics/application").await;
    let posts = business(&application, "demo_posts_created", None);
    assert_eq!(posts["value"].as_f64(), Some(f64::from(created)));
    let total = instant(&client, &prometheus, "demo_posts_created_total").await;
    assert_eq!(total, Some(f64::from(created)), "Prometheus's total");
    let reads = instant(&client, &prometheus, "sum(demo_page_reads_total)").await.unwrap();
    let perfkit_reads: f64 = application["business"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["name"] == "demo_page_reads")
        .map(|s| s["value"].as_f64().unwrap())
        .sum();
    assert_eq!(reads, perfkit_reads);
    let deep = business(&application, "demo_page_reads", Some(("depth", "6+")));
    assert!(deep["value"].as_f64().unwrap() > 0.0);

    let quantile = "histogram_quantile(0.95, demo_post_body_bytes_bucket)";
    let prometheus_p95 = instant(&client, &prometheus, quantile).await.unwrap();
    let history = server.get_json(&client, "/api/performance/history?limit=100").await;
    let p95s: Vec<f64> = history
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|snapshot| snapshot["business"].as_array().cloned().unwrap_or_default())
        .filter(|s| s["name"] == "demo_post_body_bytes")
        .filter_map(|s| s["p95"].as_f64())
        .collect();
    assert!(!p95s.is_empty(), "no interval of the history has the body sizes' P95");
    for p95 in p95s {
        assert!(
            (p95 - prometheus_p95).abs() < 1e-6,
            "perfkit {p95} vs histogram_quantile {prometheus_p95}"
        );
    }
    assert!((prometheus_p95 - 985.6).abs() < 1e-6, "{prometheus_p95}");
}
