//! The live stream over a real socket: registered while open, events delivered,
//! unregistered when the client leaves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use perfkit::PerformanceService;
use perfkit_axum::{ApiConfig, router};
use tokio_tungstenite::tungstenite::Message;

/// Longest wait for something the server does on its own (the end of a connection).
const PATIENCE: Duration = Duration::from_secs(10);

async fn serve(service: &PerformanceService) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let app = router(service.clone(), ApiConfig::default());
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
    assert_eq!(service.connections().len(), 1, "registered while open");

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

    service.force_optimization().await;
    let mut types = Vec::new();
    while !types.contains(&"optimization".to_owned()) {
        types.push(next_json(&mut socket).await["type"].as_str().unwrap().to_owned());
    }

    socket.send(Message::Close(None)).await.unwrap();
    drop(socket);
    eventually("the connection leaving the registry", || service.connections().is_empty()).await;
    let websocket = service.recorder().snapshot().websocket;
    assert_eq!(websocket.total_connections, 1);
    assert!(websocket.messages >= 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_registry_closing_a_connection_closes_the_socket() {
    let service = PerformanceService::builder().build().unwrap();
    let address = serve(&service).await;
    let url = format!("ws://{address}/api/performance/stream");
    let (mut socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    assert_eq!(service.connections().close_all(), 1);
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
    eventually("the connection leaving the registry", || service.connections().is_empty()).await;
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
    assert_eq!(service.connections().len(), 1);
}
