//! A PostgreSQL for one test: a private server (`initdb` into a temporary directory, started
//! with `pg_ctl` on a free loopback port, stopped on drop), or the server `DATABASE_URL`
//! names; a private server's streaming replica (`pg_basebackup -R`). Never the machine's
//! shared server on port 5432.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use tempfile::TempDir;

use crate::TestingError;
use crate::redis_server::free_port;

/// The role a private server's database is owned by (trust authentication, loopback only).
const ROLE: &str = "perfkit";
/// The unprivileged account PostgreSQL runs as when the tests run as root (it refuses root).
const SERVICE_ACCOUNT: &str = "postgres";

/// A PostgreSQL server for one test: a private one, or the one `DATABASE_URL` names.
///
/// A private server lives in a temporary directory, listens on `127.0.0.1` on a free port
/// (never 5432) and on a Unix socket in that directory, runs with `fsync` off (test data
/// need not survive a crash) and is stopped when this handle drops. Run as root, it runs
/// as the `postgres` account, which the `postgresql` package creates.
///
/// ```
/// use perfkit_testing::PostgresServer;
///
/// let server = PostgresServer::start_private();
/// assert!(server.url().starts_with("postgres://perfkit@127.0.0.1:"));
/// assert_ne!(server.port(), 5432);
/// ```
#[derive(Debug)]
pub struct PostgresServer {
    url: String,
    port: u16,
    private: Option<PrivateServer>,
}

#[derive(Debug)]
struct PrivateServer {
    dir: TempDir,
    bin: PathBuf,
    as_root: bool,
    /// The server's `-o` options (port, socket directory, settings), kept for a restart.
    options: String,
}

impl PrivateServer {
    /// `pg_ctl` on this server's data directory, with its log file.
    fn pg_ctl(&self) -> Command {
        let mut pg_ctl = command(&self.bin, "pg_ctl", self.as_root);
        pg_ctl
            .arg("-D")
            .arg(self.dir.path().join("data"))
            .arg("-l")
            .arg(self.dir.path().join("server.log"));
        pg_ctl
    }

    fn start(&self) -> Result<(), TestingError> {
        run(self.pg_ctl().args(["-o", &self.options, "-w", "-t", "30", "start"]), "pg_ctl start")
    }

    /// Starts the server in `dir/data` on a free loopback port.
    fn start_on_a_free_port(mut self) -> Result<PostgresServer, TestingError> {
        // A free port can be taken between our probe and the server's bind: try a few.
        let mut last = None;
        for _ in 0..3 {
            let port = free_port().map_err(TestingError::Process)?;
            self.options = format!(
                "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off \
                 -c synchronous_commit=off -c full_page_writes=off",
                self.dir.path().display()
            );
            match self.start() {
                Ok(()) => {
                    return Ok(PostgresServer {
                        url: format!("postgres://{ROLE}@127.0.0.1:{port}/postgres"),
                        port,
                        private: Some(self),
                    });
                }
                Err(error) => last = Some(error),
            }
        }
        let log = std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default();
        Err(last.unwrap_or(TestingError::PostgresFailed { step: "pg_ctl start", output: log }))
    }

    /// The postmaster's process id, from the first line of its `postmaster.pid`.
    fn postmaster_pid(&self) -> Result<u32, TestingError> {
        let file = self.dir.path().join("data").join("postmaster.pid");
        let text = std::fs::read_to_string(&file).map_err(TestingError::Process)?;
        text.lines().next().and_then(|line| line.trim().parse().ok()).ok_or_else(|| {
            TestingError::PostgresFailed { step: "read postmaster.pid", output: text.clone() }
        })
    }

