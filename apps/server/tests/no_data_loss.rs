//! Loses no data, on the real binary: SIGTERM while 1000 connections each hold a request in
//! flight (and more clients hammer it) completes every accepted request, none reset; the
//! history persisted in Redis (one value, written by one atomic SET) is restored after a
//! `kill -9`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use perfkit_testing::RedisServer;
use serde_json::Value;
use support::Server;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Connections that each hold one slow request when SIGTERM arrives (the issue's wrk -c1000).
const IN_FLIGHT: u32 = 1000;

fn config_file(dir: &tempfile::TempDir, text: &str) -> String {
    let path = dir.path().join("perfkit.toml");
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

/// How long the server is given to read the requests before SIGTERM: less than their writes
/// take, so most are still waiting for the SQLite writer when it arrives.
const BEFORE_SIGTERM: Duration = Duration::from_millis(300);

/// One request on its own connection (counted in `sent` once written, or once it failed to
/// be): a new post for `user`, whose write waits its turn for the database. The status line,
/// and whether the answer's body arrived whole.
async fn slow_request(
    address: String,
    user: u32,
    sent: Arc<AtomicU64>,
) -> Result<(u16, bool), String> {
    let written = write_post(&address, user).await;
    sent.fetch_add(1, Ordering::SeqCst);
    let mut stream = written?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.map_err(|e| format!("read: {e}"))?;
    let text = String::from_utf8_lossy(&answer);
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| format!("no status line in {:?}", &text[..text.len().min(80)]))?;
    let whole = text
        .split_once("\r\n\r\n")
        .is_some_and(|(_, body)| serde_json::from_str::<Value>(body).is_ok());
    Ok((status, whole))
}

/// Connects and writes a new post for `user`.
async fn write_post(address: &str, user: u32) -> Result<TcpStream, String> {
    let mut stream = TcpStream::connect(address).await.map_err(|e| format!("connect: {e}"))?;
    let body = format!(r#"{{"title":"in flight {user}","body":"written across a SIGTERM"}}"#);
    let request = format!(
        "POST /api/users/{user}/posts HTTP/1.1\r\nHost: {address}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.map_err(|e| format!("write: {e}"))?;
    Ok(stream)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_under_load_completes_every_accepted_request() {
    let dir = tempfile::tempdir().unwrap();
    // 1000 writes queue for the SQLite writer, so most are in their handlers at SIGTERM: a
    // generous acquire timeout, so the test counts losses, not load shedding.
    let config = config_file(
        &dir,
        "[server]\nshutdownGrace = \"30s\"\n[demo]\nenabled = true\nacquireTimeout = \"30s\"\n",
    );
    let server = Server::start(&["--config", &config], &[]);
    let address = server.base.trim_start_matches("http://").to_owned();

    // Load besides: clients on keep-alive connections, until SIGTERM.
    let stop = Arc::new(AtomicBool::new(false));
    let (served, server_errors) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let mut hammers = Vec::new();
    for _ in 0..16 {
        let (stop, served, server_errors) = (stop.clone(), served.clone(), server_errors.clone());
        let url = server.url("/api/performance/health/live");
        hammers.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            while !stop.load(Ordering::Relaxed) {
                match client.get(&url).send().await {
                    Ok(response) if response.status().is_server_error() => {
                        server_errors.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(_) => {
                        served.fetch_add(1, Ordering::Relaxed);
                    }
                    // After SIGTERM the listener is closed: new requests are not accepted.
                    Err(_) => break,
                }
            }
        }));
    }

    let sent = Arc::new(AtomicU64::new(0));
    let requests: Vec<_> = (1..=IN_FLIGHT)
        .map(|user| tokio::spawn(slow_request(address.clone(), user, sent.clone())))
        .collect();
    // Every request written (a failed connect shows below as a loss), then a moment for the
    // server to read the last ones.
    let writing = Instant::now();
    while sent.load(Ordering::SeqCst) < u64::from(IN_FLIGHT) {
        assert!(writing.elapsed() < support::PATIENCE, "requests not written in time");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(BEFORE_SIGTERM).await;
    let signalled = Instant::now();
    stop.store(true, Ordering::Relaxed);
    let terminated = tokio::task::spawn_blocking(move || server.terminate());

    let mut failures = Vec::new();
    for (user, request) in (1..=IN_FLIGHT).zip(requests) {
        match request.await.unwrap() {
            Ok((201, true)) => {}
            other => failures.push((user, other)),
        }
    }
    let (status, logs) = terminated.await.unwrap();
    for hammer in hammers {
        hammer.await.unwrap();
    }
    let warnings: Vec<_> = logs.iter().filter(|l| l["level"] == "ERROR").take(5).collect();
    assert!(
        failures.is_empty(),
        "{} of {IN_FLIGHT} lost (server errors: {warnings:?}): {:?}",
        failures.len(),
        &failures[..failures.len().min(5)]
    );
    assert!(status.success(), "exit {status}");
    assert!(
        !logs.iter().any(|l| l["message"].as_str().is_some_and(|m| m.contains("dropped"))),
        "requests were dropped: {logs:?}"
    );
    assert_eq!(server_errors.load(Ordering::Relaxed), 0);
    assert!(served.load(Ordering::Relaxed) > 0, "the load ran");
    println!(
        "{IN_FLIGHT} in flight at SIGTERM, all completed; {} other requests served; exit {:.1?} after the signal",
        served.load(Ordering::Relaxed),
        signalled.elapsed()
    );
}

/// The timestamps of the server's history, oldest first.
async fn history(client: &reqwest::Client, server: &Server) -> Vec<String> {
    let answer: Value = client
        .get(server.url("/api/performance/history?limit=1000"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    answer.as_array().unwrap().iter().map(|s| s["timestamp"].to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_persisted_history_is_restored_after_kill_9() {
    let redis = RedisServer::start_private();
    let dir = tempfile::tempdir().unwrap();
    let config = config_file(
        &dir,
        &format!(
            "[cache]\nredisUrl = \"{}\"\nnamespace = \"restore:\"\n[service]\n\
             collectInterval = \"100ms\"\npersistHistory = true\ninstance = \"kill-9\"\n",
            redis.url()
        ),
    );
    let client = reqwest::Client::new();
    let server = Server::start(&["--config", &config], &[]);
    let started = Instant::now();
    let before = loop {
        let seen = history(&client, &server).await;
        if seen.len() >= 5 {
            break seen;
        }
        assert!(started.elapsed() < support::PATIENCE, "history never grew: {seen:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    // Persisted after each collection: wait one more interval so `before` is all stored.
    tokio::time::sleep(Duration::from_millis(300)).await;
    drop(server); // SIGKILL: no shutdown, no final write

    let again = Server::start(&["--config", &config], &[]);
    let started = Instant::now();
    loop {
        let seen = history(&client, &again).await;
        if before.iter().all(|timestamp| seen.contains(timestamp)) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "history not restored: before {before:?}, now {seen:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(again.log_line("history restored from the cache").is_some());
}
