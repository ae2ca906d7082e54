//! A Redis for one test: a private `redis-server` on a free port with persistence off, killed on
//! drop, or the server `REDIS_URL` names. A private one can be stopped and restarted to test
//! outages.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::TestingError;

/// How long a fresh redis-server gets to answer PING; it usually takes a few milliseconds.
const READY_TIMEOUT: Duration = Duration::from_secs(10);
const POLL_INTERVAL: Duration = Duration::from_millis(10);

/// A Redis server for one test: a private `redis-server` process, or the one named by
/// `REDIS_URL`.
///
/// A private server listens on `127.0.0.1` on a free port (never 6379), keeps its files in a
/// temporary directory, has persistence off (`--save "" --appendonly no`) and is killed when
/// this handle drops.
///
/// ```
/// use perfkit_testing::RedisServer;
///
/// let mut server = RedisServer::start_private();
/// let port = server.port();
/// server.stop().unwrap();
/// server.restart().unwrap();
/// assert_eq!(server.port(), port);
/// ```
#[derive(Debug)]
pub struct RedisServer {
    url: String,
    port: u16,
    private: Option<PrivateServer>,
}

#[derive(Debug)]
struct PrivateServer {
    dir: TempDir,
    child: Option<Child>,
    /// Settings beyond the defaults (a password, users, TLS), kept for restarts.
    extra: Vec<String>,
}

impl RedisServer {
    /// The server from `REDIS_URL` if that is set, else a private one.
    ///
    /// # Panics
    /// When no server can be provided, with a message that says what to install or fix.
    #[must_use]
    pub fn start() -> Self {
        match Self::try_start() {
            Ok(server) => server,
            Err(error) => panic!("{error}"),
        }
    }

    /// A private server, even when `REDIS_URL` is set: for tests that stop and restart it.
    ///
    /// # Panics
    /// When redis-server is missing or does not come up, with a message that says why.
    #[must_use]
    pub fn start_private() -> Self {
        match Self::try_start_private() {
            Ok(server) => server,
            Err(error) => panic!("{error}"),
        }
    }

    /// Like [`start`](Self::start), returning the error instead of panicking.
    ///
    /// # Errors
    /// [`TestingError`] when `REDIS_URL` is malformed or a private server cannot start.
    pub fn try_start() -> Result<Self, TestingError> {
        match std::env::var("REDIS_URL") {
            Ok(url) if !url.is_empty() => {
                let port =
                    port_of_url(&url).ok_or_else(|| TestingError::BadRedisUrl(url.clone()))?;
                Ok(RedisServer { url, port, private: None })
            }
            _ => Self::try_start_private(),
        }
    }

    /// Like [`start_private`](Self::start_private), returning the error instead of panicking.
    ///
    /// # Errors
    /// [`TestingError`] when redis-server is missing or does not answer PING in time.
    pub fn try_start_private() -> Result<Self, TestingError> {
        Self::try_start_private_with(Vec::new())
    }

    /// A private server started with `extra` settings after the defaults, as redis-server
    /// reads them from its command line (`["--requirepass", "pw"]`, `["--user", "app", "on",
    /// ">pw", "~*", "+@all"]`, TLS ports and files). It counts as ready when it answers PING,
    /// or refuses it for want of authentication.
    ///
    /// # Errors
    /// As [`try_start_private`](Self::try_start_private).
    pub fn try_start_private_with(extra: Vec<String>) -> Result<Self, TestingError> {
        let dir = tempfile::tempdir().map_err(TestingError::Process)?;
        // A free port can be taken by someone else between our probe and the server's bind;
        // trying a few fresh ports makes that race harmless.
        let mut last_error = None;
        for _ in 0..3 {
            let port = free_port().map_err(TestingError::Process)?;
            match spawn_ready(dir.path(), port, &extra) {
                Ok(child) => {
                    return Ok(RedisServer {
                        url: format!("redis://127.0.0.1:{port}"),
                        port,
                        private: Some(PrivateServer { dir, child: Some(child), extra }),
                    });
                }
                Err(error @ TestingError::RedisServerMissing) => return Err(error),
                Err(error) => last_error = Some(error),
            }
        }
        Err(last_error.unwrap_or(TestingError::RedisServerMissing))
    }

    /// The URL to connect to, `redis://127.0.0.1:<port>` for a private server.
    #[must_use]
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The TCP port the server listens on.
    #[must_use]
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Whether this process started the server (and so may stop and restart it).
    #[must_use]
    pub fn is_private(&self) -> bool {
        self.private.is_some()
    }

