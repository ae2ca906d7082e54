//! The options of `cargo xtask loadtest`, read from the command line and bounded.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};

/// The most connections a run may open: enough for the scaling table's 5000, and a bound
/// on the descriptors both sides need.
const MAX_CONNECTIONS: u32 = 10_000;
/// The longest a single measured run may last.
const MAX_DURATION: Duration = Duration::from_secs(600);

/// What the load test runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// The seed's table: the demo endpoints, Zipf keys.
    Seed,
    /// The same cheap answer from plain axum, perfkit's layer, axum-prometheus and
    /// perfkit-server, at c=100 and c=1000.
    Compare,
    /// Throughput and P99 by connection count, recorder cost by route count.
    Scaling,
}

/// What a run is asked for.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Options {
    pub(crate) mode: Mode,
    /// The cache behind the demo: a private redis-server instead of memory.
    pub(crate) redis: bool,
    /// The demo's database: this PostgreSQL instead of the SQLite file under target/.
    pub(crate) database_url: Option<String>,
    pub(crate) connections: u32,
    /// Measured time of each run (the warm-up comes before it).
    pub(crate) duration: Duration,
    /// Where the result goes as JSON.
    pub(crate) out: Option<PathBuf>,
    /// Replace this mode's section of docs/BENCHMARKS.md with the result.
    pub(crate) write_docs: bool,
}

impl Options {
    /// Reads `args` (everything after `loadtest`).
    pub(crate) fn from_args(args: &[String]) -> Result<Options> {
        let mut options = Options {
            mode: Mode::Seed,
            redis: false,
            database_url: None,
            connections: 1000,
            duration: Duration::from_secs(30),
            out: None,
            write_docs: false,
        };
        let mut duration_given = false;
        let mut args = args.iter();
        while let Some(flag) = args.next() {
            let mut value = || args.next().with_context(|| format!("{flag} needs a value"));
            match flag.as_str() {
                "--redis" => options.redis = true,
                "--compare" => options.mode = Mode::Compare,
                "--scaling" => options.mode = Mode::Scaling,
                "--write-docs" => options.write_docs = true,
                "--out" => options.out = Some(PathBuf::from(value()?)),
                "--database-url" => options.database_url = Some(value()?.clone()),
                "--connections" => {
                    options.connections = value()?.parse().context("--connections N")?;
                }
                "--duration" => {
                    let seconds: u64 = value()?.parse().context("--duration S (seconds)")?;
                    options.duration = Duration::from_secs(seconds);
                    duration_given = true;
                }
                other => bail!(
                    "unknown loadtest option {other:?} (--redis, --database-url URL, --compare, \
                     --scaling, --connections N, --duration S, --out FILE, --write-docs)"
                ),
            }
        }
        if options.connections == 0 || options.connections > MAX_CONNECTIONS {
            bail!("--connections must be 1..={MAX_CONNECTIONS}");
        }
        if options.duration.is_zero() || options.duration > MAX_DURATION {
            bail!("--duration must be 1..={} s", MAX_DURATION.as_secs());
        }
        // Compare and scaling make ten and four runs: shorter ones unless told.
        if !duration_given && options.mode != Mode::Seed {
            options.duration = Duration::from_secs(10);
        }
        Ok(options)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Options> {
        Options::from_args(&args.iter().map(|a| (*a).to_owned()).collect::<Vec<_>>())
    }

    #[test]
    fn defaults_are_the_seeds_load() {
        let options = parse(&[]).unwrap();
        assert_eq!(options.mode, Mode::Seed);
        assert_eq!((options.connections, options.duration), (1000, Duration::from_secs(30)));
        assert!(!options.redis && !options.write_docs && options.out.is_none());
    }

    #[test]
    fn every_option_is_read() {
        let options = parse(&[
            "--redis",
            "--connections",
            "50",
            "--duration",
            "3",
            "--out",
            "r.json",
            "--write-docs",
        ])
        .unwrap();
        assert!(options.redis && options.write_docs);
        assert_eq!((options.connections, options.duration), (50, Duration::from_secs(3)));
        assert_eq!(options.out, Some(PathBuf::from("r.json")));
    }

    #[test]
    fn compare_and_scaling_runs_are_shorter_unless_told() {
        assert_eq!(parse(&["--compare"]).unwrap().duration, Duration::from_secs(10));
        let scaling = parse(&["--scaling", "--duration", "4"]).unwrap();
        assert_eq!((scaling.mode, scaling.duration), (Mode::Scaling, Duration::from_secs(4)));
    }

    #[test]
    fn unknown_missing_and_unbounded_values_are_refused() {
        assert!(parse(&["--threads", "2"]).is_err());
        assert!(parse(&["--duration"]).is_err());
        assert!(parse(&["--connections", "0"]).is_err());
        assert!(parse(&["--connections", "20000"]).is_err());
        assert!(parse(&["--duration", "3600"]).is_err());
    }
}
