//! The demo's cache warming through the real binary: the hottest keys a run saw are saved in
//! its data directory at shutdown, and the next start on that directory loads them before it
//! serves, so its first reads of them are hits; a `DELETE /cache` loads them again. The
//! warming's figures (runs, keys warmed, their later hits) agree between `/cache/stats` and
//! the exposition.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use reqwest::{Client, StatusCode};
use serde_json::Value;
use support::Server;

const TOKEN: &str = "warming-e2e-admin-token";

/// `X-Cache` of a read of `path`.
async fn read(client: &Client, server: &Server, path: &str) -> String {
    let response = client.get(server.url(path)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    response.headers()["x-cache"].to_str().unwrap().to_owned()
}

/// The value of the exposition's series `name{backend="memory"}`.
async fn series(client: &Client, server: &Server, name: &str) -> f64 {
    let text = server.exposition(client).await;
    let prefix = format!("{name}{{backend=\"memory\"}} ");
    let line = text.lines().find_map(|line| line.strip_prefix(&prefix));
    line.unwrap_or_else(|| panic!("no {prefix} in the exposition")).trim().parse().unwrap()
}

fn start(data_dir: &std::path::Path) -> Server {
    Server::start(
        &["--demo", "--data-dir", data_dir.to_str().unwrap()],
        &[("PERFKIT_ADMIN_TOKEN", TOKEN)],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_demo_warms_its_hottest_pages_before_serving() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let client = Client::new();
    let first = start(&data_dir);
    assert!(first.log_line("demo: cache warmed").is_none(), "nothing was hot before");
    for (path, reads) in [
        ("/api/posts?page=3&limit=10", 5),
        ("/api/posts?page=7&limit=10", 3),
        ("/api/users/5/posts?limit=10", 2),
    ] {
        assert_eq!(read(&client, &first, path).await, "miss", "{path}: a cold cache");
        for _ in 1..reads {
            assert_eq!(read(&client, &first, path).await, "hit");
        }
    }
    let (status, _) = first.terminate();
    assert!(status.success());
    let saved: Value =
        serde_json::from_slice(&std::fs::read(data_dir.join("hot-keys.json")).unwrap()).unwrap();
    assert_eq!(saved[0]["key"], "demo:posts:page:3:limit:10", "{saved}");
    assert_eq!(saved[0]["accesses"], 5);

    let second = start(&data_dir);
    let warmed = second.log_line("demo: cache warmed").expect("warmed at start-up");
    assert_eq!((warmed["warmed"].as_u64(), warmed["failed"].as_u64()), (Some(3), Some(0)));
    // Before any read: the first read of each hot key is a hit, a cold page still a miss.
    for path in
        ["/api/posts?page=3&limit=10", "/api/posts?page=7&limit=10", "/api/users/5/posts?limit=10"]
    {
        assert_eq!(read(&client, &second, path).await, "hit", "{path} was warmed");
    }
    assert_eq!(read(&client, &second, "/api/posts?page=99&limit=10").await, "miss");

    let stats = second.get_json(&client, "/api/performance/cache/stats").await;
    let warming = &stats["warming"];
    assert_eq!(warming["runs"], 1, "{stats}");
    assert_eq!(warming["warmedKeys"], 3);
    assert_eq!(warming["warmedHits"], 3);
    assert_eq!(warming["lastRun"]["reason"], "start");
    assert_eq!(stats["hits"], 3, "warming's loads are no reads: only the three hits count");
    assert_eq!(series(&client, &second, "perfkit_cache_warmed_keys_total").await, 3.0);
    assert_eq!(series(&client, &second, "perfkit_cache_warmed_hits_total").await, 3.0);
    assert_eq!(series(&client, &second, "perfkit_cache_warm_runs_total").await, 1.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clear_warms_the_hottest_keys_again() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(&dir.path().join("data"));
    let client = Client::new();
    for _ in 0..3 {
        read(&client, &server, "/api/posts?page=2&limit=10").await;
    }
    read(&client, &server, "/api/posts?page=4&limit=10").await;
    let cleared = client
        .delete(server.url("/api/performance/cache"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(cleared.status(), StatusCode::OK);
    let cleared: Value = cleared.json().await.unwrap();
    assert!(cleared["deleted"].as_u64().unwrap() >= 2, "{cleared}");
    // The clear answered after the warming: both keys are back.
    assert_eq!(read(&client, &server, "/api/posts?page=2&limit=10").await, "hit");
    assert_eq!(read(&client, &server, "/api/posts?page=4&limit=10").await, "hit");
    assert_eq!(read(&client, &server, "/api/posts?page=5&limit=10").await, "miss");
    let stats = server.get_json(&client, "/api/performance/cache/stats").await;
    assert_eq!(stats["warming"]["lastRun"]["reason"], "afterClear", "{stats}");
    assert_eq!(stats["warming"]["warmedKeys"], 2);
    assert_eq!(stats["warming"]["warmedHits"], 2);
}
