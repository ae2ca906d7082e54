//! The comparison apps of `perfkit-loadtest-targets`, built and started by the xtask (which
//! depends on no perfkit crate): each binds a free loopback port and prints
//! `listening on ADDRESS`.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use anyhow::{Context, Result, bail};

use super::placement::Placement;
use crate::server::{listening_address, target_dir};
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
    /// Starts the app named `target` (`plain`, `perfkit`, `perfkit-traced`,
    /// `axum-prometheus`, `sized=BYTES`, `pages=BYTES`) where `placement` puts the measured
    /// process, with `env` besides.
    pub(crate) fn start(
        target: &str,
        placement: &Placement,
        env: &[(&str, &str)],
    ) -> Result<TargetApp> {
        let child = placement
            .server_command(&binary().display().to_string())
            .arg(target)
            .env("RUST_LOG", "warn")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .with_context(|| format!("cannot start {PACKAGE} {target}"))?;
        let mut app = TargetApp { child, base: String::new() };
        let address = listening_address(&mut app.child, &format!("{PACKAGE} {target}"), |line| {
            line.strip_prefix("listening on ").map(|address| address.trim().to_owned())
        })?;
        app.base = format!("http://{address}");
        Ok(app)
    }
}

impl TargetApp {
    /// The app's process id, to read its CPU time.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for TargetApp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
