//! One sample of the server's resources, taken in one of the soak's phases.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::loadtest::http::get_text;
use crate::loadtest::process::resident_kib;
use crate::server::Server;

/// Where in the soak a sample was taken. Only samples taken under load are compared with
/// each other, and only quiet ones with each other: a quiet server holds fewer descriptors
/// and tasks than a loaded one, so a comparison across the two hides a leak.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Before any load.
    Start,
    /// Under load, while caches fill and pools open.
    WarmUp,
    /// Load stopped after the warm-up and the server settled: the baseline.
    QuietBaseline,
    /// Under load after the warm-up: the samples that are compared.
    Loaded,
    /// Load stopped at the end and the server settled: must be back at the baseline.
    QuietAfter,
}

impl Phase {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Phase::Start => "start",
            Phase::WarmUp => "warm-up",
            Phase::QuietBaseline => "quiet (baseline)",
            Phase::Loaded => "loaded",
            Phase::QuietAfter => "quiet after",
        }
    }
}

/// The server's resources at one moment.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Sample {
    /// Since the soak started.
    pub(crate) at: Duration,
    pub(crate) phase: Phase,
    pub(crate) rss_kib: u64,
    pub(crate) open_fds: u64,
    /// `tokio_alive_tasks` from the exposition.
    pub(crate) tasks: u64,
}

impl Sample {
    pub(crate) fn take(server: &Server, started: Instant, phase: Phase) -> Result<Sample> {
        let pid = server.pid();
        let open_fds = std::fs::read_dir(format!("/proc/{pid}/fd"))
            .context("the server's descriptors")?
            .count() as u64;
        let exposition = get_text(&server.base, "/api/performance/metrics/prometheus")?;
        Ok(Sample {
            at: started.elapsed(),
            phase,
            rss_kib: resident_kib(pid)?,
            open_fds,
            tasks: alive_tasks(&exposition)?,
        })
    }

    /// A quiet sample once the server has settled: the load's connections closed and their
    /// tasks ended. Descriptors and tasks are read each second until two readings agree
    /// (at most `SETTLE_LIMIT`), so a straggling close is not taken for a leak.
    pub(crate) fn take_settled(server: &Server, started: Instant, phase: Phase) -> Result<Sample> {
        const SETTLE_LIMIT: Duration = Duration::from_secs(20);
        let settling = Instant::now();
        let mut previous = Sample::take(server, started, phase)?;
        loop {
            std::thread::sleep(Duration::from_secs(1));
            let sample = Sample::take(server, started, phase)?;
            let steady = sample.open_fds == previous.open_fds && sample.tasks == previous.tasks;
            if steady || settling.elapsed() >= SETTLE_LIMIT {
                return Ok(sample);
            }
            previous = sample;
        }
    }

    /// The three series, by name, for the table, the chart and the verdicts.
    pub(crate) fn values(&self) -> [(&'static str, f64); 3] {
        #[allow(clippy::cast_precision_loss)] // figures for people
        [
            ("RSS (MiB)", self.rss_kib as f64 / 1024.0),
            ("open descriptors", self.open_fds as f64),
            ("tokio tasks", self.tasks as f64),
        ]
    }
}

fn alive_tasks(exposition: &str) -> Result<u64> {
    exposition
        .lines()
        .find_map(|line| line.strip_prefix("tokio_alive_tasks "))
        .and_then(|value| value.trim().parse::<f64>().ok())
        .map(|value| value as u64)
        .context("no tokio_alive_tasks in the exposition")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tasks_are_read_from_the_exposition() {
        let text = "# HELP tokio_alive_tasks Tasks\n# TYPE tokio_alive_tasks gauge\ntokio_alive_tasks 17\n";
        assert_eq!(alive_tasks(text).unwrap(), 17);
        assert!(alive_tasks("up 1\n").is_err());
    }
}
