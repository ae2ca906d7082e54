//! Starting the real `perfkit-server` binary for a test, reading its JSON logs, and stopping
//! it with a signal; plus a few words of Redis protocol for checking keys behind its back.

#![allow(dead_code)] // each test file uses a different part

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

pub(crate) mod prometheus;
pub(crate) mod webdriver;

/// Longest wait for the server to start, answer, or exit: generous for a loaded CI machine.
pub(crate) const PATIENCE: Duration = Duration::from_secs(30);
const POLL: Duration = Duration::from_millis(20);

/// Every environment variable the server reads, removed so the caller's shell cannot leak in.
const SERVER_VARIABLES: [&str; 29] = [
    "PERFKIT_CONFIG",
    "PERFKIT_BIND",
    "PERFKIT_REDIS_URL",
    "PERFKIT_NAMESPACE",
    "PERFKIT_DEMO",
    "PERFKIT_LOG_FORMAT",
    "PERFKIT_ADMIN_TOKEN",
    "PERFKIT_NEAR_CACHE",
    "PERFKIT_ALERTMANAGER_URL",
    "PERFKIT_WEBHOOK_URL",
    "PERFKIT_WEBHOOK_TOKEN",
    "PERFKIT_INSTANCE_ID",
    "PERFKIT_DATABASE_URL",
    "PERFKIT_DATA_DIR",
    "PERFKIT_HEADER_READ_TIMEOUT",
    "PERFKIT_KEEP_ALIVE_TIMEOUT",
    "PERFKIT_MAX_CONNECTIONS",
    "PERFKIT_RUNTIME",
    "TOKIO_WORKER_THREADS",
    "PERFKIT_TRACING",
    "PERFKIT_TRACE_KEEP_SLOWER_THAN",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_SERVICE_NAME",
    "OTEL_RESOURCE_ATTRIBUTES",
    "OTEL_TRACES_SAMPLER",
    "OTEL_TRACES_SAMPLER_ARG",
    "OTEL_SDK_DISABLED",
    "OTEL_TRACES_EXPORTER",
];

/// The server binary with a clean `PERFKIT_*` environment and `info` logs.
pub(crate) fn server_command() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_perfkit-server"));
    for variable in SERVER_VARIABLES {
        command.env_remove(variable);
    }
    command.env("RUST_LOG", "info").env_remove("RUST_BACKTRACE");
    command
}

