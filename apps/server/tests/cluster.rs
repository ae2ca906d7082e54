//! perfkit-server on a Redis Cluster with its defaults: two `--demo` instances on a private
//! cluster of three primaries start with the near cache on, serve the demo's pages from
//! their fronts, list each other at `/instances`, and a clear by one instance reaches the other's front through the
//! invalidations of every primary.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::io::Write as _;
use std::time::{Duration, Instant};

use perfkit_testing::{RedisCluster, unique_namespace};
use reqwest::Client;
use serde_json::Value;
use support::{PATIENCE, Server};

const TOKEN: &str = "cluster-admin-token-0123456789abcd";

fn start(cluster: &RedisCluster, namespace: &str, id: &str, config: &str) -> Server {
    let url = cluster.url();
    Server::start(
        &[
            "--config",
            config,
            "--demo",
            "--redis-url",
            &url,
            "--namespace",
            namespace,
            "--instance-id",
            id,
        ],
        &[("PERFKIT_ADMIN_TOKEN", TOKEN)],
    )
}

async fn near(client: &Client, server: &Server) -> Value {
    server.get_json(client, "/api/performance/cache/stats").await["near"].clone()
}

async fn until_tracking(client: &Client, server: &Server) {
    let started = Instant::now();
    while near(client, server).await["tracking"] != true {
        assert!(started.elapsed() < PATIENCE, "the near cache never tracked on the cluster");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn x_cache(client: &Client, server: &Server, path: &str) -> String {
    let response = client.get(server.url(path)).send().await.unwrap();
    assert_eq!(response.status(), 200, "{path}");
    response.headers()["x-cache"].to_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_demo_instances_on_a_cluster_keep_their_near_caches_coherent() {
    let cluster = RedisCluster::start(3, 0).unwrap();
    let namespace = unique_namespace("cluster-demo");
    // Warming off: the pages must be misses after the clear, not warmed back.
    let mut config = tempfile::NamedTempFile::new().unwrap();
    writeln!(config, "[demo]\nwarmKeys = 0").unwrap();
    let config = config.path().to_str().unwrap().to_owned();
    let (first, second) = (
        start(&cluster, &namespace, "cluster-1", &config),
        start(&cluster, &namespace, "cluster-2", &config),
    );
    let client = Client::new();
    for server in [&first, &second] {
        server.wait_for_health(&client).await;
        until_tracking(&client, server).await;
    }
    // Announcements are keys too, spread over the primaries: each lists both.
    for server in [&first, &second] {
        let started = Instant::now();
        loop {
            let answer = server.get_json(&client, "/api/performance/instances").await;
            if answer["instances"].as_array().is_some_and(|list| list.len() == 2) {
                break;
            }
            assert!(started.elapsed() < PATIENCE, "instances never listed both: {answer}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    // Pages spread over the primaries' slots: each is a miss once, then a hit.
    let pages: Vec<String> =
        (1..=12).map(|page| format!("/api/posts?page={page}&limit=5")).collect();
    for page in &pages {
        assert_eq!(x_cache(&client, &first, page).await, "miss", "{page}");
        assert_eq!(x_cache(&client, &first, page).await, "hit", "{page}");
        assert_eq!(x_cache(&client, &second, page).await, "hit", "{page}: Redis had it");
        assert_eq!(x_cache(&client, &second, page).await, "hit", "{page}");
    }
    let before = near(&client, &second).await;
    assert!(before["frontHits"].as_u64().unwrap() >= 12, "{before}");

    // The first instance clears the cache: every page's key goes, on whichever primary it
    // lives, and the second instance's front hears it from each.
    let cleared =
        client.delete(first.url("/api/performance/cache")).bearer_auth(TOKEN).send().await.unwrap();
    assert!(cleared.status().is_success(), "{:?}", cleared.text().await);
    let started = Instant::now();
    loop {
        let heard = near(&client, &second).await["invalidations"].as_u64().unwrap();
        if heard >= before["invalidations"].as_u64().unwrap() + pages.len() as u64 {
            break;
        }
        assert!(started.elapsed() < PATIENCE, "the clear's invalidations never all arrived");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for page in &pages {
        assert_eq!(x_cache(&client, &second, page).await, "miss", "{page} served after the clear");
    }
}