    /// Kills the server (SIGKILL: a crash, not a clean shutdown). Idempotent.
    ///
    /// # Errors
    /// [`TestingError::NotOwned`] for a `REDIS_URL` server, or the kill failing.
    pub fn stop(&mut self) -> Result<(), TestingError> {
        let private = self.private.as_mut().ok_or(TestingError::NotOwned)?;
        if let Some(mut child) = private.child.take() {
            child.kill().map_err(TestingError::Process)?;
            child.wait().map_err(TestingError::Process)?;
        }
        Ok(())
    }

    /// Starts the server again on the same port, after [`stop`](Self::stop), and waits until it
    /// answers PING. Its data is gone: persistence is off.
    ///
    /// # Errors
    /// [`TestingError::NotOwned`] for a `REDIS_URL` server, or the server not coming back.
    pub fn restart(&mut self) -> Result<(), TestingError> {
        self.stop()?;
        let port = self.port;
        let private = self.private.as_mut().ok_or(TestingError::NotOwned)?;
        private.child = Some(spawn_ready(private.dir.path(), port, &private.extra)?);
        Ok(())
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        if let Some(child) = self.private.as_mut().and_then(|p| p.child.as_mut()) {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

pub(crate) fn free_port() -> io::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

fn log_path(dir: &Path) -> PathBuf {
    dir.join("redis.log")
}

fn spawn_ready(dir: &Path, port: u16, extra: &[String]) -> Result<Child, TestingError> {
    let mut child = Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .arg("--dir")
        .arg(dir)
        .arg("--logfile")
        .arg(log_path(dir))
        .args(["--daemonize", "no"])
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|error| match error.kind() {
            io::ErrorKind::NotFound => TestingError::RedisServerMissing,
            _ => TestingError::Process(error),
        })?;
    let started = Instant::now();
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    loop {
        if answers_ping(address) {
            return Ok(child);
        }
        let exited = matches!(child.try_wait(), Ok(Some(_)));
        if exited || started.elapsed() > READY_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            let log = std::fs::read_to_string(log_path(dir)).unwrap_or_default();
            let tail: String = log.lines().rev().take(5).collect::<Vec<_>>().join(" | ");
            return Err(TestingError::NotReady { port, waited: started.elapsed(), log: tail });
        }
        std::thread::sleep(POLL_INTERVAL);
    }
}

fn answers_ping(address: SocketAddr) -> bool {
    let Ok(mut stream) = TcpStream::connect_timeout(&address, Duration::from_millis(200)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    let mut reply = [0_u8; 7];
    stream.write_all(b"PING\r\n").is_ok()
        && stream.read_exact(&mut reply).is_ok()
        // A server with a password answers `-NOAUTH ...`: up, just not ours to use unasked.
        && (&reply == b"+PONG\r\n" || &reply == b"-NOAUTH")
}

/// The port of a `redis://[user:pass@]host[:port][/db]` URL (6379 when absent), checking that
/// the host resolves.
fn port_of_url(url: &str) -> Option<u16> {
    let rest = url.strip_prefix("redis://").or_else(|| url.strip_prefix("rediss://"))?;
    let authority = rest.split('/').next()?;
    let host_port = authority.rsplit('@').next()?;
    let with_port =
        if host_port.contains(':') { host_port.to_owned() } else { format!("{host_port}:6379") };
    let port = with_port.rsplit(':').next()?.parse().ok()?;
    with_port.to_socket_addrs().ok()?.next().map(|_| port)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_of_url_reads_explicit_and_default_ports() {
        assert_eq!(port_of_url("redis://127.0.0.1:7000"), Some(7000));
        assert_eq!(port_of_url("redis://user:pw@127.0.0.1:7001/2"), Some(7001));
        assert_eq!(port_of_url("redis://127.0.0.1"), Some(6379));
        assert_eq!(port_of_url("http://127.0.0.1:7000"), None);
    }

    #[test]
    fn private_server_answers_ping_stops_and_restarts_on_the_same_port() {
        let mut server = RedisServer::start_private();
        let address = SocketAddr::from(([127, 0, 0, 1], server.port()));
        assert!(server.is_private());
        assert!(answers_ping(address));
        server.stop().unwrap();
        assert!(!answers_ping(address));
        server.restart().unwrap();
        assert!(answers_ping(address));
    }

    #[test]
    fn drop_kills_the_server() {
        let server = RedisServer::start_private();
        let address = SocketAddr::from(([127, 0, 0, 1], server.port()));
        drop(server);
        assert!(!answers_ping(address));
    }
}
