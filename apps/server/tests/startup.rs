//! Start-up failures of the real binary: each prints one clear message to stderr and exits
//! non-zero, without a panic or a backtrace; and `--help` documents every setting.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::net::TcpListener;
use std::process::Output;

use support::{run_to_exit, server_command};

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Exited with a non-zero code, saying `needle` and nothing like a panic.
fn assert_clear_failure(output: &Output, needle: &str) {
    let message = stderr(output);
    assert!(!output.status.success(), "exited successfully; stderr: {message}");
    assert!(output.status.code().is_some(), "killed by a signal: {:?}", output.status);
    assert!(message.contains(needle), "{needle:?} not in stderr: {message}");
    for sign_of_a_crash in ["panicked", "backtrace", "RUST_BACKTRACE"] {
        assert!(!message.contains(sign_of_a_crash), "stderr looks like a crash: {message}");
    }
}

#[test]
fn an_address_in_use_is_a_clear_error() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let mut command = server_command();
    command.args(["--bind", &address]);
    let output = run_to_exit(command);
    assert_clear_failure(&output, &format!("cannot listen on {address}"));
    assert!(stderr(&output).to_lowercase().contains("in use"), "{}", stderr(&output));
}

#[test]
fn a_bad_config_file_is_a_clear_error_naming_the_file_and_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("perfkit.toml");
    std::fs::write(&path, "[server]\nbind = 8080\n").unwrap();
    let mut command = server_command();
    command.arg("--config").arg(&path);
    let output = run_to_exit(command);
    assert_clear_failure(&output, &path.display().to_string());
    assert_clear_failure(&output, "bind");

    std::fs::write(&path, "[optimizer.cacheOptimization]\nhitRateThreshold = 7\n").unwrap();
    let mut command = server_command();
    command.env("PERFKIT_CONFIG", &path);
    assert_clear_failure(&run_to_exit(command), "hitRateThreshold");

    std::fs::write(&path, "[dashboard]\nbusinessMetrics = [\"9lives\"]\n").unwrap();
    let mut command = server_command();
    command.arg("--config").arg(&path);
    let output = run_to_exit(command);
    assert_eq!(output.status.code(), Some(2), "a settings error: {}", stderr(&output));
    assert_clear_failure(&output, "dashboard.businessMetrics[0]");

    for bad in ["jaeger:16686/trace/{traceId}", "http://jaeger:16686/trace/"] {
        std::fs::write(&path, format!("[tracing]\ntraceUrl = \"{bad}\"\n")).unwrap();
        let mut command = server_command();
        command.arg("--config").arg(&path);
        assert_settings_error(&run_to_exit(command), "tracing.traceUrl");
    }
}

#[test]
fn a_missing_config_file_is_a_clear_error() {
    let mut command = server_command();
    command.args(["--config", "/nonexistent/perfkit.toml"]);
    assert_clear_failure(
        &run_to_exit(command),
        "cannot read config file /nonexistent/perfkit.toml",
    );
}

#[test]
fn bad_flag_and_environment_values_are_clear_errors() {
    let mut command = server_command();
    command.args(["--bind", "localhost"]);
    let output = run_to_exit(command);
    assert_clear_failure(&output, "--bind");
    assert_eq!(output.status.code(), Some(2));

    let mut command = server_command();
    command.env("PERFKIT_LOG_FORMAT", "xml");
    let output = run_to_exit(command);
    assert_clear_failure(&output, "PERFKIT_LOG_FORMAT");
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn help_lists_every_flag_and_variable() {
    let mut command = server_command();
    command.arg("--help");
    let output = run_to_exit(command);
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    for word in [
        "--config",
        "--bind",
        "--redis-url",
        "--namespace",
        "--no-near-cache",
        "--demo",
        "--log-format",
        "PERFKIT_CONFIG",
        "PERFKIT_BIND",
        "PERFKIT_REDIS_URL",
        "PERFKIT_NAMESPACE",
        "PERFKIT_NEAR_CACHE",
        "PERFKIT_DEMO",
        "PERFKIT_LOG_FORMAT",
        "PERFKIT_ADMIN_TOKEN",
        "127.0.0.1:8080",
    ] {
        assert!(help.contains(word), "{word} missing from --help:\n{help}");
    }
}

/// Exited 2 (a settings error) with exactly one line on stderr that says `needle`.
fn assert_settings_error(output: &Output, needle: &str) {
    assert_clear_failure(output, needle);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(output));
    assert_eq!(stderr(output).trim_end().lines().count(), 1, "one line: {}", stderr(output));
}

