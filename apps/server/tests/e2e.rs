//! End to end: the real `perfkit-server` binary on a free loopback port, each of the guide's
//! 22 endpoints called over HTTP, the demo's cache-aside visible in the cache statistics, the
//! Prometheus exposition checked by `promtool`, and a clean exit on SIGTERM; once on the
//! in-memory cache and once on a private redis-server.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use perfkit_testing::{RedisServer, unique_namespace};
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};
use support::{Server, redis_command};

const TOKEN: &str = "e2e-admin-token-0123456789abcdef";

/// One of the guide's endpoints: how to call it, and whether it needs the admin token.
struct Endpoint {
    method: Method,
    path: &'static str,
    body: Option<Value>,
    admin: bool,
}

fn endpoint(method: Method, path: &'static str, admin: bool) -> Endpoint {
    Endpoint { method, path, body: None, admin }
}

/// The guide's 22 endpoints, in the guide's order. Row 17 (PUT /optimization/config) sends back
/// the config that row 16 read.
fn seed_endpoints(optimizer_config: Value) -> Vec<Endpoint> {
    use Method as M;
    vec![
        endpoint(M::GET, "/summary", false),
        endpoint(M::GET, "/metrics", false),
        endpoint(M::GET, "/metrics/system", false),
        endpoint(M::GET, "/metrics/application", false),
        endpoint(M::GET, "/metrics/prometheus", false),
        endpoint(M::GET, "/report", false),
        endpoint(M::GET, "/history?limit=100", false),
        endpoint(M::GET, "/cache/stats", false),
        endpoint(M::DELETE, "/cache", true),
        Endpoint {
            body: Some(json!({ "pattern": "user" })),
            ..endpoint(M::DELETE, "/cache/pattern", true)
        },
        endpoint(M::POST, "/cache/optimize", true),
        endpoint(M::GET, "/optimization/history?limit=50", false),
        endpoint(M::GET, "/optimization/recommendations", false),
        endpoint(M::POST, "/optimization/run", true),
        endpoint(M::POST, "/optimization/force", true),
        endpoint(M::GET, "/optimization/config", false),
        Endpoint { body: Some(optimizer_config), ..endpoint(M::PUT, "/optimization/config", true) },
        Endpoint {
            body: Some(json!({ "enabled": true })),
            ..endpoint(M::PUT, "/optimization/auto", true)
        },
        endpoint(M::GET, "/dashboard", false),
        endpoint(M::DELETE, "/alerts", true),
        endpoint(M::DELETE, "/metrics", true),
        endpoint(M::GET, "/health", false),
    ]
}

/// A client whose requests fail, rather than hang, when the server stops answering.
fn client() -> Client {
    Client::builder().timeout(support::PATIENCE).build().unwrap()
}

async fn call(
    client: &Client,
    server: &Server,
    endpoint: &Endpoint,
    token: Option<&str>,
) -> (StatusCode, String) {
    let url = server.url(&format!("/api/performance{}", endpoint.path));
    let mut request = client.request(endpoint.method.clone(), url);
    if let Some(body) = &endpoint.body {
        request = request.json(body);
    }
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("request sent");
    let status = response.status();
    (status, response.text().await.unwrap())
}

async fn get_json(client: &Client, server: &Server, path: &str) -> Value {
    let response = client.get(server.url(path)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "GET {path}");
    response.json().await.unwrap()
}

async fn cache_stats(client: &Client, server: &Server) -> Value {
    get_json(client, server, "/api/performance/cache/stats").await
}

fn count(stats: &Value, field: &str) -> u64 {
    stats[field].as_u64().unwrap_or_else(|| panic!("cache stats without {field}: {stats}"))
}

/// Every seed endpoint answers; every admin one refuses a missing or wrong token with 401.
async fn every_seed_endpoint_answers(client: &Client, server: &Server, token: &str) {
    let optimizer_config = get_json(client, server, "/api/performance/optimization/config").await;
    let endpoints = seed_endpoints(optimizer_config);
    assert_eq!(endpoints.len(), 22, "the guide has 22 endpoints");
    for endpoint in &endpoints {
        let shown = format!("{} {}", endpoint.method, endpoint.path);
        if endpoint.admin {
            for wrong in [None, Some("wrong-token")] {
                let (status, body) = call(client, server, endpoint, wrong).await;
                assert_eq!(status, StatusCode::UNAUTHORIZED, "{shown} with {wrong:?}: {body}");
                let error: Value = serde_json::from_str(&body).unwrap();
                assert!(error["error"]["code"].is_string(), "{shown}: {body}");
            }
        }
        let (status, body) = call(client, server, endpoint, Some(token)).await;
        assert!(status.is_success(), "{shown} answered {status}: {body}");
    }

    let (status, body) =
        call(client, server, &endpoint(Method::GET, "/history?limit=0", false), None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "history limit 0: {body}");
}

