//! The options of `cargo xtask chaos`, read from the command line and bounded.

use std::time::Duration;

use anyhow::{Context, Result, bail};

use super::faults::Fault;

/// The longest a fault may last.
const MAX_FAULT: Duration = Duration::from_secs(120);

/// What a chaos run is asked for.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Options {
    /// CI's form: the debug build, 3 s faults.
    pub(crate) short: bool,
    pub(crate) connections: u32,
    /// How long each fault lasts (Redis killed: this long, then restarted).
    pub(crate) fault_duration: Duration,
    /// Replace the chaos section of docs/RELIABILITY.md.
    pub(crate) write_docs: bool,
    /// Only these faults (their keys); empty: all.
    pub(crate) only: Vec<String>,
    /// The trace collector's faults alone, on both runtimes, with a docs section of their own.
    pub(crate) traces: bool,
    /// Use the perfkit-server already built (as `loadtest --no-build`).
    pub(crate) no_build: bool,
}

impl Options {
    pub(crate) fn from_args(args: &[String]) -> Result<Options> {
        let mut options = Options {
            short: false,
            connections: 100,
            fault_duration: Duration::from_secs(10),
            write_docs: false,
            only: Vec::new(),
            traces: false,
            no_build: false,
        };
        let mut duration_given = false;
        let mut args = args.iter();
        while let Some(flag) = args.next() {
            let mut value = || args.next().with_context(|| format!("{flag} needs a value"));
            match flag.as_str() {
                "--short" => options.short = true,
                "--write-docs" => options.write_docs = true,
                "--traces" => options.traces = true,
                "--no-build" => options.no_build = true,
                "--connections" => {
                    options.connections = value()?.parse().context("--connections N")?;
                }
                "--only" => {
                    options.only = value()?.split(',').map(|key| key.trim().to_owned()).collect();
                    let known: Vec<&str> = Fault::ALL.iter().map(|f| f.key()).collect();
                    if let Some(unknown) =
                        options.only.iter().find(|k| !known.contains(&k.as_str()))
                    {
                        bail!(
                            "--only: unknown fault {unknown:?}; the faults: {}",
                            known.join(", ")
                        );
                    }
                }
                "--duration" => {
                    let seconds: u64 = value()?.parse().context("--duration S (seconds)")?;
                    options.fault_duration = Duration::from_secs(seconds);
                    duration_given = true;
                }
                other => bail!(
                    "unknown chaos option {other:?} (--short, --connections N, --duration S, \
                     --only FAULT,..., --traces, --write-docs, --no-build)"
                ),
            }
        }
        if options.traces {
            if !options.only.is_empty() {
                bail!("--traces runs the trace collector's faults: leave --only out");
            }
            options.only = Fault::COLLECTOR.iter().map(|fault| fault.key().to_owned()).collect();
        } else if options.write_docs && !options.only.is_empty() {
            bail!("--write-docs records a whole run (or --traces): leave --only out");
        }
        if options.short && !duration_given {
            options.fault_duration = Duration::from_secs(3);
        }
        if options.connections == 0 || options.connections > 2000 {
            bail!("--connections must be 1..=2000");
        }
        if options.fault_duration < Duration::from_secs(2) || options.fault_duration > MAX_FAULT {
            bail!("--duration must be 2..={} s", MAX_FAULT.as_secs());
        }
        Ok(options)
    }

    /// The command that reruns this, for the record.
    pub(crate) fn command_line(&self) -> String {
        let mut words = vec!["cargo xtask chaos".to_owned()];
        if self.short {
            words.push("--short".into());
        }
        words.push(format!("--connections {}", self.connections));
        words.push(format!("--duration {}", self.fault_duration.as_secs()));
        if self.traces {
            words.push("--traces".into());
        } else if !self.only.is_empty() {
            words.push(format!("--only {}", self.only.join(",")));
        }
        words.join(" ")
    }

    /// Whether any fault of the trace collector is part of this run (they also run on a
    /// server with a `current_thread` runtime).
    pub(crate) fn runs_a_collector_fault(&self) -> bool {
        Fault::COLLECTOR.iter().any(|fault| self.runs(*fault))
    }

    /// Whether `fault` is part of this run.
    pub(crate) fn runs(&self, fault: Fault) -> bool {
        self.only.is_empty() || self.only.iter().any(|key| key == fault.key())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Options> {
        Options::from_args(&args.iter().map(|a| (*a).to_owned()).collect::<Vec<_>>())
    }

    #[test]
    fn the_short_form_is_three_second_faults_unless_told() {
        assert_eq!(parse(&[]).unwrap().fault_duration, Duration::from_secs(10));
        assert_eq!(parse(&["--short"]).unwrap().fault_duration, Duration::from_secs(3));
        let told = parse(&["--short", "--duration", "5", "--connections", "20"]).unwrap();
        assert_eq!((told.fault_duration, told.connections), (Duration::from_secs(5), 20));
        assert_eq!(told.command_line(), "cargo xtask chaos --short --connections 20 --duration 5");
    }

    #[test]
    fn unknown_and_unbounded_values_are_refused() {
        assert!(parse(&["--kill-everything"]).is_err());
        assert!(parse(&["--duration", "1"]).is_err());
        assert!(parse(&["--duration", "3600"]).is_err());
        assert!(parse(&["--connections", "0"]).is_err());
        assert!(parse(&["--only", "collector-melted"]).is_err());
        assert!(parse(&["--only", "collector-killed", "--write-docs"]).is_err());
    }

    #[test]
    fn only_runs_the_faults_named() {
        let options = parse(&["--only", "collector-killed,collector-hanging"]).unwrap();
        assert!(options.runs(Fault::CollectorHanging) && !options.runs(Fault::RedisKilled));
        assert!(parse(&[]).unwrap().runs(Fault::RedisKilled));
        assert!(!parse(&["--only", "redis-killed"]).unwrap().runs_a_collector_fault());
    }

    #[test]
    fn traces_runs_the_collector_faults_alone_and_may_write_docs() {
        let options = parse(&["--traces", "--duration", "20", "--write-docs"]).unwrap();
        assert!(Fault::COLLECTOR.iter().all(|fault| options.runs(*fault)));
        assert!(!options.runs(Fault::RedisKilled) && options.runs_a_collector_fault());
        assert_eq!(
            options.command_line(),
            "cargo xtask chaos --connections 100 --duration 20 --traces"
        );
        assert!(parse(&["--traces", "--only", "redis-killed"]).is_err());
    }
}