#[test]
fn a_redis_url_that_cannot_work_is_a_settings_error_not_a_degraded_run() {
    for (url, said) in [
        ("http://nope", "scheme \"http\""),
        ("redis://127.0.0.1:99999", "redis url"),
        ("redis://", "no host"),
        ("redis://:6379", "no host"),
        ("redis://127.0.0.1:6379/not-a-db", "redis url"),
        ("nope", "not a URL"),
    ] {
        let mut command = server_command();
        command.args(["--redis-url", url]);
        assert_settings_error(&run_to_exit(command), said);
    }
    let mut command = server_command();
    command.env("PERFKIT_REDIS_URL", "http://user:hunter2@nope");
    let output = run_to_exit(command);
    assert_settings_error(&output, "scheme \"http\"");
    assert!(!stderr(&output).contains("hunter2"), "the password is never shown");
}

#[test]
fn an_unreadable_tls_file_is_a_settings_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("perfkit.toml");
    let missing = dir.path().join("missing-ca.pem");
    std::fs::write(
        &path,
        format!(
            "[cache]\nredisUrl = \"rediss://127.0.0.1:1\"\ntlsCaFile = {:?}\n",
            missing.display().to_string()
        ),
    )
    .unwrap();
    let mut command = server_command();
    command.arg("--config").arg(&path);
    assert_settings_error(&run_to_exit(command), &missing.display().to_string());

    let not_pem = dir.path().join("not-pem.txt");
    std::fs::write(&not_pem, "just text").unwrap();
    std::fs::write(
        &path,
        format!(
            "[cache]\nredisUrl = \"rediss://127.0.0.1:1\"\ntlsCaFile = {:?}\n",
            not_pem.display().to_string()
        ),
    )
    .unwrap();
    let mut command = server_command();
    command.arg("--config").arg(&path);
    assert_settings_error(&run_to_exit(command), "no PEM block");
}

#[test]
fn a_non_loopback_address_needs_a_configured_admin_token() {
    for bind in ["0.0.0.0:0", "[::]:0"] {
        let mut command = server_command();
        command.args(["--bind", bind]);
        let output = run_to_exit(command);
        assert_settings_error(&output, "without a configured admin token");
        assert!(stderr(&output).contains("PERFKIT_ADMIN_TOKEN"), "{}", stderr(&output));
    }
    // With a configured token it listens (on every interface; the test only asks loopback).
    let mut command = server_command();
    command
        .args(["--bind", "0.0.0.0:0", "--log-format", "json"])
        .env("PERFKIT_ADMIN_TOKEN", "a-configured-token-of-some-length");
    let mut child = command
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let listening = std::io::BufRead::lines(std::io::BufReader::new(stdout))
        .map_while(Result::ok)
        .find(|line| line.contains("perfkit-server listening"));
    let _ = child.kill();
    let _ = child.wait();
    let line = listening.expect("listened with a configured token");
    assert!(line.contains("0.0.0.0:"), "{line}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_redis_unreachable_at_start_up_no_request_pays_the_timeout() {
    // A port nobody listens on: bound, then released.
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("perfkit.toml");
    // A command timeout far above what the request may take, so paying it would show.
    std::fs::write(
        &path,
        format!(
            "[cache]\nredisUrl = \"redis://127.0.0.1:{port}\"\nconnectTimeout = \"500ms\"\n\
             commandTimeout = \"5s\"\n[demo]\nenabled = true\n"
        ),
    )
    .unwrap();
    let server = support::Server::start(&["--config", path.to_str().unwrap()], &[]);
    let client = reqwest::Client::new();
    let started = std::time::Instant::now();
    let response = client.get(server.url("/api/posts?page=1&limit=5")).send().await.unwrap();
    let took = started.elapsed();
    assert_eq!(response.status(), 200, "the demo fails open: {:?}", response.text().await);
    assert!(took < std::time::Duration::from_millis(1500), "first request took {took:?}");
    assert!(server.log_line("redis not reachable at start-up").is_some());
}
