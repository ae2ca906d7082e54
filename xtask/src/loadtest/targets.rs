//! The comparison apps of `perfkit-loadtest-targets`, built and started by the xtask (which
//! depends on no perfkit crate): each binds a free loopback port and prints
//! `listening on ADDRESS`.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::server::{target_dir, with_open_file_limit};
use crate::shell::{cargo, execute};

const PACKAGE: &str = "perfkit-loadtest-targets";

/// Builds the release binary of the targets.
pub(crate) fn build() -> Result<()> {
    execute(cargo().args(["build", "--release", "-p", PACKAGE]))
        .context("cannot build the comparison apps")
}

fn binary() -> PathBuf {
    target_dir().join("release").join(PACKAGE)
}

/// The binary's `routes N` figures: recorder memory and scrape time with N routes.
pub(crate) fn routes_cost(count: usize) -> Result<serde_json::Value> {
    let output = Command::new(binary())
        .args(["routes", &count.to_string()])
        .output()
        .with_context(|| format!("cannot run {PACKAGE} routes"))?;
    if !output.status.success() {
        bail!("{PACKAGE} routes {count} failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    serde_json::from_slice(&output.stdout).context("the routes figures")
}

/// One comparison app, killed when dropped.
pub(crate) struct TargetApp {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub(crate) base: String,
}

impl TargetApp {
    /// Starts the app named `target` (`plain`, `perfkit`, `axum-prometheus`).
    pub(crate) fn start(target: &str) -> Result<TargetApp> {
        let mut child = with_open_file_limit(&binary().display().to_string())
            .arg(target)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .with_context(|| format!("cannot start {PACKAGE} {target}"))?;
        let stdout = child.stdout.take().context("app stdout")?;
        let (address_tx, address_rx) = mpsc::channel();
        // Reads the address, then keeps draining so the app never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(address) = line.strip_prefix("listening on ") {
                    let _ = address_tx.send(address.trim().to_owned());
                }
            }
        });
        let mut app = TargetApp { child, base: String::new() };
        let started = Instant::now();
        let address = loop {
            if let Ok(address) = address_rx.recv_timeout(Duration::from_millis(100)) {
                break address;
            }
            if let Some(status) = app.child.try_wait()? {
                bail!("{PACKAGE} {target} exited with {status} before listening");
            }
            if started.elapsed() > Duration::from_secs(30) {
                bail!("{PACKAGE} {target} did not listen within 30 s");
            }
        };
        app.base = format!("http://{address}");
        Ok(app)
    }
}

impl Drop for TargetApp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