    /// Sends `signal` to the postmaster, then to each of its children (backends, the WAL
    /// receiver, ...). Not to a process group: PostgreSQL puts every child in a session of
    /// its own. The postmaster first, so it forks no child the list would miss.
    fn signal_all(&self, signal: &str) -> Result<(), TestingError> {
        let postmaster = self.postmaster_pid()?;
        let send = |pid: u32| {
            run(Command::new("kill").arg(format!("-{signal}")).arg(pid.to_string()), "kill")
        };
        send(postmaster)?;
        for child in children_of(postmaster) {
            // A backend may exit between the listing and the signal.
            let _ = send(child);
        }
        Ok(())
    }
}

impl PostgresServer {
    /// The server from `DATABASE_URL` if that is set to a `postgres://` URL, else a private one.
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

    /// A private server, even when `DATABASE_URL` is set.
    ///
    /// # Panics
    /// When PostgreSQL is missing or does not come up, with a message that says why.
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
    /// [`TestingError`] when a private server cannot start.
    pub fn try_start() -> Result<Self, TestingError> {
        match std::env::var("DATABASE_URL") {
            Ok(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                let port = port_of_url(&url).unwrap_or(5432);
                Ok(PostgresServer { url, port, private: None })
            }
            _ => Self::try_start_private(),
        }
    }

    /// Like [`start_private`](Self::start_private), returning the error instead of panicking.
    ///
    /// # Errors
    /// [`TestingError::PostgresMissing`] without `initdb` and `pg_ctl`, or
    /// [`TestingError::PostgresFailed`] naming the step that failed and its output.
    pub fn try_start_private() -> Result<Self, TestingError> {
        let bin = bin_dir().ok_or(TestingError::PostgresMissing)?;
        let as_root = is_root();
        let dir =
            tempfile::Builder::new().prefix("pk-pg").tempdir().map_err(TestingError::Process)?;
        if as_root {
            run(Command::new("chown").arg(format!("{SERVICE_ACCOUNT}:")).arg(dir.path()), "chown")?;
        }
        let data = dir.path().join("data");
        let mut initdb = command(&bin, "initdb", as_root);
        initdb.arg("-D").arg(&data).args([
            "-U",
            ROLE,
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
            "--no-instructions",
        ]);
        run(&mut initdb, "initdb")?;
        PrivateServer { dir, bin, as_root, options: String::new() }.start_on_a_free_port()
    }

    /// A streaming replica of this private server: `pg_basebackup -R` of it into a
    /// temporary directory of its own, started on its own free port as a hot standby that
    /// answers reads and replays the primary's writes. Stopped on drop, before or after its
    /// primary.
    ///
    /// # Errors
    /// [`TestingError::NotOwned`] for the server of `DATABASE_URL`, or
    /// [`TestingError::PostgresFailed`] naming the step that failed.
    pub fn start_replica(&self) -> Result<Self, TestingError> {
        let primary = self.private.as_ref().ok_or(TestingError::NotOwned)?;
        let dir =
            tempfile::Builder::new().prefix("pk-pgr").tempdir().map_err(TestingError::Process)?;
        if primary.as_root {
            run(Command::new("chown").arg(format!("{SERVICE_ACCOUNT}:")).arg(dir.path()), "chown")?;
        }
        let mut backup = command(&primary.bin, "pg_basebackup", primary.as_root);
        backup
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", ROLE, "-D"])
            .arg(dir.path().join("data"))
            // -R writes standby.signal and the primary's connection; -X stream copies the
            // WAL written during the copy, so the standby starts consistent.
            .args(["-R", "-X", "stream", "--no-sync", "-c", "fast"]);
        run(&mut backup, "pg_basebackup")?;
        PrivateServer {
            dir,
            bin: primary.bin.clone(),
            as_root: primary.as_root,
            options: String::new(),
        }
        .start_on_a_free_port()
    }

    /// The URL to connect to, `postgres://perfkit@127.0.0.1:<port>/postgres` for a private
    /// server.
    #[must_use]
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The TCP port the server listens on.
    #[must_use]
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Whether this process started the server.
    #[must_use]
    pub fn is_private(&self) -> bool {
        self.private.is_some()
    }

