//! The conformance suite on `TieredCache` (a moka front over Redis), against a private
//! redis-server (or `REDIS_URL`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod conformance;

use std::sync::Arc;
use std::time::{Duration, Instant};

use conformance::Subject;
use perfkit_cache::{NearCacheConfig, RedisConfig, TieredCache};
use perfkit_testing::{RedisServer, unique_namespace};

async fn tiered() -> Subject {
    let server = RedisServer::start();
    let config = |namespace: String| RedisConfig {
        url: server.url().to_owned(),
        namespace,
        pool_size: 2,
        ..RedisConfig::default()
    };
    let near = NearCacheConfig::default();
    let cache = TieredCache::connect(config(unique_namespace("conformance")), near).await.unwrap();
    let neighbour =
        TieredCache::connect(config(unique_namespace("neighbour")), near).await.unwrap();
    // Every case runs with the front serving, so a front hit is what the suite judges.
    let deadline = Instant::now() + Duration::from_secs(5);
    while !(cache.is_tracking() && neighbour.is_tracking()) {
        assert!(Instant::now() < deadline, "invalidation tracking did not start");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    Subject {
        cache: Arc::new(cache),
        neighbour: Arc::new(neighbour),
        // Redis expires keys on its own clock, and the front follows it: real time must pass.
        pass: Box::new(|by| Box::pin(tokio::time::sleep(by))),
        _guard: Box::new(server),
    }
}

conformance_tests!(tiered);
