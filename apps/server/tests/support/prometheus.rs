//! A private Prometheus (Debian's `prometheus` binary) scraping a test's server, and the
//! programs of its package, found on PATH or skipped with a printed reason.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use reqwest::Client;
use serde_json::Value;

/// The program on PATH, or `None` with a line saying the test is skipped and why.
pub(crate) fn program(name: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path).map(|dir| dir.join(name)).find(|file| file.is_file())
    });
    if found.is_none() {
        eprintln!(
            "SKIPPED: {name} is not installed (Debian: apt-get install prometheus; \
             `cargo xtask ci` installs it)"
        );
    }
    found
}

/// A Prometheus for one test, killed on drop.
pub(crate) struct Prometheus {
    child: Child,
    pub(crate) base: String,
    dir: tempfile::TempDir,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Prometheus {
    /// What Prometheus logged so far, for a failure's message.
    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("prometheus.log")).unwrap_or_default()
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Starts `binary` scraping `target` (host:port) every second, on a free port.
pub(crate) fn start_prometheus(binary: &Path, target: &str) -> Prometheus {
    start_prometheus_with(binary, target, &[])
}

/// [`start_prometheus`] with these `--enable-feature` names.
pub(crate) fn start_prometheus_with(binary: &Path, target: &str, features: &[&str]) -> Prometheus {
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
         scrape_configs:\n  - job_name: perfkit\n    \
         metrics_path: /api/performance/metrics/prometheus\n    \
         static_configs:\n      - targets: [\"{target}\"]\n"
    );
    std::fs::write(dir.path().join("prometheus.yml"), config).unwrap();
    let port = free_port();
    let log = std::fs::File::create(dir.path().join("prometheus.log")).unwrap();
    let mut command = Command::new(binary);
    command
        .arg(format!("--config.file={}", dir.path().join("prometheus.yml").display()))
        .arg(format!("--storage.tsdb.path={}", dir.path().join("data").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"));
    if !features.is_empty() {
        command.arg(format!("--enable-feature={}", features.join(",")));
    }
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start prometheus");
    Prometheus { child, base: format!("http://127.0.0.1:{port}"), dir }
}

/// The result of an instant query, asserted to succeed.
pub(crate) async fn query(client: &Client, prometheus: &Prometheus, expr: &str) -> Vec<Value> {
    let answer: Value = client
        .get(format!("{}/api/v1/query", prometheus.base))
        .query(&[("query", expr)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["status"], "success", "{expr}: {answer}");
    answer["data"]["result"].as_array().cloned().unwrap_or_default()
}