    /// Stops a private server as an outage would (`pg_ctl stop -m immediate`: connections
    /// drop, nothing is flushed), for fault tests.
    ///
    /// # Errors
    /// [`TestingError::NotOwned`] for the server of `DATABASE_URL`, or
    /// [`TestingError::PostgresFailed`] when `pg_ctl` fails.
    pub fn stop(&self) -> Result<(), TestingError> {
        let private = self.private.as_ref().ok_or(TestingError::NotOwned)?;
        run(private.pg_ctl().args(["-m", "immediate", "-w", "stop"]), "pg_ctl stop")
    }

    /// Starts a stopped private server again, on the same port with the same data.
    ///
    /// # Errors
    /// [`TestingError::NotOwned`] for the server of `DATABASE_URL`, or
    /// [`TestingError::PostgresFailed`] when it does not come up.
    pub fn restart(&self) -> Result<(), TestingError> {
        self.private.as_ref().ok_or(TestingError::NotOwned)?.start()
    }

    /// Freezes a private server (SIGSTOP to the postmaster and every child): its port
    /// still accepts connections and nothing answers, as a hung host would behave. Until
    /// [`resume`](Self::resume), and drop resumes it before stopping it.
    ///
    /// # Errors
    /// [`TestingError::NotOwned`] for the server of `DATABASE_URL`, or
    /// [`TestingError::PostgresFailed`] when the signal cannot be sent.
    pub fn pause(&self) -> Result<(), TestingError> {
        self.private.as_ref().ok_or(TestingError::NotOwned)?.signal_all("STOP")
    }

    /// Lets a [`pause`](Self::pause)d server run again (SIGCONT).
    ///
    /// # Errors
    /// As [`pause`](Self::pause).
    pub fn resume(&self) -> Result<(), TestingError> {
        self.private.as_ref().ok_or(TestingError::NotOwned)?.signal_all("CONT")
    }
}

