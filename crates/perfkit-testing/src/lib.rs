//! Test support shared by perfkit's own tests; never a dependency of a library's public API.
//!
//! [`RedisServer`] gives a test a Redis server of its own: a private `redis-server` process on
//! a free loopback port, in a temporary directory, with persistence off, killed when the
//! handle drops. Fault tests can [`stop`](RedisServer::stop) and
//! [`restart`](RedisServer::restart) it on the same port. When the `REDIS_URL` environment
//! variable is set, [`RedisServer::start`] uses that server instead (CI may provide one);
//! [`RedisServer::start_private`] always starts a process, for tests that must kill it.
//!
//! [`RedisCluster`] joins private nodes into a Redis Cluster (replicas too) and can fail a
//! primary over or kill it.
//! [`AlertmanagerServer`] does the same for Debian's `prometheus-alertmanager`.
//! [`PostgresServer`] does the same for PostgreSQL: `initdb` into a temporary directory and
//! `pg_ctl` on a free loopback port, stopped on drop; `DATABASE_URL` names another;
//! [`PostgresServer::start_replica`] adds a real streaming replica (`pg_basebackup -R`) on its
//! own port, and [`PostgresServer::pause`] freezes a server (SIGSTOP) for fault tests.
//! With the `otlp` feature, `OtlpReceiver` is a trace collector of the test's own: OTLP/HTTP
//! on a free loopback port, decoding what it is sent with the official protobuf types, able
//! to answer 500 or never answer.
//! [`RedisServer::try_start_private_with`] adds settings (a password, ACL users, TLS with
//! [`TestCertificates`] made at test time by the `openssl` command).
//!
//! Tests never touch a shared Redis on the default port and never flush a database: each test
//! writes under its own [`unique_namespace`], so tests can share a server in parallel.
//!
//! ```
//! use perfkit_testing::{RedisServer, unique_namespace};
//!
//! let server = RedisServer::start_private();
//! assert!(server.url().starts_with("redis://127.0.0.1:"));
//! assert_ne!(server.port(), 6379);
//! assert_ne!(unique_namespace("doc"), unique_namespace("doc"));
//! ```

mod alertmanager_server;
mod error;
mod namespace;
#[cfg(feature = "otlp")]
mod otlp_receiver;
mod postgres_server;
mod redis_cluster;
mod redis_server;
mod test_certificates;

pub use alertmanager_server::AlertmanagerServer;
pub use error::TestingError;
pub use namespace::unique_namespace;
#[cfg(feature = "otlp")]
pub use otlp_receiver::{OtlpAnswer, OtlpReceiver, ReceivedSpan, SpanAttribute};
pub use postgres_server::PostgresServer;
pub use redis_cluster::RedisCluster;
pub use redis_server::RedisServer;
pub use test_certificates::TestCertificates;
