//! perfkit embedded in a host app: its own API, dashboard, assets, scrapes and live stream
//! are recorded apart, so the host's figures count the host's requests and nothing else.
#![cfg(feature = "dashboard")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::routing::get;
use futures::StreamExt;
use perfkit::PerformanceService;
use perfkit::core::SystemClock;
use perfkit::metrics::{OwnTraffic, Recorder, RecorderConfig};
use perfkit_axum::{ApiConfig, RequestMetricsLayer, router};
use tower::ServiceExt;

/// The host's requests: 50 answered, 7 failing with a 503.
const HOST_OK: u64 = 50;
const HOST_FAILED: u64 = 7;

/// perfkit's own requests the test makes besides the stream, after each host request in
/// turn: polls and scrapes, the page, an asset, probes, unknown paths under the API prefix.
const OWN_PATHS: [(&str, usize); 9] = [
    ("/api/performance/summary", 10),
    ("/api/performance/dashboard", 10),
    ("/api/performance/metrics/prometheus", 10),
    ("/api/performance/history?limit=5", 10),
    ("/", 1),
    ("/assets/app.js", 3),
    ("/api/performance/health/live", 2),
    ("/api/performance/no-such-thing", 2),
    ("/api/performance/metrics/application", 1),
];

/// The host's app with perfkit's router merged in and the metrics layer outermost, as
/// docs/EMBEDDING.md shows.
fn host_app(service: &PerformanceService) -> Router {
    let config = ApiConfig { admin_token: "own-traffic-token-0123".into(), ..ApiConfig::default() };
    Router::new()
        .route("/items/{id}", get(|| async { "an item" }))
        .route("/flaky", get(|| async { StatusCode::SERVICE_UNAVAILABLE }))
        .merge(router(service.clone(), config).unwrap())
        .layer(RequestMetricsLayer::new(Arc::clone(service.recorder())))
}

async fn get_status(app: &Router, path: &str) -> StatusCode {
    app.clone().oneshot(Request::get(path).body(Body::empty()).unwrap()).await.unwrap().status()
}

/// perfkit's own requests [`mixed_traffic`] makes (the stream's upgrade aside).
fn own_requests() -> u64 {
    let per_host_request = |i: usize| OWN_PATHS[i % OWN_PATHS.len()].1;
    (0..usize::try_from(HOST_OK).unwrap()).map(per_host_request).sum::<usize>() as u64
}

/// Host traffic interleaved with perfkit's own, one live-stream client open throughout.
async fn mixed_traffic(service: &PerformanceService) -> Router {
    // A first snapshot, which the stream sends when a client connects.
    service.collect_now().await;
    let app = host_app(service);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let served = app.clone();
    tokio::spawn(async move { axum::serve(listener, served).await.unwrap() });
    let (mut socket, _) =
        tokio_tungstenite::connect_async(format!("ws://{address}/api/performance/stream"))
            .await
            .unwrap();
    // The stream sends the latest snapshot first: the connection is up and recorded.
    tokio::time::timeout(Duration::from_secs(10), socket.next()).await.unwrap().unwrap().unwrap();

    for i in 0..HOST_OK {
        assert_eq!(get_status(&app, &format!("/items/{i}")).await, 200);
        let (path, times) = OWN_PATHS[usize::try_from(i).unwrap() % OWN_PATHS.len()];
        for _ in 0..times {
            let status = get_status(&app, path).await;
            assert!(status == 200 || status == 404, "{path}: {status}");
        }
    }
    for _ in 0..HOST_FAILED {
        assert_eq!(get_status(&app, "/flaky").await, 503);
    }
    drop(socket);
    app
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_seven_host_requests_show_as_fifty_seven_whatever_perfkit_serves() {
    let service = PerformanceService::builder().build().unwrap();
    let app = mixed_traffic(&service).await;
    let host = HOST_OK + HOST_FAILED;

    let snapshot = service.collect_now().await;
    assert_eq!(snapshot.request_count, Some(57.0));
    let error_rate = snapshot.error_rate.unwrap();
    assert!((error_rate - 7.0 / 57.0).abs() < 1e-9, "{error_rate}");
    assert!((snapshot.availability.unwrap() - 50.0 / 57.0).abs() < 1e-9);

    let metrics = service.recorder().snapshot();
    assert_eq!(metrics.requests.total, host);
    assert_eq!(metrics.requests.upgrades, 0, "the stream's upgrade is perfkit's");
    assert!(!metrics.requests.by_status_class.contains_key("1xx"), "{metrics:?}");
    let routes: Vec<&str> = metrics.routes.slowest.iter().map(|r| r.route.as_str()).collect();
    assert_eq!(routes.len(), 2, "only the host's routes: {routes:?}");
    assert!(routes.contains(&"/items/{id}") && routes.contains(&"/flaky"), "{routes:?}");
    assert_eq!(metrics.response_time.cumulative.count, host, "no latency sample of perfkit's");
    let own = own_requests();
    assert_eq!(metrics.own.requests, own);
    assert_eq!(metrics.own.upgrades, 1);
    assert_eq!(metrics.websocket.total_connections, 0, "the stream is not a host WebSocket");
    assert_eq!(metrics.websocket.messages, 0, "nor are its messages");
    assert!(metrics.own.stream_messages >= 1, "the first snapshot was sent: {:?}", metrics.own);

    // A scrape (itself perfkit's) shows the same: 57 host requests, the rest apart.
    let response = app
        .oneshot(Request::get("/api/performance/metrics/prometheus").body(Body::empty()).unwrap())
        .await
        .unwrap();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
    let text = String::from_utf8(body.to_vec()).unwrap();
    let sum = |family: &str| -> f64 {
        text.lines()
            .filter(|line| line.starts_with(&format!("{family}{{")))
            .filter_map(|line| line.rsplit_once(' ')?.1.parse::<f64>().ok())
            .sum()
    };
    assert_eq!(sum("http_requests_total"), 57.0, "{text}");
    // The scrape itself is counted when its answer is ready, after it was written.
    assert_eq!(sum("perfkit_own_requests_total"), own as f64);
    let scalar = |family: &str| {
        text.lines().find_map(|line| line.strip_prefix(&format!("{family} "))?.parse::<f64>().ok())
    };
    // A later snapshot's event may still reach the closing stream: at least as many.
    let messages = scalar("perfkit_own_stream_messages_total").unwrap();
    assert!(messages >= metrics.own.stream_messages as f64, "{messages}");
    assert!(!text.contains("route=\"/api/performance"), "no perfkit route among the host's");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn own_traffic_can_be_left_unrecorded() {
    let config = RecorderConfig { own_traffic: OwnTraffic::Ignored, ..RecorderConfig::default() };
    let recorder = Arc::new(Recorder::new(config, Arc::new(SystemClock)).unwrap());
    let service = PerformanceService::builder().recorder(recorder).build().unwrap();
    let _app = mixed_traffic(&service).await;

    let metrics = service.recorder().snapshot();
    assert_eq!(metrics.requests.total, HOST_OK + HOST_FAILED);
    assert_eq!((metrics.own.requests, metrics.own.upgrades), (0, 0));
    assert_eq!((metrics.own.stream_messages, metrics.websocket.messages), (0, 0));
}