impl Drop for PostgresServer {
    fn drop(&mut self) {
        if let Some(private) = &self.private {
            // A paused server would not stop: let it run first (harmless when it runs).
            let _ = private.signal_all("CONT");
            let _ = private
                .pg_ctl()
                .args(["-m", "immediate", "-w", "stop"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}

/// `program` from `bin`, run as the service account when we are root.
fn command(bin: &Path, program: &str, as_root: bool) -> Command {
    let path = bin.join(program);
    if as_root {
        let mut command = Command::new("runuser");
        command.args(["-u", SERVICE_ACCOUNT, "--"]).arg(path);
        command
    } else {
        Command::new(path)
    }
}

fn run(command: &mut Command, step: &'static str) -> Result<(), TestingError> {
    let output: Output = command.stdin(Stdio::null()).output().map_err(TestingError::Process)?;
    if output.status.success() {
        return Ok(());
    }
    let mut text = String::from_utf8_lossy(&output.stderr).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stdout));
    Err(TestingError::PostgresFailed { step, output: text.trim().to_owned() })
}

/// The directory holding `initdb` and `pg_ctl`: `PG_BIN_DIR`, else the newest
/// `/usr/lib/postgresql/<version>/bin` (Debian keeps them off PATH), else PATH.
fn bin_dir() -> Option<PathBuf> {
    let has_tools = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    if let Some(dir) = std::env::var_os("PG_BIN_DIR").map(PathBuf::from) {
        return has_tools(&dir).then_some(dir);
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            has_tools(&bin).then_some((version, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Some(bin);
    }
    std::env::var_os("PATH")
        .and_then(|path| std::env::split_paths(&path).find(|dir| has_tools(dir)))
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|output| String::from_utf8_lossy(&output.stdout).trim() == "0")
}

/// The processes whose parent is `parent`, from `/proc/<pid>/stat` (its fourth field, after
/// the parenthesised command name, which may itself hold spaces and parentheses).
fn children_of(parent: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .flatten()
        .filter_map(|entry| {
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(entry.path().join("stat")).ok()?;
            let after_name = &stat[stat.rfind(')')? + 1..];
            let ppid: u32 = after_name.split_whitespace().nth(1)?.parse().ok()?;
            (ppid == parent).then_some(pid)
        })
        .collect()
}

/// The port of a `postgres://[user[:pass]@]host[:port][/db]` URL.
fn port_of_url(url: &str) -> Option<u16> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?']).next()?;
    let host_port = authority.rsplit('@').next()?;
    host_port.rsplit_once(':')?.1.parse().ok()
}

#[cfg(test)]
mod tests {
    use std::net::{SocketAddr, TcpStream};
    use std::time::Duration;

    use super::*;

    /// Runs one statement with `psql` on `server`, giving up after a second's connect.
    fn psql(server: &PostgresServer, sql: &str) -> Result<String, TestingError> {
        let private = server.private.as_ref().unwrap();
        let output = command(&private.bin, "psql", private.as_root)
            .env("PGCONNECT_TIMEOUT", "1")
            .args(["-X", "-A", "-t", "-d", server.url(), "-c", sql])
            .stdin(Stdio::null())
            .output()
            .map_err(TestingError::Process)?;
        if !output.status.success() {
            let output = String::from_utf8_lossy(&output.stderr).into_owned();
            return Err(TestingError::PostgresFailed { step: "psql", output });
        }
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
    }

    #[test]
    fn a_replica_replays_the_primarys_writes_on_its_own_port_and_pauses() {
        let primary = PostgresServer::start_private();
        let replica = primary.start_replica().unwrap();
        assert_ne!(replica.port(), primary.port());
        assert_eq!(psql(&replica, "SELECT pg_is_in_recovery()").unwrap(), "t");
        psql(&primary, "CREATE TABLE t (n int); INSERT INTO t VALUES (42)").unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while psql(&replica, "SELECT n FROM t").ok().as_deref() != Some("42") {
            assert!(std::time::Instant::now() < deadline, "the write never reached the replica");
            std::thread::sleep(Duration::from_millis(50));
        }
        assert!(psql(&replica, "INSERT INTO t VALUES (1)").is_err(), "a standby is read-only");

        replica.pause().unwrap();
        let address = SocketAddr::from(([127, 0, 0, 1], replica.port()));
        // The kernel still accepts the connection; the server never answers.
        assert!(TcpStream::connect_timeout(&address, Duration::from_secs(1)).is_ok());
        assert!(psql(&replica, "SELECT 1").is_err());
        replica.resume().unwrap();
        assert_eq!(psql(&replica, "SELECT n FROM t").unwrap(), "42");
    }

    #[test]
    fn port_of_url_reads_the_port() {
        assert_eq!(port_of_url("postgres://u:p@127.0.0.1:6543/db"), Some(6543));
        assert_eq!(port_of_url("postgres://127.0.0.1:7000"), Some(7000));
        assert_eq!(port_of_url("postgres://localhost/db"), None);
    }

    #[test]
    fn a_private_server_listens_on_its_own_port_until_dropped() {
        let server = PostgresServer::start_private();
        let address = SocketAddr::from(([127, 0, 0, 1], server.port()));
        assert_ne!(server.port(), 5432);
        assert!(TcpStream::connect_timeout(&address, Duration::from_secs(1)).is_ok());
        drop(server);
        assert!(TcpStream::connect_timeout(&address, Duration::from_secs(1)).is_err());
    }

    #[test]
    fn a_private_server_stops_and_comes_back_on_the_same_port() {
        let server = PostgresServer::start_private();
        let address = SocketAddr::from(([127, 0, 0, 1], server.port()));
        server.stop().unwrap();
        assert!(TcpStream::connect_timeout(&address, Duration::from_secs(1)).is_err());
        server.restart().unwrap();
        assert!(TcpStream::connect_timeout(&address, Duration::from_secs(1)).is_ok());
    }
}
