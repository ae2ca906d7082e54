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
