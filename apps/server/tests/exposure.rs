//! Safe to expose, on the real binary: every admin action leaves an audit line (what, from
//! where, when) and the token appears in no log line after start-up and in no response;
//! failed logins from one address are limited (429 with `Retry-After`); CORS answers only
//! the configured origins; every response is `nosniff` with a Content-Security-Policy.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use reqwest::{Client, Method, StatusCode};
use serde_json::Value;
use support::Server;

const TOKEN: &str = "configured-admin-token-7f3a9c2e5b";

/// Every admin action of the API, with a body that it accepts.
async fn admin_actions(
    client: &Client,
    server: &Server,
) -> Vec<(Method, &'static str, Option<Value>)> {
    let get = |path: &'static str| {
        let request = client.get(server.url(path)).bearer_auth(TOKEN).send();
        async move { request.await.unwrap().json::<Value>().await.unwrap() }
    };
    let rules = get("/api/performance/alerts/rules").await;
    let config = get("/api/performance/optimization/config").await;
    vec![
        (Method::DELETE, "/api/performance/alerts", None),
        (Method::PUT, "/api/performance/alerts/rules", Some(rules)),
        (Method::DELETE, "/api/performance/cache", None),
        (
            Method::DELETE,
            "/api/performance/cache/pattern",
            Some(serde_json::json!({"pattern": "user:"})),
        ),
        (Method::POST, "/api/performance/cache/optimize", None),
        (Method::DELETE, "/api/performance/metrics", None),
        (Method::POST, "/api/performance/optimization/run", None),
        (Method::POST, "/api/performance/optimization/force", None),
        (Method::PUT, "/api/performance/optimization/config", Some(config)),
        (
            Method::PUT,
            "/api/performance/optimization/auto",
            Some(serde_json::json!({"enabled": false})),
        ),
    ]
}

