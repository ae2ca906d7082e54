//! One sample of the server's resources, and how much each grew after the warm-up.

use std::fmt;
use std::fmt::Write as _;
use std::time::Duration;

use anyhow::{Context, Result};

use super::activity::Counts;
use crate::loadtest::http::get_text;
use crate::loadtest::process::resident_kib;
use crate::server::Server;

/// The server's resources at one moment.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Sample {
    /// Since the soak started.
    pub(crate) at: Duration,
    pub(crate) rss_kib: u64,
    pub(crate) open_fds: u64,
    /// `tokio_alive_tasks` from the exposition.
    pub(crate) tasks: u64,
}

impl Sample {
    pub(crate) fn take(server: &Server, at: Duration) -> Result<Sample> {
        let pid = server.pid();
        let open_fds = std::fs::read_dir(format!("/proc/{pid}/fd"))
            .context("the server's descriptors")?
            .count() as u64;
        let exposition = get_text(&server.base, "/api/performance/metrics/prometheus")?;
        Ok(Sample { at, rss_kib: resident_kib(pid)?, open_fds, tasks: alive_tasks(&exposition)? })
    }

    /// The three series, by name, for the table and the chart.
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

/// How much one series grew from the first sample after warm-up to the last.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Growth {
    pub(crate) series: &'static str,
    pub(crate) after_warm_up: f64,
    pub(crate) at_end: f64,
    /// `(at_end - after_warm_up) / after_warm_up`.
    pub(crate) ratio: f64,
}

impl fmt::Display for Growth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {:.1} → {:.1} ({:+.1} %)",
            self.series,
            self.after_warm_up,
            self.at_end,
            self.ratio * 100.0
        )
    }
}

/// Each series' growth after `warm_up`.
pub(crate) fn growth(samples: &[Sample], warm_up: Duration) -> Vec<Growth> {
    let Some(first) = samples.iter().find(|s| s.at >= warm_up) else { return Vec::new() };
    let Some(last) = samples.last() else { return Vec::new() };
    first
        .values()
        .iter()
        .zip(last.values())
        .map(|(&(series, after_warm_up), (_, at_end))| Growth {
            series,
            after_warm_up,
            at_end,
            ratio: (at_end - after_warm_up) / after_warm_up.max(f64::MIN_POSITIVE),
        })
        .collect()
}

/// The samples, the growth verdicts and what the run did, as markdown.
pub(crate) fn table(samples: &[Sample], growth: &[Growth], counts: &Counts) -> String {
    let mut text =
        String::from("| at | RSS | open descriptors | tokio tasks |\n|---|---|---|---|\n");
    for sample in samples {
        let _ = writeln!(
            text,
            "| {} s | {:.1} MiB | {} | {} |",
            sample.at.as_secs(),
            sample.rss_kib as f64 / 1024.0,
            sample.open_fds,
            sample.tasks
        );
    }
    text.push_str("\n| after warm-up → end | growth | under 5 % |\n|---|---|---|\n");
    for g in growth {
        let verdict = if g.ratio <= super::GROWTH_LIMIT { "yes" } else { "NO" };
        let _ = writeln!(text, "| {g} | {:+.1} % | {verdict} |", g.ratio * 100.0);
    }
    let _ = write!(text, "\nWork done: {counts}.");
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(seconds: u64, rss_mib: u64, fds: u64, tasks: u64) -> Sample {
        Sample { at: Duration::from_secs(seconds), rss_kib: rss_mib * 1024, open_fds: fds, tasks }
    }

    #[test]
    fn growth_is_measured_from_the_first_sample_after_warm_up() {
        let samples = [sample(0, 20, 10, 5), sample(20, 40, 60, 30), sample(100, 41, 60, 36)];
        let growth = growth(&samples, Duration::from_secs(20));
        assert_eq!(growth.len(), 3);
        assert!((growth[0].ratio - 0.025).abs() < 1e-9, "{:?}", growth[0]);
        assert!(growth[1].ratio.abs() < 1e-9);
        assert!((growth[2].ratio - 0.2).abs() < 1e-9);
        let table = table(&samples, &growth, &Counts::default());
        assert!(table.contains("| tokio tasks 30.0 → 36.0 (+20.0 %) | +20.0 % | NO |"), "{table}");
        assert!(table.contains("| 100 s | 41.0 MiB | 60 | 36 |"), "{table}");
    }

    #[test]
    fn tasks_are_read_from_the_exposition() {
        let text = "# HELP tokio_alive_tasks Tasks\n# TYPE tokio_alive_tasks gauge\ntokio_alive_tasks 17\n";
        assert_eq!(alive_tasks(text).unwrap(), 17);
        assert!(alive_tasks("up 1\n").is_err());
    }
}
