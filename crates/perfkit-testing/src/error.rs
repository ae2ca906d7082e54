//! Why a test Redis could not be provided: no redis-server, one that does not answer PING in
//! time, a malformed `REDIS_URL`, a server that is not ours to stop, or no test certificate.

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
    /// Stop or restart was asked of a server this process does not own.
    #[error(
        "the server from REDIS_URL is not ours to stop or restart; use RedisServer::start_private"
    )]
    NotOwned,
    /// A test certificate could not be made with the `openssl` command.
    #[error(
        "could not make a test certificate with openssl ({0}): install it with `apt-get install openssl`"
    )]
    Certificate(String),
}