async fn send(
    client: &Client,
    server: &Server,
    (method, path, body): &(Method, &'static str, Option<Value>),
    token: &str,
) -> (StatusCode, reqwest::header::HeaderMap, String) {
    let mut request = client.request(method.clone(), server.url(path)).bearer_auth(token);
    if let Some(body) = body {
        request = request.json(body);
    }
    let response = request.send().await.unwrap();
    let (status, headers) = (response.status(), response.headers().clone());
    (status, headers, response.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_admin_action_is_audited_and_the_token_is_never_shown() {
    let server = Server::start(&[], &[("PERFKIT_ADMIN_TOKEN", TOKEN)]);
    let client = Client::new();
    server.wait_for_health(&client).await;
    let actions = admin_actions(&client, &server).await;
    let mut bodies = String::new();
    for action in &actions {
        let (status, headers, body) = send(&client, &server, action, TOKEN).await;
        assert_eq!(status, 200, "{} {}: {body}", action.0, action.1);
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert!(
            headers["content-security-policy"].to_str().unwrap().contains("default-src 'none'")
        );
        bodies.push_str(&body);
        bodies.push_str(&format!("{headers:?}"));
    }
    // A refused one is audited too.
    let (status, _, body) = send(&client, &server, &actions[0], "not-the-token").await;
    assert_eq!(status, 401);
    bodies.push_str(&body);
    for path in [
        "/api/performance/metrics",
        "/api/performance/health",
        "/api/performance/openapi.json",
        "/",
    ] {
        bodies.push_str(&client.get(server.url(path)).send().await.unwrap().text().await.unwrap());
    }

    std::thread::sleep(std::time::Duration::from_millis(200)); // let the log reader catch up
    let audited = server.log_lines("admin action");
    let allowed: Vec<&Value> = audited.iter().filter(|l| l["message"] == "admin action").collect();
    assert_eq!(allowed.len(), actions.len(), "{audited:#?}");
    for ((method, path, _), line) in actions.iter().zip(&allowed) {
        assert_eq!(line["action"], format!("{method} {path}"), "{line}");
        assert_eq!(line["client"], "127.0.0.1", "{line}");
        assert_eq!(line["target"], "perfkit::audit", "{line}");
        assert!(line["timestamp"].is_string(), "{line}");
    }
    let refused: Vec<&Value> =
        audited.iter().filter(|l| l["message"] == "admin action refused").collect();
    assert_eq!(refused.len(), 1, "{audited:#?}");
    assert_eq!(refused[0]["reason"], "unauthorized");

    assert!(!server.output().contains(TOKEN), "the token is in the logs");
    assert!(!bodies.contains(TOKEN), "the token is in a response");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_generated_token_is_logged_once_at_start_up_and_never_again() {
    let server = Server::start(&[], &[]);
    let client = Client::new();
    server.wait_for_health(&client).await;
    let line = server.log_line("no admin token configured").expect("the start-up line");
    let token = line["admin_token"].as_str().unwrap().to_owned();
    let clear = (Method::DELETE, "/api/performance/alerts", None);
    assert_eq!(send(&client, &server, &clear, &token).await.0, 200);
    assert_eq!(send(&client, &server, &clear, "wrong").await.0, 401);
    std::thread::sleep(std::time::Duration::from_millis(200));
    let output = server.output();
    assert_eq!(output.matches(token.as_str()).count(), 1, "{output}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_logins_from_one_address_are_answered_429_with_retry_after() {
    let server = Server::start(&[], &[("PERFKIT_ADMIN_TOKEN", TOKEN)]);
    let client = Client::new();
    server.wait_for_health(&client).await;
    let clear = (Method::DELETE, "/api/performance/alerts", None);
    for attempt in 0..10 {
        let guess = format!("guess-{attempt}");
        assert_eq!(send(&client, &server, &clear, &guess).await.0, 401, "attempt {attempt}");
    }
    let (status, headers, body) = send(&client, &server, &clear, TOKEN).await;
    assert_eq!(status, 429, "{body}");
    let wait: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    let json: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["error"]["code"], "too_many_requests");
    // Reads stay open: the limit is on authentication, not on the address.
    let metrics = client.get(server.url("/api/performance/metrics")).send().await.unwrap();
    assert_eq!(metrics.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_is_off_by_default_and_answers_only_the_allow_list() {
    let preflight = |server: &Server, origin: &str| {
        Client::new()
            .request(Method::OPTIONS, server.url("/api/performance/cache"))
            .header("origin", origin)
            .header("access-control-request-method", "DELETE")
            .header("access-control-request-headers", "authorization")
            .send()
    };
    let allow_origin = |response: &reqwest::Response| {
        response
            .headers()
            .get("access-control-allow-origin")
            .map(|v| v.to_str().unwrap().to_owned())
    };
    let plain = Server::start(&[], &[]);
    let response = Client::new()
        .get(plain.url("/api/performance/metrics"))
        .header("origin", "https://dash.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(allow_origin(&response), None);
    assert_eq!(allow_origin(&preflight(&plain, "https://dash.example.com").await.unwrap()), None);

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("perfkit.toml");
    std::fs::write(&path, "[server]\ncorsOrigins = [\"https://dash.example.com\"]\n").unwrap();
    let open = Server::start(&["--config", path.to_str().unwrap()], &[]);
    let allowed = preflight(&open, "https://dash.example.com").await.unwrap();
    assert!(allowed.status().is_success(), "{}", allowed.status());
    assert_eq!(allow_origin(&allowed).as_deref(), Some("https://dash.example.com"));
    let methods = allowed.headers()["access-control-allow-methods"].to_str().unwrap().to_owned();
    assert!(methods.contains("DELETE"), "{methods}");
    let other = preflight(&open, "https://evil.example.net").await.unwrap();
    assert_eq!(allow_origin(&other), None);
    let response = Client::new()
        .get(open.url("/api/performance/metrics"))
        .header("origin", "https://dash.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(allow_origin(&response).as_deref(), Some("https://dash.example.com"));
}
