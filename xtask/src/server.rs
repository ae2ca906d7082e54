//! A perfkit-server started for a measurement or a check (loadtest, schemathesis): on a free
//! loopback port, with a known admin token, stopped with SIGTERM and a bounded wait.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::shell::{execute, workspace_root};

/// The admin token the started server uses. Not a secret: it only keeps the server from
/// generating and logging one, so the caller can send admin requests.
pub(crate) const ADMIN_TOKEN: &str = "xtask-token-not-a-secret";

/// `program` under `sh` with the open-file limit raised to the hard limit: a thousand
/// connections need a thousand descriptors on each side.
pub(crate) fn with_open_file_limit(program: &str) -> Command {
    let mut command = Command::new("sh");
    command.args(["-c", "ulimit -n \"$(ulimit -Hn)\" 2>/dev/null; exec \"$@\"", "sh", program]);
    command
}

/// The perfkit-server binary of a cargo profile directory (`debug`, `release`).
pub(crate) fn binary_path(profile: &str) -> PathBuf {
    target_dir().join(profile).join("perfkit-server")
}

/// Cargo's target directory (`$CARGO_TARGET_DIR` or the workspace's `target/`).
pub(crate) fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| workspace_root().join("target"), PathBuf::from)
}

/// Waits (at most 30 s) for `child` to print the address it listens on, read from its
/// stdout line by line with `address_in`; then keeps draining stdout, so the child never
/// blocks on a full pipe. `what` names the child in errors.
pub(crate) fn listening_address(
    child: &mut Child,
    what: &str,
    address_in: fn(&str) -> Option<String>,
) -> Result<String> {
    let stdout = child.stdout.take().with_context(|| format!("{what}: no stdout"))?;
    let (address_tx, address_rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(address) = address_in(&line) {
                let _ = address_tx.send(address);
            }
        }
    });
    let started = Instant::now();
    loop {
        if let Ok(address) = address_rx.recv_timeout(Duration::from_millis(100)) {
            return Ok(address);
        }
        if let Some(status) = child.try_wait()? {
            bail!("{what} exited with {status} before listening");
        }
        if started.elapsed() > Duration::from_secs(30) {
            bail!("{what} did not listen within 30 s");
        }
    }
}

/// A perfkit-server on a free loopback port, stopped (SIGTERM) by [`Server::stop`] or killed
/// when dropped.
pub(crate) struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub(crate) base: String,
}

impl Server {
    /// Starts `binary` with `extra_args` and waits until it listens.
    pub(crate) fn start(binary: &std::path::Path, extra_args: &[&str]) -> Result<Server> {
        Server::start_with(with_open_file_limit(&binary.display().to_string()), extra_args)
    }

    /// Starts `command` (the server binary, perhaps under `taskset`) with `extra_args`.
    /// The demo's data lives under target/ unless `command` names its own
    /// `PERFKIT_DATA_DIR` (two demos at once must not share one SQLite file).
    pub(crate) fn start_with(mut command: Command, extra_args: &[&str]) -> Result<Server> {
        if !command.get_envs().any(|(name, _)| name == "PERFKIT_DATA_DIR") {
            // The demo's SQLite database, seeded once and kept between runs, under target/
            // rather than wherever xtask was started.
            command.env("PERFKIT_DATA_DIR", target_dir().join("perfkit-data"));
        }
        let child = command
            .args(["--bind", "127.0.0.1:0", "--log-format", "json"])
            .args(extra_args)
            .env("RUST_LOG", "warn,perfkit_server=info")
            // Not a secret: it only keeps the server from generating and logging one.
            .env("PERFKIT_ADMIN_TOKEN", ADMIN_TOKEN)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .with_context(|| format!("cannot start {command:?}"))?;
        let mut server = Server { child, base: String::new() };
        let address = listening_address(&mut server.child, "the server", |line| {
            let json = serde_json::from_str::<serde_json::Value>(line).ok()?;
            (json["message"] == "perfkit-server listening")
                .then(|| json["address"].as_str().map(str::to_owned))
                .flatten()
        })?;
        server.base = format!("http://{address}");
        println!("server listening on {}", server.base);
        Ok(server)
    }

    /// The server's process id (the shell that raised the file limit exec'd into it).
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGTERM, then a bounded wait for a clean exit.
    pub(crate) fn stop(&mut self) -> Result<()> {
        let pid = self.child.id().to_string();
        execute(Command::new("kill").args(["-TERM", &pid]))?;
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait()? {
                if !status.success() {
                    bail!("the server exited with {status} after SIGTERM");
                }
                println!("server stopped cleanly after SIGTERM");
                return Ok(());
            }
            if started.elapsed() > Duration::from_secs(15) {
                let _ = self.child.kill();
                bail!("the server did not stop within 15 s of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
