//! `perfkit-server`: the perfkit HTTP API, its Prometheus endpoint and (with `--demo`) an
//! example workload, over an in-memory or Redis cache.
//!
//! Settings come from flags, then `PERFKIT_*` environment variables, then a TOML config file,
//! then defaults (see `config`). Errors at start-up (a bad flag, a bad config file, an address
//! in use) print one clear message and exit non-zero; SIGINT or SIGTERM drains in-flight
//! requests and stops the service before exiting 0; SIGHUP reloads the alert rules, inhibit
//! rules and optimizer config from the config file (see `reload`).

mod admin_token;
mod allocator;
mod cli;
mod config;
mod demo;
mod json_lines;
#[cfg(feature = "leak-stream-descriptors")]
mod leak;
mod logging;
mod program_info;
mod reload;
mod runtime;
mod security;
mod serve;
mod traces;
mod wiring;

use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use perfkit::core::SystemClock;
use perfkit::metrics::{Recorder, RecorderConfig};

/// Exit code for a settings error (bad environment variable or config file, a Redis URL or
/// credentials that cannot work), like clap's usage errors.
const SETTINGS_ERROR: u8 = 2;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let env = |name: &str| std::env::var(name).ok();
    let settings = match config::load(&cli, &env) {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("perfkit-server: {error:#}");
            return ExitCode::from(SETTINGS_ERROR);
        }
    };
    // Traces start before logging: the pipeline's layer is one of the subscriber's. It
    // needs no runtime (its exports run on a thread of their own).
    let traces = match settings.tracing.as_ref().map(traces::start).transpose() {
        Ok(traces) => traces,
        Err(error) => {
            eprintln!("perfkit-server: cannot start traces: {error:#}");
            return ExitCode::FAILURE;
        }
    };
    // The recorder exists before logging starts: the query-timing layer records into it.
    let config =
        RecorderConfig { business: settings.business.clone(), ..RecorderConfig::default() };
    let recorder = match Recorder::new(config, Arc::new(SystemClock)) {
        Ok(recorder) => Arc::new(recorder),
        Err(error) => {
            eprintln!("perfkit-server: {error}");
            return ExitCode::from(SETTINGS_ERROR);
        }
    };
    logging::init(settings.log_format, Arc::clone(&recorder), traces.as_ref());
    // Before the runtime starts, so every crate's counter!/gauge!/histogram! lands in it
    // from the first: the demo's business figures, and any library's.
    if let Err(error) = perfkit::metrics::facade::install(Arc::clone(&recorder)) {
        eprintln!("perfkit-server: {error}");
        return ExitCode::FAILURE;
    }
    let program = program_info::program_info(config::source(&cli, &env));
    let outcome = settings.runtime.build().map_err(anyhow::Error::from).and_then(|runtime| {
        runtime.block_on(wiring::run(settings, cli, recorder, program, traces))
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(error = %format!("{error:#}"), "perfkit-server failed");
            eprintln!("perfkit-server: {error:#}");
            if is_settings_error(&error) {
                ExitCode::from(SETTINGS_ERROR)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

/// Whether a failure after start-up began is still a wrong setting: the cache refused its
/// configuration (Redis rejected the URL's credentials, say).
fn is_settings_error(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        matches!(
            cause.downcast_ref::<perfkit::cache::CacheError>(),
            Some(perfkit::cache::CacheError::InvalidConfig(_))
        )
    })
}
