//! Why a test server could not be provided: no redis-server, PostgreSQL or Alertmanager, one
//! that does not come up in time, a malformed `REDIS_URL`, a server that is not ours to stop,
//! or no test certificate.

use std::io;
use std::time::Duration;

/// Why a test server could not be provided.
#[derive(Debug, thiserror::Error)]
pub enum TestingError {
    /// The `redis-server` binary is not on `PATH`.
    #[error(
        "redis-server is not installed or not on PATH: install it with `apt-get install redis-server` (tests need a real Redis)"
    )]
    RedisServerMissing,
    /// The process could not be spawned, killed or waited for.
    #[error("could not run redis-server: {0}")]
    Process(#[source] io::Error),
    /// The process started but did not answer PING in time.
    #[error(
        "redis-server on port {port} did not answer PING within {waited:?}; its log says: {log}"
    )]
    NotReady {
        /// The port it was started on.
        port: u16,
        /// How long we waited.
        waited: Duration,
        /// The end of the server's log file.
        log: String,
    },
    /// `REDIS_URL` is set but is not a `redis://host:port` URL we can use.
    #[error("REDIS_URL {0:?} is not a redis://host:port URL")]
    BadRedisUrl(String),
    /// Neither `prometheus-alertmanager` nor `alertmanager` is on `PATH`.
    #[error(
        "the Alertmanager binary is missing: install the Debian package `prometheus-alertmanager` (apt-get install -y prometheus-alertmanager; `cargo xtask ci` does it as root)"
    )]
    AlertmanagerMissing,
    /// The Alertmanager started but did not answer `/-/ready` in time.
    #[error("alertmanager on port {port} was not ready within {waited:?}; its log says: {log}")]
    AlertmanagerNotReady {
        /// The port it was started on.
        port: u16,
        /// How long we waited.
        waited: Duration,
        /// Its log.
        log: String,
    },
    /// PostgreSQL's `initdb` and `pg_ctl` are not installed.
    #[error(
        "PostgreSQL is not installed (no initdb and pg_ctl in PG_BIN_DIR, /usr/lib/postgresql/*/bin or on PATH): install it with `apt-get install postgresql` (tests need a real PostgreSQL), or set DATABASE_URL"
    )]
    PostgresMissing,
    /// A step of starting a private PostgreSQL failed.
    #[error("could not start a private PostgreSQL: {step} failed: {output}")]
    PostgresFailed {
        /// The step: `initdb`, `pg_ctl start`, ...
        step: &'static str,
        /// What it printed.
        output: String,
    },
    /// Stop or restart was asked of a server this process does not own.
    #[error(
        "the server from REDIS_URL or DATABASE_URL is not ours to stop or restart; start a private one"
    )]
    NotOwned,
    /// A test certificate could not be made with the `openssl` command.
    #[error(
        "could not make a test certificate with openssl ({0}): install it with `apt-get install openssl`"
    )]
    Certificate(String),
    /// A test server of this process (the OTLP receiver) could not start.
    #[error("could not start {0}")]
    Start(String),
}