/// Two reads of the same page: a miss, then a hit that the cache statistics count.
async fn demo_reads_are_cached(client: &Client, server: &Server) {
    let before = count(&cache_stats(client, server).await, "hits");
    let mut seen = Vec::new();
    for _ in 0..2 {
        let response = client.get(server.url("/api/posts?page=2&limit=5")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        seen.push(response.headers()["x-cache"].to_str().unwrap().to_owned());
        let page: Value = response.json().await.unwrap();
        assert_eq!(page["posts"].as_array().unwrap().len(), 5, "{page}");
    }
    assert_eq!(seen, ["miss", "hit"]);
    let after = count(&cache_stats(client, server).await, "hits");
    assert!(after > before, "cache hits did not move: {before} -> {after}");

    let response = client.get(server.url("/api/users/7/posts")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let posts: Value = response.json().await.unwrap();
    assert!(posts.as_array().unwrap().iter().all(|post| post["userId"] == 7), "{posts}");

    for (path, status, code) in [
        ("/api/posts?page=1&limit=0", StatusCode::UNPROCESSABLE_ENTITY, "out_of_range"),
        ("/api/posts?page=x", StatusCode::BAD_REQUEST, "invalid_query"),
        ("/api/users/1001/posts", StatusCode::NOT_FOUND, "not_found"),
    ] {
        let response = client.get(server.url(path)).send().await.unwrap();
        assert_eq!(response.status(), status, "{path}");
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["error"]["code"], code, "{path}: {error}");
    }
}

/// A refused DELETE /cache changes nothing; an authorised one empties the cache.
async fn clearing_the_cache_needs_the_token(client: &Client, server: &Server, token: &str) {
    client.get(server.url("/api/posts?page=3&limit=5")).send().await.unwrap();
    // On Redis the namespace's keys are counted by an incremental SCAN: a pass may take a
    // few refreshes to see the new key.
    let started = std::time::Instant::now();
    let mut keys = count(&cache_stats(client, server).await, "keys");
    while keys == 0 && started.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(100)).await;
        keys = count(&cache_stats(client, server).await, "keys");
    }
    assert!(keys > 0, "the demo read left no key");
    let url = server.url("/api/performance/cache");
    let refused = client.delete(&url).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(count(&cache_stats(client, server).await, "keys"), keys, "a refused clear cleared");
    let cleared = client.delete(&url).bearer_auth(token).send().await.unwrap();
    assert!(cleared.status().is_success(), "{}", cleared.status());
}

