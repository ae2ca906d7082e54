//! The options of `cargo xtask loadtest`, read from the command line and bounded.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};

/// The most connections a run may open: enough for the scaling table's 5000, and a bound
/// on the descriptors both sides need.
const MAX_CONNECTIONS: u32 = 10_000;
/// The most cores `--cores` may give the server.
const MAX_CORES: usize = 256;
/// The most rounds a run may be split into.
const MAX_ROUNDS: u32 = 10;
/// Rounds unless told: enough that a slow minute of a shared machine falls on every target.
const DEFAULT_ROUNDS: u32 = 3;
/// The most streaming replicas `--postgres-replicas` starts.
const MAX_REPLICAS: u32 = 4;
/// The longest a single measured run may last.
const MAX_DURATION: Duration = Duration::from_secs(600);

/// What the load test runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// The guide's table: the demo endpoints, Zipf keys.
    Seed,
    /// The same cheap answer from plain axum, perfkit's layer, axum-prometheus and
    /// perfkit-server, at c=100 and c=1000.
    Compare,
    /// Throughput and P99 by connection count, recorder cost by route count.
    Scaling,
    /// The comparison with the server pinned to 1, 2, 4, 8... cores (a large machine).
    Cores,
    /// The demo on memory, on Redis without the near cache, and on Redis with it.
    Near,
}

/// What a run is asked for.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Options {
    pub(crate) mode: Mode,
    /// The cache behind the demo: a private redis-server instead of memory.
    pub(crate) redis: bool,
    /// The demo's database: this PostgreSQL instead of the SQLite file under target/.
    pub(crate) database_url: Option<String>,
    /// The demo's database: a private PostgreSQL primary with this many streaming replicas
    /// (its reads on the replicas), instead of `database_url` or SQLite.
    pub(crate) postgres_replicas: Option<u32>,
    pub(crate) connections: u32,
    /// Measured time of each run (the warm-up comes before it).
    pub(crate) duration: Duration,
    /// The guide-workload and `--compare` runs split each target's time into this many segments and
    /// take the targets in turn within each round (see `merge`).
    pub(crate) rounds: u32,
    /// Where the result goes as JSON.
    pub(crate) out: Option<PathBuf>,
    /// Replace this mode's section of docs/BENCHMARKS.md with the result.
    pub(crate) write_docs: bool,
    /// The server core counts of `--cores`.
    pub(crate) cores: Vec<usize>,
    /// Use the release binaries already built (a machine without cargo).
    pub(crate) no_build: bool,
    /// `--compare` with these targets only (their keys), beside the baseline; empty: all.
    pub(crate) only: Vec<String>,
}

impl Options {
    /// Reads `args` (everything after `loadtest`).
    pub(crate) fn from_args(args: &[String]) -> Result<Options> {
        let mut options = Options {
            mode: Mode::Seed,
            redis: false,
            database_url: None,
            postgres_replicas: None,
            connections: 1000,
            duration: Duration::from_secs(30),
            rounds: DEFAULT_ROUNDS,
            out: None,
            write_docs: false,
            cores: Vec::new(),
            no_build: false,
            only: Vec::new(),
        };
        let mut duration_given = false;
        let mut connections_given = false;
        let mut rounds_given = false;
        let mut args = args.iter();
        while let Some(flag) = args.next() {
            let mut value = || args.next().with_context(|| format!("{flag} needs a value"));
            match flag.as_str() {
                "--redis" => options.redis = true,
                "--compare" => options.mode = Mode::Compare,
                "--scaling" => options.mode = Mode::Scaling,
                "--near" => options.mode = Mode::Near,
                "--write-docs" => options.write_docs = true,
                "--no-build" => options.no_build = true,
                "--only" => {
                    options.only = value()?.split(',').map(|key| key.trim().to_owned()).collect();
                }
                "--cores" => {
                    options.mode = Mode::Cores;
                    options.cores = parse_cores(value()?)?;
                }
                "--out" => options.out = Some(PathBuf::from(value()?)),
                "--database-url" => options.database_url = Some(value()?.clone()),
                "--postgres-replicas" => {
                    let count = value()?.parse().context("--postgres-replicas N")?;
                    options.postgres_replicas = Some(count);
                }
                "--connections" => {
                    options.connections = value()?.parse().context("--connections N")?;
                    connections_given = true;
                }
                "--duration" => {
                    let seconds: u64 = value()?.parse().context("--duration S (seconds)")?;
                    options.duration = Duration::from_secs(seconds);
                    duration_given = true;
                }
                "--rounds" => {
                    options.rounds = value()?.parse().context("--rounds N")?;
                    rounds_given = true;
                }
                other => bail!(
                    "unknown loadtest option {other:?} (--redis, --database-url URL, \
                     --postgres-replicas N, --compare, \
                     --scaling, --near, --cores 1,2,4,8, --connections N, --duration S, \
                     --rounds N, --only TARGET,..., --out FILE, --write-docs, --no-build)"
                ),
            }
        }
        if options.postgres_replicas.is_some_and(|count| count > MAX_REPLICAS) {
            bail!("--postgres-replicas must be 0..={MAX_REPLICAS}");
        }
        if options.postgres_replicas.is_some() && options.database_url.is_some() {
            bail!("--postgres-replicas starts its own PostgreSQL: leave out --database-url");
        }
        if options.connections == 0 || options.connections > MAX_CONNECTIONS {
            bail!("--connections must be 1..={MAX_CONNECTIONS}");
        }
        if options.duration.is_zero() || options.duration > MAX_DURATION {
            bail!("--duration must be 1..={} s", MAX_DURATION.as_secs());
        }
        // Compare, scaling and near make ten, four and three runs: shorter ones unless told
        // (compare's in three rounds of 5 s: shorter segments would be mostly wrk's
        // connection set-up).
        if !duration_given && options.mode != Mode::Seed {
            let seconds = if options.mode == Mode::Compare { 15 } else { 10 };
            options.duration = Duration::from_secs(seconds);
        }
        // Every segment lasts whole seconds (wrk's unit): a short run has fewer rounds.
        let seconds = u32::try_from(options.duration.as_secs()).unwrap_or(u32::MAX);
        if !rounds_given {
            options.rounds = options.rounds.min(seconds);
        }
        if options.rounds == 0 || options.rounds > MAX_ROUNDS || options.rounds > seconds {
            bail!("--rounds must be 1..={MAX_ROUNDS} and at most --duration's seconds ({seconds})");
        }
        if !options.only.is_empty() && options.mode != Mode::Compare {
            bail!("--only picks --compare's targets: add --compare");
        }
        if !options.only.is_empty() && options.write_docs {
            bail!("--write-docs records every target: leave --only out");
        }
        // The core-scaling runs of the issue that asked for them: 256 connections.
        if !connections_given && options.mode == Mode::Cores {
            options.connections = 256;
        }
        Ok(options)
    }