/// Runs `command` to its end, killing it if it outlives [`PATIENCE`].
pub(crate) fn run_to_exit(mut command: Command) -> Output {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start perfkit-server");
    let started = Instant::now();
    while child.try_wait().expect("poll perfkit-server").is_none() {
        if started.elapsed() > PATIENCE {
            let _ = child.kill();
            let output = child.wait_with_output().expect("collect output");
            panic!(
                "perfkit-server still running after {PATIENCE:?}; stdout: {}; stderr: {}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        std::thread::sleep(POLL);
    }
    child.wait_with_output().expect("collect output")
}

/// A running server on a free loopback port, logging JSON lines that the test can read.
pub(crate) struct Server {
    child: Child,
    /// The demo's data directory, this server's alone (removed when the test ends).
    data_dir: tempfile::TempDir,
    logs: Arc<Mutex<Vec<Value>>>,
    stderr: Arc<Mutex<String>>,
    /// `http://127.0.0.1:<port>`.
    pub(crate) base: String,
}

impl Server {
    /// Starts the server with `args` (plus `--bind 127.0.0.1:0 --log-format json`) and `env`,
    /// and waits until it logs the address it listens on.
    pub(crate) fn start(args: &[&str], env: &[(&str, &str)]) -> Server {
        let data_dir = tempfile::tempdir().expect("a data directory");
        let mut command = server_command();
        command.args(["--bind", "127.0.0.1:0", "--log-format", "json"]).args(args);
        // Below the caller's env, so a test can still name its own.
        command.env("PERFKIT_DATA_DIR", data_dir.path());
        command.envs(env.iter().copied());
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start perfkit-server");
        let logs = Arc::new(Mutex::new(Vec::new()));
        let stdout = child.stdout.take().expect("stdout is piped");
        let sink = Arc::clone(&logs);
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let value = serde_json::from_str(&line).unwrap_or(Value::String(line));
                sink.lock().unwrap().push(value);
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut pipe = child.stderr.take().expect("stderr is piped");
        let sink = Arc::clone(&stderr);
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            sink.lock().unwrap().push_str(&text);
        });
        let mut server = Server { child, data_dir, logs, stderr, base: String::new() };
        let started = Instant::now();
        let address = loop {
            if let Some(line) = server.log_line("perfkit-server listening") {
                break line["address"].as_str().expect("address field").to_owned();
            }
            if let Some(status) = server.child.try_wait().expect("poll perfkit-server") {
                std::thread::sleep(Duration::from_millis(100)); // let the readers finish
                panic!(
                    "perfkit-server exited with {status} before listening; logs: {:?}; stderr: {}",
                    server.logs.lock().unwrap(),
                    server.stderr.lock().unwrap()
                );
            }
            assert!(started.elapsed() < PATIENCE, "perfkit-server did not listen in time");
            std::thread::sleep(POLL);
        };
        server.base = format!("http://{address}");
        server
    }

    /// The first JSON log line whose message is `message`.
    pub(crate) fn log_line(&self, message: &str) -> Option<Value> {
        self.log_lines(message).into_iter().next()
    }

    /// Every JSON log line whose message is `message`.
    pub(crate) fn log_lines(&self, message: &str) -> Vec<Value> {
        self.logs
            .lock()
            .unwrap()
            .iter()
            .filter(|line| line["message"].as_str().is_some_and(|m| m.starts_with(message)))
            .cloned()
            .collect()
    }

    /// Everything the server wrote so far, stdout's lines (JSON or not) then stderr.
    pub(crate) fn output(&self) -> String {
        let mut text: String =
            self.logs.lock().unwrap().iter().map(|line| format!("{line}\n")).collect();
        text.push_str(&self.stderr.lock().unwrap());
        text
    }

    /// `base` + `path`.
    /// The server's process id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The server process's resident set, from the kernel.
    pub(crate) fn rss_bytes(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .expect("the server's /proc status");
        let line = status.lines().find(|line| line.starts_with("VmRSS:")).expect("a VmRSS line");
        let kib: u64 = line.split_whitespace().nth(1).and_then(|n| n.parse().ok()).expect("kB");
        kib * 1024
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `path` read as JSON, after checking the answer is a success.
    pub(crate) async fn get_json(&self, client: &reqwest::Client, path: &str) -> Value {
        let answer = client.get(self.url(path)).send().await.expect("the server answers");
        assert!(answer.status().is_success(), "{path}: {}", answer.status());
        answer.json().await.expect("a JSON answer")
    }

    /// The Prometheus exposition, as text.
    pub(crate) async fn exposition(&self, client: &reqwest::Client) -> String {
        let answer = client.get(self.url("/api/performance/metrics/prometheus")).send().await;
        answer.expect("the server answers").text().await.expect("the exposition's text")
    }

    /// Waits until `/api/performance/health` answers.
    pub(crate) async fn wait_for_health(&self, client: &reqwest::Client) {
        let started = Instant::now();
        loop {
            let response = client.get(self.url("/api/performance/health")).send().await;
            if response.is_ok_and(|response| response.status().is_success()) {
                return;
            }
            assert!(started.elapsed() < PATIENCE, "/api/performance/health never answered 200");
            tokio::time::sleep(POLL).await;
        }
    }

    /// Sends `signal` (`HUP`, ...) to the process.
    pub(crate) fn signal(&self, signal: &str) {
        let pid = self.child.id().to_string();
        let sent =
            Command::new("kill").args([&format!("-{signal}"), &pid]).status().expect("run kill");
        assert!(sent.success(), "kill -{signal} {pid} failed");
    }

    /// Sends SIGTERM and waits for the process to exit.
    pub(crate) fn terminate(mut self) -> (ExitStatus, Vec<Value>) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().expect("run kill");
        assert!(sent.success(), "kill -TERM {pid} failed");
        let started = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("poll perfkit-server") {
                break status;
            }
            assert!(
                started.elapsed() < PATIENCE,
                "perfkit-server still running {PATIENCE:?} after SIGTERM"
            );
            std::thread::sleep(POLL);
        };
        std::thread::sleep(Duration::from_millis(100)); // let the log reader finish
        let logs = self.logs.lock().unwrap().clone();
        (status, logs)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends one Redis command over a fresh connection and returns the reply's first line.
pub(crate) fn redis_command(port: u16, args: &[&str]) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to redis");
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut request = format!("*{}\r\n", args.len());
    for arg in args {
        request.push_str(&format!("${}\r\n{arg}\r\n", arg.len()));
    }
    stream.write_all(request.as_bytes()).expect("send to redis");
    let mut reply = String::new();
    BufReader::new(stream).read_line(&mut reply).expect("read from redis");
    reply.trim_end().to_owned()
}
