//! Connections that hold the real server without using it: 300 that send half a request head
//! and 300 kept alive after one request are all closed within the configured timeouts while a
//! normal request keeps being served; past the cap, new connections are accepted and closed at
//! once; the exposition counts each.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::{Duration, Instant};

use reqwest::Client;
use support::{PATIENCE, Server};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinSet;

const HOLDERS: usize = 300;
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(1);
const KEEP_ALIVE_TIMEOUT: Duration = Duration::from_secs(2);
/// Room for a loaded machine between a deadline and the close being seen.
const SLACK: Duration = Duration::from_secs(3);

/// The value of the sample `name` (with its labels, as written) in a text exposition.
fn sample(exposition: &str, name: &str) -> Option<f64> {
    exposition.lines().find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

async fn exposition(client: &Client, server: &Server) -> String {
    let url = server.url("/api/performance/metrics/prometheus");
    client.get(url).send().await.unwrap().error_for_status().unwrap().text().await.unwrap()
}

fn address(server: &Server) -> String {
    server.base.trim_start_matches("http://").to_owned()
}

/// Reads one whole answer (head and `Content-Length` body) from `stream`.
async fn read_answer(stream: &mut TcpStream) -> String {
    let mut received = Vec::new();
    let mut buffer = [0_u8; 4096];
    loop {
        let read = stream.read(&mut buffer).await.unwrap();
        assert!(read > 0, "closed before the answer ended: {received:?}");
        received.extend_from_slice(&buffer[..read]);
        let text = String::from_utf8_lossy(&received);
        if let Some(end) = text.find("\r\n\r\n") {
            let length: usize = text[..end]
                .lines()
                .find_map(|line| {
                    line.to_ascii_lowercase().strip_prefix("content-length: ")?.parse().ok()
                })
                .expect("a Content-Length");
            if received.len() >= end + 4 + length {
                return text.into_owned();
            }
        }
    }
}

/// How long after `since` the server closed `stream` (end of file or a reset).
async fn closed_after(mut stream: TcpStream, since: Instant) -> Duration {
    let mut buffer = [0_u8; 64];
    match stream.read(&mut buffer).await {
        Ok(0) | Err(_) => since.elapsed(),
        Ok(_) => panic!("the server wrote to a connection that sent no whole request"),
    }
}

#[tokio::test]
async fn half_heads_and_idle_keep_alives_are_closed_in_time_while_requests_are_served() {
    let server = Server::start(&["--header-read-timeout", "1s", "--keep-alive-timeout", "2s"], &[]);
    let client = Client::new();
    server.wait_for_health(&client).await;
    let address = address(&server);

    // A normal client throughout: one request every 50 ms, each answered 200.
    let probe = {
        let (client, url) = (client.clone(), server.url("/api/performance/health"));
        tokio::spawn(async move {
            loop {
                let response = client.get(&url).send().await.expect("a normal request is served");
                assert_eq!(response.status(), 200);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };

    let mut closing = JoinSet::new();
    for _ in 0..HOLDERS {
        let mut stream = TcpStream::connect(&address).await.unwrap();
        stream
            .write_all(b"GET /api/performance/health HTTP/1.1\r\nHost: perfkit\r\nUser-Ag")
            .await
            .unwrap();
        let sent = Instant::now();
        closing.spawn(async move { ("half head", closed_after(stream, sent).await) });
    }
    for _ in 0..HOLDERS {
        let mut stream = TcpStream::connect(&address).await.unwrap();
        stream
            .write_all(b"GET /api/performance/health HTTP/1.1\r\nHost: perfkit\r\n\r\n")
            .await
            .unwrap();
        let answer = read_answer(&mut stream).await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        let answered = Instant::now();
        closing.spawn(async move { ("idle", closed_after(stream, answered).await) });
    }

    let mut closed = 0;
    while let Some(joined) = tokio::time::timeout(PATIENCE, closing.join_next()).await.unwrap() {
        let (kind, after) = joined.unwrap();
        let (timeout, earliest) = match kind {
            "half head" => (HEADER_READ_TIMEOUT, Duration::ZERO),
            // Never before its time (less the client's read of the answer).
            _ => (KEEP_ALIVE_TIMEOUT, KEEP_ALIVE_TIMEOUT - Duration::from_millis(300)),
        };
        assert!(after <= timeout + SLACK, "a {kind} connection was closed only after {after:?}");
        assert!(after >= earliest, "a {kind} connection was closed early, after {after:?}");
        closed += 1;
    }
    assert_eq!(closed, 2 * HOLDERS);
    assert!(!probe.is_finished(), "the normal client failed: {:?}", probe.await);
    probe.abort();

    let text = exposition(&client, &server).await;
    let closed_by = |reason: &str| {
        sample(&text, &format!("perfkit_server_connections_closed_total{{reason=\"{reason}\"}}"))
            .unwrap_or_else(|| panic!("no {reason} sample in:\n{text}"))
    };
    assert_eq!(closed_by("header_timeout"), HOLDERS as f64);
    // The normal client's own connections may idle out too.
    assert!(closed_by("idle_timeout") >= HOLDERS as f64, "{text}");
    assert_eq!(sample(&text, "perfkit_server_connections_refused_total"), Some(0.0));
}

#[tokio::test]
async fn past_the_cap_new_connections_are_closed_at_once_and_counted() {
    const CAP: usize = 50;
    const EXTRA: usize = 10;
    let server = Server::start(&["--max-connections", "50", "--header-read-timeout", "30s"], &[]);
    // One kept-alive connection for every request the test makes: a slot of its own.
    let client = Client::builder().pool_max_idle_per_host(1).build().unwrap();
    server.wait_for_health(&client).await;
    let address = address(&server);

    let mut holders = Vec::new();
    for _ in 1..CAP {
        holders.push(TcpStream::connect(&address).await.unwrap());
    }
    // Accepted in order: once all are open, the next connection is past the cap.
    let started = Instant::now();
    while sample(&exposition(&client, &server).await, "perfkit_server_connections_open")
        != Some(CAP as f64)
    {
        assert!(started.elapsed() < PATIENCE, "the server never held {CAP} connections");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    for _ in 0..EXTRA {
        let stream = TcpStream::connect(&address).await.unwrap();
        let after = tokio::time::timeout(PATIENCE, closed_after(stream, Instant::now()))
            .await
            .expect("a connection past the cap is closed");
        assert!(after < SLACK, "closed only after {after:?}");
    }
    let text = exposition(&client, &server).await;
    assert_eq!(sample(&text, "perfkit_server_connections_refused_total"), Some(EXTRA as f64));
    assert_eq!(sample(&text, "perfkit_server_connections_open"), Some(CAP as f64));
    // The held connections were not touched: each still waits for its head.
    for holder in &holders {
        let mut byte = [0_u8; 1];
        assert!(
            holder.try_read(&mut byte).is_err_and(|e| e.kind() == std::io::ErrorKind::WouldBlock)
        );
    }
}
