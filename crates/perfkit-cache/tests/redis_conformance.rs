//! The conformance suite on `RedisCache`, against a private redis-server (or `REDIS_URL`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod conformance;

use std::sync::Arc;

use conformance::Subject;
use perfkit_cache::{RedisCache, RedisConfig};
use perfkit_testing::{RedisServer, unique_namespace};

async fn redis() -> Subject {
    let server = RedisServer::start();
    let config = |namespace: String| RedisConfig {
        url: server.url().to_owned(),
        namespace,
        pool_size: 2,
        ..RedisConfig::default()
    };
    let cache = RedisCache::connect(config(unique_namespace("conformance"))).await.unwrap();
    let neighbour = RedisCache::connect(config(unique_namespace("neighbour"))).await.unwrap();
    Subject {
        cache: Arc::new(cache),
        neighbour: Arc::new(neighbour),
        // Redis expires keys on its own clock; real time must pass.
        pass: Box::new(|by| Box::pin(tokio::time::sleep(by))),
        _guard: Box::new(server),
    }
}

conformance_tests!(redis);
