//! SIGHUP reloads the alert rules, the inhibit rules and the optimizer config from the config
//! file without a restart; an invalid file is refused whole, logged, and the running config
//! stays. The real `perfkit-server` binary, signalled with `kill -HUP`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::{Duration, Instant};

use reqwest::Client;
use serde_json::Value;
use support::Server;

fn config(rule: &str, hit_rate_threshold: f64) -> String {
    format!(
        r#"
[optimizer.cacheOptimization]
hitRateThreshold = {hit_rate_threshold}

[[alerts.rules]]
name = "{rule}"
severity = "high"
kind = "threshold"
metric = "p95"
comparison = "above"
threshold = 500.0
for = "1m"

[[alerts.inhibitRules]]
sourceMatchers = [{{ label = "severity", anyOf = ["critical"] }}]
targetMatchers = [{{ label = "severity", anyOf = ["low"] }}]
"#
    )
}

async fn get(client: &Client, server: &Server, path: &str) -> Value {
    let url = server.url(&format!("/api/performance{path}"));
    client.get(url).send().await.unwrap().json().await.unwrap()
}

async fn in_force(client: &Client, server: &Server) -> (Vec<String>, f64) {
    let rules = get(client, server, "/alerts/rules").await;
    let names = rules["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|rule| rule["name"].as_str().unwrap().to_owned())
        .collect();
    let optimizer = get(client, server, "/optimization/config").await;
    (names, optimizer["cacheOptimization"]["hitRateThreshold"].as_f64().unwrap())
}

/// Waits until the server has logged `message` `count` times.
async fn logged(server: &Server, message: &str, count: usize) -> Value {
    let started = Instant::now();
    loop {
        let lines = server.log_lines(message);
        if lines.len() >= count {
            return lines[count - 1].clone();
        }
        assert!(
            started.elapsed() < support::PATIENCE,
            "{message:?} was not logged {count} time(s)"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn sighup_applies_a_valid_file_and_refuses_an_invalid_one_whole() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("perfkit.toml");
    std::fs::write(&path, config("slow_p95", 0.7)).unwrap();
    let server = Server::start(&["--config", path.to_str().unwrap()], &[]);
    let client = Client::new();
    assert_eq!(in_force(&client, &server).await, (vec!["slow_p95".to_owned()], 0.7));

    // A valid file: rules and optimizer config change together, without a restart.
    std::fs::write(&path, config("very_slow_p95", 0.5)).unwrap();
    server.signal("HUP");
    let line = logged(&server, "config reloaded", 1).await;
    assert_eq!(line["rules"], 1);
    assert_eq!(line["inhibit_rules"], 1);
    assert_eq!(in_force(&client, &server).await, (vec!["very_slow_p95".to_owned()], 0.5));

    // A bad rule beside a valid optimizer change: refused whole, neither applies.
    let bad_rule = config("", 0.6);
    std::fs::write(&path, bad_rule).unwrap();
    server.signal("HUP");
    let refused = logged(&server, "config reload refused", 1).await;
    assert!(refused["error"].as_str().unwrap().contains("name"), "{refused}");
    assert_eq!(in_force(&client, &server).await, (vec!["very_slow_p95".to_owned()], 0.5));

    // A bad optimizer value beside a valid rule change: refused whole too.
    std::fs::write(&path, config("other", 7.0)).unwrap();
    server.signal("HUP");
    let refused = logged(&server, "config reload refused", 2).await;
    assert!(refused["error"].as_str().unwrap().contains("hitRateThreshold"), "{refused}");
    assert_eq!(in_force(&client, &server).await, (vec!["very_slow_p95".to_owned()], 0.5));

    // Not TOML at all: refused, the server goes on serving.
    std::fs::write(&path, "[[alerts.rules]\n").unwrap();
    server.signal("HUP");
    logged(&server, "config reload refused", 3).await;
    assert_eq!(in_force(&client, &server).await, (vec!["very_slow_p95".to_owned()], 0.5));

    let (status, _) = server.terminate();
    assert!(status.success(), "{status}");
}