/// Whether `promtool check metrics` accepts the exposition; the verdict is asserted after
/// the other checks, so one run reports every failure.
async fn promtool_verdict(client: &Client, server: &Server) -> Result<(), String> {
    let response =
        client.get(server.url("/api/performance/metrics/prometheus")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(content_type.starts_with("text/plain; version=0.0.4"), "{content_type}");
    let text = response.text().await.unwrap();
    assert!(text.contains("/api/posts"), "the demo route is not in the exposition");
    let mut promtool = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| {
            panic!(
                "cannot run promtool ({error}): install the Debian package `prometheus` \
                 (apt-get install prometheus), which provides it"
            )
        });
    promtool.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let output = promtool.wait_with_output().unwrap();
    if output.status.success() {
        return Ok(());
    }
    Err(format!(
        "promtool check metrics failed:\n{}{}\n--- exposition ---\n{text}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    ))
}

/// `/info` names this binary's build, and the exposition's `perfkit_build_info` the same one,
/// beside the tokio runtime's figures.
async fn info_and_the_exposition_name_one_build(client: &Client, server: &Server) {
    let info = get_json(client, server, "/api/performance/info").await;
    assert_eq!(info["name"], "perfkit-server", "{info}");
    assert_eq!(info["version"], env!("CARGO_PKG_VERSION"), "{info}");
    let rustc = info["rustc"].as_str().unwrap();
    assert!(rustc.starts_with("rustc "), "{info}");
    let commit = info["gitCommit"].as_str().unwrap();
    assert!(!commit.is_empty(), "{info}");
    assert!(info["buildTime"].as_str().unwrap().ends_with('Z'), "{info}");
    assert!(info["startTime"].as_str().unwrap().ends_with('Z'), "{info}");
    assert!(info["uptimeSeconds"].is_u64(), "{info}");
    // The test starts the server with flags and no config file.
    assert_eq!(info["configSource"], "environment and flags", "{info}");
    let features = info["features"].as_array().unwrap();
    assert_eq!(features.contains(&json!("demo")), cfg!(feature = "demo"), "{info}");

    let response =
        client.get(server.url("/api/performance/metrics/prometheus")).send().await.unwrap();
    let text = response.text().await.unwrap();
    let version = env!("CARGO_PKG_VERSION");
    let build_info = format!(
        r#"perfkit_build_info{{version="{version}",git_commit="{commit}",rustc="{rustc}"}} 1"#
    );
    assert!(text.lines().any(|line| line == build_info), "no `{build_info}` in:\n{text}");
    assert!(text.contains("# TYPE perfkit_build_info gauge"), "{text}");
    for (family, kind) in [
        ("tokio_workers", "gauge"),
        ("tokio_alive_tasks", "gauge"),
        ("tokio_global_queue_depth", "gauge"),
        ("tokio_worker_busy_seconds_total", "counter"),
    ] {
        assert!(text.contains(&format!("# HELP {family} ")), "{family} has no HELP");
        assert!(text.contains(&format!("# TYPE {family} {kind}\n")), "{family} is no {kind}");
        assert!(text.lines().any(|line| line.starts_with(&format!("{family} "))), "{family}");
    }
    let system = get_json(client, server, "/api/performance/metrics/system").await;
    assert!(system["runtime"]["workers"].as_u64().unwrap() >= 1, "{system}");
}

/// SIGTERM: the process drains, stops the service, logs it and exits 0.
fn stops_cleanly_on_sigterm(server: Server) {
    let (status, logs) = server.terminate();
    assert!(status.success(), "exit after SIGTERM: {status}");
    let messages: Vec<&str> = logs.iter().filter_map(|line| line["message"].as_str()).collect();
    assert!(messages.iter().any(|m| m.starts_with("shutting down")), "{messages:?}");
    assert_eq!(messages.last().copied(), Some("perfkit-server stopped"), "{messages:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_endpoint_on_the_memory_cache() {
    let server = Server::start(&["--demo"], &[("PERFKIT_ADMIN_TOKEN", TOKEN)]);
    assert!(server.log_lines("no admin token configured").is_empty());
    let client = client();
    server.wait_for_health(&client).await;

    demo_reads_are_cached(&client, &server).await;
    let promtool = promtool_verdict(&client, &server).await;
    info_and_the_exposition_name_one_build(&client, &server).await;
    clearing_the_cache_needs_the_token(&client, &server, TOKEN).await;
    // The clear emptied the cache, then the demo warmed its hottest keys back, counted.
    let stats = cache_stats(&client, &server).await;
    let warmed = stats["warming"]["lastRun"]["warmed"].as_u64().unwrap_or(0);
    assert_eq!(stats["warming"]["lastRun"]["reason"], "afterClear", "{stats}");
    assert_eq!(count(&stats, "keys"), warmed, "{stats}");
    every_seed_endpoint_answers(&client, &server, TOKEN).await;
    let page = client.get(server.url("/")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);

    stops_cleanly_on_sigterm(server);
    promtool.unwrap_or_else(|failure| panic!("{failure}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_endpoint_on_redis_leaving_other_keys_alone() {
    let redis = RedisServer::start_private();
    let namespace = format!("{}:", unique_namespace("server-e2e"));
    assert_eq!(redis_command(redis.port(), &["SET", "other:x", "keep me"]), "+OK");
    // The history is persisted in the cache's reserved sub-namespace.
    let mut config = tempfile::NamedTempFile::new().unwrap();
    // Warming off: here a clear must leave no demo key (the memory test checks warming's).
    writeln!(config, "[service]\npersistHistory = true\n\n[demo]\nwarmKeys = 0").unwrap();
    let config_path = config.path().to_str().unwrap().to_owned();
    let server = Server::start(
        &[
            "--demo",
            "--redis-url",
            redis.url(),
            "--namespace",
            &namespace,
            "--config",
            &config_path,
            // Named, so its persisted history has a key this test knows.
            "--instance-id",
            "e2e-1",
        ],
        &[],
    );
    // No token configured: one was generated and logged, once.
    let announced = server.log_lines("no admin token configured");
    assert_eq!(announced.len(), 1, "{announced:?}");
    let token = announced[0]["admin_token"].as_str().unwrap().to_owned();
    assert_eq!(token.len(), 64);
    let client = client();
    server.wait_for_health(&client).await;
    let stats = cache_stats(&client, &server).await;
    assert_eq!(stats["backend"], "redis");
    // On by default with Redis: the near cache reports its front.
    assert!(stats["near"]["maxBytes"].as_u64().is_some_and(|n| n > 0), "{stats}");

    demo_reads_are_cached(&client, &server).await;
    let demo_key = format!("{namespace}demo:posts:page:2:limit:5");
    assert_eq!(redis_command(redis.port(), &["EXISTS", &demo_key]), ":1", "{demo_key}");
    let promtool = promtool_verdict(&client, &server).await;
    let history_key = format!("{namespace}{}history:e2e-1", perfkit::cache::RESERVED_PREFIX);
    assert_eq!(redis_command(redis.port(), &["EXISTS", &history_key]), ":1", "{history_key}");
    clearing_the_cache_needs_the_token(&client, &server, &token).await;
    assert_eq!(redis_command(redis.port(), &["EXISTS", &demo_key]), ":0");
    // perfkit's own keys are not the application's cache: the history survives.
    assert_eq!(redis_command(redis.port(), &["EXISTS", &history_key]), ":1", "history cleared");
    assert_eq!(redis_command(redis.port(), &["GET", "other:x"]), "$7");
    every_seed_endpoint_answers(&client, &server, &token).await;
    assert_eq!(redis_command(redis.port(), &["EXISTS", "other:x"]), ":1");

    stops_cleanly_on_sigterm(server);
    promtool.unwrap_or_else(|failure| panic!("{failure}"));
}
