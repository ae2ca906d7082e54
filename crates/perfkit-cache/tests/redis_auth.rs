//! Redis with AUTH: a password on the default user, and an ACL user limited to its own
//! namespace, each against a private redis-server started with them. Wrong credentials are a
//! configuration error at connect, never a cache that fails open forever.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use fred::prelude::KeysInterface;
use perfkit_cache::{Cache, CacheAdmin, CacheError, RedisCache, RedisConfig};
use perfkit_testing::RedisServer;

fn config(url: String, namespace: &str) -> RedisConfig {
    RedisConfig {
        url,
        namespace: namespace.to_owned(),
        pool_size: 1,
        connect_timeout: Duration::from_secs(5),
        ..RedisConfig::default()
    }
}

fn server(extra: &[&str]) -> RedisServer {
    RedisServer::try_start_private_with(extra.iter().map(|&arg| arg.to_owned()).collect())
        .unwrap_or_else(|error| panic!("{error}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_in_the_url_authenticates_and_a_wrong_one_is_a_configuration_error() {
    let server = server(&["--requirepass", "s3cret-pass"]);
    let port = server.port();
    let cache =
        RedisCache::connect(config(format!("redis://:s3cret-pass@127.0.0.1:{port}"), "pw:"))
            .await
            .unwrap();
    cache.set("k", b"v", None).await.unwrap();
    assert_eq!(cache.get("k").await.unwrap(), Some(b"v".to_vec()));
    assert_eq!(cache.clear().await.unwrap(), 1);

    for url in [
        format!("redis://:wrong-pass@127.0.0.1:{port}"),
        format!("redis://127.0.0.1:{port}"), // none at all
    ] {
        match RedisCache::connect(config(url.clone(), "pw:")).await {
            Err(CacheError::InvalidConfig(message)) => {
                assert!(message.contains("refused the credentials"), "{message}");
                assert!(!message.contains("wrong-pass"), "the password is never shown: {message}");
            }
            other => panic!("{url}: {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_acl_user_works_within_its_namespace_and_no_further() {
    let server = server(&[
        "--user",
        "default",
        "off", // only named users
        "--user",
        "app",
        "on",
        ">app-pass",
        "~app:*",
        "+@all",
    ]);
    let port = server.port();
    let cache =
        RedisCache::connect(config(format!("redis://app:app-pass@127.0.0.1:{port}"), "app:"))
            .await
            .unwrap();
    cache.set("user:1", b"one", Some(Duration::from_secs(60))).await.unwrap();
    assert_eq!(cache.get("user:1").await.unwrap(), Some(b"one".to_vec()));
    assert_eq!(cache.delete_pattern("user:").await.unwrap(), 1);
    cache.reserved().set("history:x", b"[]", None).await.unwrap();
    assert!(cache.reserved().exists("history:x").await.unwrap());
    // The same user outside its key pattern is refused by Redis itself.
    let outside: Result<(), _> = cache.pool().set("other:x", "v", None, None, false).await;
    assert!(outside.unwrap_err().to_string().contains("NOPERM"));

    let wrong = RedisCache::connect(config(format!("redis://app:nope@127.0.0.1:{port}"), "app:"))
        .await
        .unwrap_err();
    assert!(matches!(wrong, CacheError::InvalidConfig(_)), "{wrong}");
}
