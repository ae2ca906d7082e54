//! `rediss://` against a private redis-server that speaks TLS only, with an authority and
//! certificates made by this test: the cache verifies the server by the configured CA and
//! presents its client certificate where the server requires one. Runs with the `tls` feature
//! (`cargo test -p perfkit-cache --features tls --test redis_tls`; `cargo xtask ci` does).
#![cfg(feature = "tls")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::time::Duration;

use perfkit_cache::{Cache, CacheError, RedisCache, RedisConfig, RedisTls};
use perfkit_testing::{RedisServer, TestCertificates};

/// A server with its plain port for the readiness check and a TLS port for the cache; the
/// TLS port is free because it is asked of the OS just before.
fn tls_server(
    certificates: &TestCertificates,
    require_client_certificate: bool,
) -> (RedisServer, u16) {
    let tls_port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let (cert, key) = certificates.server();
    let path = |path: &Path| path.display().to_string();
    let extra = vec![
        "--tls-port".to_owned(),
        tls_port.to_string(),
        "--tls-cert-file".to_owned(),
        path(&cert),
        "--tls-key-file".to_owned(),
        path(&key),
        "--tls-ca-cert-file".to_owned(),
        path(&certificates.ca()),
        "--tls-auth-clients".to_owned(),
        if require_client_certificate { "yes" } else { "no" }.to_owned(),
    ];
    let server = RedisServer::try_start_private_with(extra).unwrap_or_else(|error| {
        panic!("{error} (does this redis-server support TLS? `redis-server --tls-port` needs a BUILD_TLS=yes build)")
    });
    (server, tls_port)
}

fn config(tls_port: u16, tls: RedisTls) -> RedisConfig {
    RedisConfig {
        url: format!("rediss://127.0.0.1:{tls_port}"),
        namespace: "tls:".to_owned(),
        pool_size: 1,
        connect_timeout: Duration::from_secs(5),
        tls,
        ..RedisConfig::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rediss_verifies_the_server_by_the_configured_authority() {
    let certificates = TestCertificates::generate().unwrap();
    let (_server, tls_port) = tls_server(&certificates, false);
    let tls = RedisTls { ca_file: Some(certificates.ca()), ..RedisTls::default() };
    let cache = RedisCache::connect(config(tls_port, tls)).await.unwrap();
    cache.set("k", b"over tls", None).await.unwrap();
    assert_eq!(cache.get("k").await.unwrap(), Some(b"over tls".to_vec()));

    // Trusting only the system's roots, the test authority's server is not verified: no
    // connection, so the cache fails open (a read misses) with its breaker open.
    let untrusted = RedisCache::connect(config(tls_port, RedisTls::default())).await.unwrap();
    assert_eq!(untrusted.get("k").await.unwrap(), None, "the key is there, unreachable");
    assert!(matches!(untrusted.set("k", b"x", None).await, Err(CacheError::CircuitOpen)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_requires_client_certificates_accepts_ours() {
    let certificates = TestCertificates::generate().unwrap();
    let (_server, tls_port) = tls_server(&certificates, true);
    let (cert, key) = certificates.client();
    let tls =
        RedisTls { ca_file: Some(certificates.ca()), cert_file: Some(cert), key_file: Some(key) };
    let cache = RedisCache::connect(config(tls_port, tls)).await.unwrap();
    cache.set("k", b"mutual", None).await.unwrap();
    assert_eq!(cache.get("k").await.unwrap(), Some(b"mutual".to_vec()));

    let without = RedisTls { ca_file: Some(certificates.ca()), ..RedisTls::default() };
    let refused = RedisCache::connect(config(tls_port, without)).await.unwrap();
    assert!(refused.set("k", b"x", None).await.is_err(), "no client certificate, no connection");
}

#[tokio::test]
async fn a_key_that_is_not_a_key_is_a_configuration_error() {
    let certificates = TestCertificates::generate().unwrap();
    let (cert, _) = certificates.client();
    let tls = RedisTls {
        ca_file: Some(certificates.ca()),
        cert_file: Some(cert.clone()),
        key_file: Some(cert),
    };
    let error = RedisCache::connect(config(1, tls)).await.unwrap_err();
    assert!(matches!(error, CacheError::InvalidConfig(_)), "{error}");
}