    /// One round's share of a target's measured time.
    pub(crate) fn segment(&self) -> Duration {
        self.duration / self.rounds.max(1)
    }
}

/// `1,2,4,8`: core counts, each at least 1, at most [`MAX_CORES`].
fn parse_cores(list: &str) -> Result<Vec<usize>> {
    let cores = list
        .split(',')
        .map(|count| count.trim().parse::<usize>().with_context(|| format!("--cores: {count:?}")))
        .collect::<Result<Vec<_>>>()?;
    if cores.is_empty() || cores.iter().any(|&count| count == 0 || count > MAX_CORES) {
        bail!("--cores takes counts 1..={MAX_CORES}, comma-separated");
    }
    Ok(cores)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Options> {
        Options::from_args(&args.iter().map(|a| (*a).to_owned()).collect::<Vec<_>>())
    }

    #[test]
    fn defaults_are_the_guides_load() {
        let options = parse(&[]).unwrap();
        assert_eq!(options.mode, Mode::Seed);
        assert_eq!((options.connections, options.duration), (1000, Duration::from_secs(30)));
        assert_eq!((options.rounds, options.segment()), (3, Duration::from_secs(10)));
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
        assert_eq!(parse(&["--compare"]).unwrap().segment(), Duration::from_secs(5));
        assert_eq!(parse(&["--near"]).unwrap().mode, Mode::Near);
        let scaling = parse(&["--scaling", "--duration", "4"]).unwrap();
        assert_eq!((scaling.mode, scaling.duration), (Mode::Scaling, Duration::from_secs(4)));
    }

    #[test]
    fn core_counts_are_read_and_bounded() {
        let options = parse(&["--cores", "1,2, 4,8", "--no-build"]).unwrap();
        assert_eq!((options.mode, options.cores.as_slice()), (Mode::Cores, &[1, 2, 4, 8][..]));
        assert_eq!((options.connections, options.no_build), (256, true));
        assert!(parse(&["--cores", "0"]).is_err());
        assert!(parse(&["--cores", "1,x"]).is_err());
        assert!(parse(&["--cores", ""]).is_err());
    }

    #[test]
    fn unknown_missing_and_unbounded_values_are_refused() {
        assert!(parse(&["--threads", "2"]).is_err());
        assert!(parse(&["--duration"]).is_err());
        assert!(parse(&["--connections", "0"]).is_err());
        assert!(parse(&["--connections", "20000"]).is_err());
        assert!(parse(&["--duration", "3600"]).is_err());
        assert!(parse(&["--rounds", "0"]).is_err());
        assert!(parse(&["--rounds", "11"]).is_err());
        assert!(parse(&["--duration", "2", "--rounds", "3"]).is_err(), "segments under 1 s");
    }

    #[test]
    fn rounds_split_the_time_and_a_short_run_has_fewer() {
        let options = parse(&["--rounds", "5", "--duration", "20"]).unwrap();
        assert_eq!((options.rounds, options.segment()), (5, Duration::from_secs(4)));
        assert_eq!(parse(&["--duration", "2"]).unwrap().rounds, 2);
        assert_eq!(
            parse(&["--compare", "--rounds", "1"]).unwrap().segment(),
            Duration::from_secs(15)
        );
    }
}
