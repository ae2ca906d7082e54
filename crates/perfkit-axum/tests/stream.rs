//! The live stream over a real socket: registered while open, events delivered,
//! unregistered when the client leaves.
// The router and its document are the `api` feature's.
#![cfg(feature = "api")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use perfkit::PerformanceService;
use perfkit_axum::{ApiConfig, router};
use tokio_tungstenite::tungstenite::Message;

/// The admin token of the protected server.
const TOKEN: &str = "stream-test-token-0123";

/// Longest wait for something the server does on its own (the end of a connection).
const PATIENCE: Duration = Duration::from_secs(10);

async fn serve(service: &PerformanceService) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let config = ApiConfig { admin_token: "stream-test-token-0123".into(), ..ApiConfig::default() };
    let app = router(service.clone(), config).unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    address
}

/// Waits until `condition` holds, checking whenever the runtime has run other tasks.
async fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    let waited = tokio::time::timeout(PATIENCE, async {
        while !condition() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    assert!(waited.is_ok(), "{what} did not happen within {PATIENCE:?}");
}

async fn next_json(
    socket: &mut tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
) -> serde_json::Value {
    loop {
        let message =
            tokio::time::timeout(PATIENCE, socket.next()).await.unwrap().unwrap().unwrap();
        if let Message::Text(text) = message {
            return serde_json::from_str(&text).unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshots_and_events_reach_a_registered_client() {
    let service = PerformanceService::builder().build().unwrap();
    service.collect_now().await;
    let address = serve(&service).await;

    let url = format!("ws://{address}/api/performance/stream");
    let (mut socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    assert_eq!(service.parts().connections.len(), 1, "registered while open");

    let first = next_json(&mut socket).await;
    assert_eq!(first["type"], "snapshot", "the latest snapshot comes first: {first}");

    service.collect_now().await;
    // Alert events (the rules' first evaluation) may come before the snapshot.
    let next = loop {
        let event = next_json(&mut socket).await;
        if event["type"] == "snapshot" {
            break event;
        }
        assert_eq!(event["type"], "alert", "{event}");
    };
    assert!(next["data"]["timestamp"].is_string(), "{next}");

    service.optimize(perfkit::OptimizationRun::Forced).await.unwrap();
    let mut types = Vec::new();
    while !types.contains(&"optimization".to_owned()) {
        types.push(next_json(&mut socket).await["type"].as_str().unwrap().to_owned());
    }

    socket.send(Message::Close(None)).await.unwrap();
    drop(socket);
    eventually("the connection leaving the registry", || service.parts().connections.is_empty())
        .await;
    // perfkit's own stream: counted apart, never as the host's WebSocket traffic.
    let metrics = service.recorder().snapshot();
    assert_eq!((metrics.websocket.total_connections, metrics.websocket.messages), (0, 0));
    assert!(metrics.own.stream_messages >= 3, "{:?}", metrics.own);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_registry_closing_a_connection_closes_the_socket() {
    let service = PerformanceService::builder().build().unwrap();
    let address = serve(&service).await;
    let url = format!("ws://{address}/api/performance/stream");
    let (mut socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    assert_eq!(service.parts().connections.close_all(), 1);
    let closed = tokio::time::timeout(PATIENCE, async {
        while let Some(Ok(message)) = socket.next().await {
            if let Message::Close(frame) = message {
                return frame.map(|frame| u16::from(frame.code));
            }
        }
        None
    })
    .await
    .unwrap();
    assert_eq!(closed, Some(1001), "going away");
    eventually("the connection leaving the registry", || service.parts().connections.is_empty())
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_limit_are_refused_with_503() {
    use perfkit::host::{ConnectionRegistry, ConnectionRegistryConfig};
    let registry = ConnectionRegistry::new(
        ConnectionRegistryConfig { max_connections: 1, ..ConnectionRegistryConfig::default() },
        std::sync::Arc::new(perfkit::core::SystemClock),
    );
    let service = PerformanceService::builder().connections(registry).build().unwrap();
    let address = serve(&service).await;
    let url = format!("ws://{address}/api/performance/stream");
    let (_first, _) = tokio_tungstenite::connect_async(url.clone()).await.unwrap();
    let refused = tokio_tungstenite::connect_async(url).await.unwrap_err();
    let tokio_tungstenite::tungstenite::Error::Http(response) = refused else {
        panic!("expected an HTTP refusal, got {refused}");
    };
    assert_eq!(response.status(), 503);
    let body: serde_json::Value =
        serde_json::from_slice(response.body().as_deref().unwrap()).unwrap();
    assert_eq!(body["error"]["code"], "service_unavailable");
    assert_eq!(service.parts().connections.len(), 1);
}

/// Where reads are protected, a browser (which cannot send `Authorization` on a WebSocket)
/// opens the stream with a ticket obtained with the token; each ticket opens it once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_ticket_opens_a_protected_stream_once() {
    use tokio_tungstenite::tungstenite::Error as WsError;

    let service = PerformanceService::builder().build().unwrap();
    service.collect_now().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let config =
        ApiConfig { admin_token: TOKEN.into(), protect_reads: true, ..ApiConfig::default() };
    let app = router(service.clone(), config).unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let refused = |result: Result<_, WsError>| match result {
        Err(WsError::Http(response)) => response.status().as_u16(),
        Err(other) => panic!("expected an HTTP refusal, got {other}"),
        Ok(_) => panic!("expected a refusal, the stream opened"),
    };

    let stream = format!("ws://{address}/api/performance/stream");
    assert_eq!(refused(tokio_tungstenite::connect_async(stream.clone()).await), 401);

    let ticket_without_token = http_post(address, "/api/performance/stream/ticket", None).await;
    assert!(ticket_without_token.starts_with("HTTP/1.1 401"), "{ticket_without_token}");

    let answer = http_post(address, "/api/performance/stream/ticket", Some(TOKEN)).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let body: serde_json::Value =
        serde_json::from_str(answer.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    let ticket = body["ticket"].as_str().unwrap().to_owned();
    assert_eq!(body["expiresInSeconds"], 30);

    let with_ticket = format!("{stream}?ticket={ticket}");
    let (mut socket, _) = tokio_tungstenite::connect_async(with_ticket.clone()).await.unwrap();
    assert_eq!(next_json(&mut socket).await["type"], "snapshot");
    assert_eq!(refused(tokio_tungstenite::connect_async(with_ticket).await), 401, "spent");
    let guessed = format!("{stream}?ticket=00000000000000000000000000000000");
    assert_eq!(refused(tokio_tungstenite::connect_async(guessed).await), 401);
    socket.send(Message::Close(None)).await.unwrap();
}

/// A bare HTTP/1.1 POST with an empty body; the whole answer as text.
async fn http_post(address: std::net::SocketAddr, path: &str, token: Option<&str>) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let mut connection = tokio::net::TcpStream::connect(address).await.unwrap();
    let authorization = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {address}\r\n{authorization}Content-Length: 0\r\nConnection: close\r\n\r\n"
    );
    connection.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    connection.read_to_string(&mut answer).await.unwrap();
    answer
}
