//! An Alertmanager for one test: Debian's `prometheus-alertmanager` on a free loopback port, with
//! its data in a temporary directory, clustering off, killed on drop.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::TestingError;
use crate::redis_server::free_port;

/// How long a fresh Alertmanager gets to answer `/-/ready`; it usually takes under a second.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
const POLL_INTERVAL: Duration = Duration::from_millis(50);

/// A private Alertmanager for one test, killed when this handle drops.
///
/// `config` is its `alertmanager.yml`; [`AlertmanagerServer::NULL_CONFIG`] routes everything
/// to a receiver that sends nothing, for tests that only read its API.
///
/// ```no_run
/// use perfkit_testing::AlertmanagerServer;
///
/// let alertmanager = AlertmanagerServer::start(AlertmanagerServer::NULL_CONFIG);
/// assert!(alertmanager.url().starts_with("http://127.0.0.1:"));
/// ```
#[derive(Debug)]
pub struct AlertmanagerServer {
    url: String,
    port: u16,
    dir: TempDir,
    child: Child,
}

impl Drop for AlertmanagerServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl AlertmanagerServer {
    /// A configuration whose one receiver sends nothing.
    pub const NULL_CONFIG: &'static str =
        "route:\n  receiver: 'null'\nreceivers:\n  - name: 'null'\n";

    /// Starts one with `config` as its `alertmanager.yml` and waits until it is ready.
    ///
    /// # Panics
    /// When the binary is missing or it does not become ready, saying what to install or
    /// quoting its log.
    #[must_use]
    pub fn start(config: &str) -> Self {
        match Self::try_start(config) {
            Ok(server) => server,
            Err(error) => panic!("{error}"),
        }
    }

    /// Like [`start`](Self::start), returning the error instead of panicking.
    ///
    /// # Errors
    /// [`TestingError::AlertmanagerMissing`], [`TestingError::Process`] or
    /// [`TestingError::AlertmanagerNotReady`].
    pub fn try_start(config: &str) -> Result<Self, TestingError> {
        let binary = binary().ok_or(TestingError::AlertmanagerMissing)?;
        let dir = tempfile::tempdir().map_err(TestingError::Process)?;
        let config_path = dir.path().join("alertmanager.yml");
        std::fs::write(&config_path, config).map_err(TestingError::Process)?;
        let port = free_port().map_err(TestingError::Process)?;
        let url = format!("http://127.0.0.1:{port}");
        let log = std::fs::File::create(dir.path().join("alertmanager.log"))
            .map_err(TestingError::Process)?;
        let child = Command::new(binary)
            .arg(format!("--config.file={}", config_path.display()))
            .arg(format!("--storage.path={}", dir.path().join("data").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg(format!("--web.external-url={url}"))
            // No gossip: a test's Alertmanager must not find another on the network.
            .arg("--cluster.listen-address=")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(TestingError::Process)?;
        let server = AlertmanagerServer { url, port, dir, child };
        server.wait_ready()?;
        Ok(server)
    }

    fn wait_ready(&self) -> Result<(), TestingError> {
        let started = Instant::now();
        while started.elapsed() < READY_TIMEOUT {
            if self.get("/-/ready").is_some_and(|(status, _)| status == 200) {
                return Ok(());
            }
            std::thread::sleep(POLL_INTERVAL);
        }
        Err(TestingError::AlertmanagerNotReady {
            port: self.port,
            waited: READY_TIMEOUT,
            log: self.log(),
        })
    }

    /// `http://127.0.0.1:<port>`.
    #[must_use]
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Its log so far (stderr), for a failing test's message.
    #[must_use]
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("alertmanager.log")).unwrap_or_default()
    }

    /// A plain `GET` of `path`: the status and the body, or `None` when it does not answer.
    #[must_use]
    pub fn get(&self, path: &str) -> Option<(u16, String)> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
        let request = format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1:{}\r\n\r\n", self.port);
        stream.write_all(request.as_bytes()).ok()?;
        let mut response = String::new();
        stream.read_to_string(&mut response).ok()?;
        let (head, body) = response.split_once("\r\n\r\n")?;
        let status = head.split_whitespace().nth(1)?.parse().ok()?;
        Some((status, body.to_owned()))
    }
}

fn binary() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| ["prometheus-alertmanager", "alertmanager"].map(|name| dir.join(name)))
        .find(|candidate| candidate.is_file())
}
