//! Which tokio runtime the server runs on: the multi-thread one (the default; its worker
//! count is tokio's, one per core unless `TOKIO_WORKER_THREADS` says otherwise), or a
//! `current_thread` one, where everything, exports of traces included, would otherwise
//! share one thread. The choice exists so that a host's smallest shape can be run and
//! checked (`cargo xtask chaos` runs the trace collector's faults on both).

use std::str::FromStr;

use serde::Deserialize;

/// The server's tokio runtime.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Runtime {
    /// tokio's multi-thread runtime: a worker per core, or `TOKIO_WORKER_THREADS`.
    #[default]
    MultiThread,
    /// tokio's `current_thread` runtime: every task on the main thread.
    CurrentThread,
}

impl FromStr for Runtime {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim().to_ascii_lowercase().replace('_', "-").as_str() {
            "multi-thread" => Ok(Runtime::MultiThread),
            "current-thread" => Ok(Runtime::CurrentThread),
            other => Err(format!("expected multi-thread or current-thread, got {other:?}")),
        }
    }
}

impl Runtime {
    /// The runtime, every driver enabled.
    pub(crate) fn build(self) -> std::io::Result<tokio::runtime::Runtime> {
        match self {
            Runtime::MultiThread => tokio::runtime::Builder::new_multi_thread(),
            Runtime::CurrentThread => tokio::runtime::Builder::new_current_thread(),
        }
        .enable_all()
        .build()
    }

    /// `multi-thread` or `current-thread`, as the settings write it.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Runtime::MultiThread => "multi-thread",
            Runtime::CurrentThread => "current-thread",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_either_runtime_in_either_spelling() {
        assert_eq!("current_thread".parse::<Runtime>(), Ok(Runtime::CurrentThread));
        assert_eq!(" Multi-Thread".parse::<Runtime>(), Ok(Runtime::MultiThread));
        assert!("green-threads".parse::<Runtime>().unwrap_err().contains("current-thread"));
    }

    #[test]
    fn builds_the_runtime_it_names() {
        let flavor = |runtime: Runtime| runtime.build().unwrap().handle().runtime_flavor();
        assert_eq!(flavor(Runtime::CurrentThread), tokio::runtime::RuntimeFlavor::CurrentThread);
        assert_eq!(flavor(Runtime::MultiThread), tokio::runtime::RuntimeFlavor::MultiThread);
    }
}
