//! From a figure to a trace, with real parts: the server traces every request (ratio 1.0) to an
//! OTLP receiver, a real Prometheus with `--enable-feature=exemplar-storage` scrapes it (asking
//! for OpenMetrics, as Prometheus does by itself), and `query_exemplars` returns exemplars on
//! the request-duration buckets whose trace and span ids the receiver got as spans; and a
//! route's slow trace is one figure in the JSON route figures, the dashboard's document and
//! the exposition's highest bucket.
//!
//! The first needs the `prometheus` package (`cargo xtask ci` installs it); where it is absent
//! the test says so and passes, as the deploy tests do.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeSet;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use perfkit_testing::{OtlpAnswer, OtlpReceiver};
use reqwest::Client;
use serde_json::Value;
use support::prometheus::{Prometheus, program, start_prometheus_with};
use support::{PATIENCE, Server};

/// Every exemplar Prometheus holds for the request-duration buckets, with its series' route.
async fn exemplars(client: &Client, prometheus: &Prometheus) -> Vec<(String, Value)> {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs_f64();
    let answer: Value = client
        .get(format!("{}/api/v1/query_exemplars", prometheus.base))
        .query(&[
            ("query", "http_request_duration_seconds_bucket"),
            ("start", &format!("{}", now - 600.0)),
            ("end", &format!("{}", now + 60.0)),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["status"], "success", "{answer}");
    answer["data"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .flat_map(|series| {
            let route = series["seriesLabels"]["route"].as_str().unwrap_or_default().to_owned();
            let kept = series["exemplars"].as_array().cloned().unwrap_or_default();
            kept.into_iter().map(move |exemplar| (route.clone(), exemplar))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_keeps_exemplars_whose_traces_the_collector_received() {
    let Some(binary) = program("prometheus") else { return };
    let receiver = OtlpReceiver::start(OtlpAnswer::Accept).unwrap();
    let endpoint = receiver.base_url();
    let server = Server::start(
        &["--demo"],
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
            ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"),
            ("OTEL_TRACES_SAMPLER_ARG", "1.0"),
        ],
    );
    let client = Client::new();
    server.wait_for_health(&client).await;

    // What Prometheus is offered when it asks as it does: OpenMetrics, with exemplars.
    let prometheus_accept = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
    assert!(
        client
            .get(server.url("/api/posts?page=1&limit=5"))
            .send()
            .await
            .unwrap()
            .status()
            .is_success()
    );
    let answer = client
        .get(server.url("/api/performance/metrics/prometheus"))
        .header("accept", prometheus_accept)
        .send()
        .await
        .unwrap();
    let content_type = answer.headers()["content-type"].to_str().unwrap().to_owned();
    assert_eq!(content_type, "application/openmetrics-text; version=1.0.0; charset=utf-8");
    let text = answer.text().await.unwrap();
    assert!(text.ends_with("# EOF\n"), "{text}");
    assert!(text.contains("route=\"/api/posts\"") && text.contains(" # {trace_id=\""), "{text}");
    let plain = client.get(server.url("/api/performance/metrics/prometheus")).send().await.unwrap();
    assert!(
        plain.headers()["content-type"].to_str().unwrap().starts_with("text/plain; version=0.0.4")
    );
    assert!(!plain.text().await.unwrap().contains("# EOF"));

    let target = server.base.trim_start_matches("http://").to_owned();
    let prometheus = start_prometheus_with(&binary, &target, &["exemplar-storage"]);
    let started = Instant::now();
    let mut kept = Vec::new();
    let mut round = 0_u32;
    while started.elapsed() < PATIENCE * 2 {
        round += 1;
        let url = server.url(&format!("/api/posts?page={}&limit=5", round % 4 + 1));
        assert!(client.get(url).send().await.unwrap().status().is_success());
        let url = server.url(&format!("/api/users/{}/posts", round % 5 + 1));
        assert!(client.get(url).send().await.unwrap().status().is_success());
        let ready = client.get(format!("{}/-/ready", prometheus.base)).send().await;
        if ready.is_ok_and(|r| r.status().is_success()) {
            kept = exemplars(&client, &prometheus).await;
            if kept.iter().any(|(route, _)| route == "/api/posts") && round > 20 {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        kept.iter().any(|(route, _)| route == "/api/posts"),
        "no exemplar of /api/posts after {:?}: {kept:?}\n{}",
        started.elapsed(),
        prometheus.log()
    );
    drop(prometheus);
    // The flush at SIGTERM sends every span still queued.
    let (status, _) = server.terminate();
    assert!(status.success(), "{status}");

    let received: BTreeSet<(String, String)> =
        receiver.spans().iter().map(|span| (span.trace_id(), span.span_id())).collect();
    for (route, exemplar) in &kept {
        let labels = &exemplar["labels"];
        let trace = labels["trace_id"].as_str().unwrap_or_else(|| panic!("{exemplar}"));
        let span = labels["span_id"].as_str().unwrap_or_else(|| panic!("{exemplar}"));
        assert_eq!((trace.len(), span.len()), (32, 16), "{exemplar}");
        assert!(
            received.contains(&(trace.to_owned(), span.to_owned())),
            "the exemplar of {route} names a span the collector never received: {exemplar}"
        );
        let seconds: f64 = exemplar["value"].as_str().unwrap().parse().unwrap();
        assert!(seconds > 0.0 && seconds < 10.0, "{exemplar}");
    }
    println!("{} exemplars, every one a received span, after {:?}", kept.len(), started.elapsed());
}

/// The trace id of the exemplar on the highest bucket of `route` that has one, in an
/// OpenMetrics exposition.
fn slowest_exemplar_of(exposition: &str, route: &str) -> Option<String> {
    let prefix = format!("http_request_duration_seconds_bucket{{route=\"{route}\",");
    exposition
        .lines()
        .filter(|line| line.starts_with(&prefix))
        .rev()
        .find_map(|line| line.split_once(" # {trace_id=\"").map(|(_, rest)| rest[..32].to_owned()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_route_s_slow_trace_is_one_figure_in_json_dashboard_and_exposition() {
    let receiver = OtlpReceiver::start(OtlpAnswer::Accept).unwrap();
    let endpoint = receiver.base_url();
    let server = Server::start(&["--demo"], &[("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str())]);
    let client = Client::new();
    server.wait_for_health(&client).await;
    for page in 1..=12 {
        let url = server.url(&format!("/api/posts?page={page}&limit=5"));
        assert!(client.get(url).send().await.unwrap().status().is_success());
    }
    // At rest: nothing records on /api/posts between the three reads.
    let application = server.get_json(&client, "/api/performance/metrics/application").await;
    let dashboard = server.get_json(&client, "/api/performance/dashboard").await;
    let exposition = client
        .get(server.url("/api/performance/metrics/prometheus"))
        .header("accept", "application/openmetrics-text; version=1.0.0")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let trace_of = |figures: &Value| {
        let routes = figures["routes"]["slowest"].as_array().unwrap().clone();
        let posts = routes.into_iter().find(|r| r["route"] == "/api/posts").unwrap();
        posts["slowTraceId"].as_str().map(str::to_owned)
    };
    let json = trace_of(&application).expect("a slow trace for /api/posts");
    assert_eq!(trace_of(&dashboard["metrics"]["application"]), Some(json.clone()));
    assert_eq!(slowest_exemplar_of(&exposition, "/api/posts"), Some(json.clone()), "{exposition}");
    assert_eq!(dashboard["traceUrl"], Value::Null, "no template configured");
    let (status, _) = server.terminate();
    assert!(status.success());
    assert!(
        receiver.spans().iter().any(|s| s.trace_id() == json && s.span.name == "GET /api/posts"),
        "the slow trace {json} is a request span the collector received"
    );
}
