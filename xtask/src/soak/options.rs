//! The options of `cargo xtask soak`, read from the command line and bounded.

use std::time::Duration;

use anyhow::{Context, Result, bail};

/// The longest soak one command runs.
const MAX_DURATION: Duration = Duration::from_secs(24 * 3600);

/// What a soak run is asked for.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Options {
    pub(crate) duration: Duration,
    pub(crate) sample_every: Duration,
    pub(crate) connections: u32,
    pub(crate) write_docs: bool,
    /// Build the server with its test-only descriptor leak; the run must then fail.
    pub(crate) leaky: bool,
}

impl Options {
    pub(crate) fn from_args(args: &[String]) -> Result<Options> {
        let mut options = Options {
            duration: Duration::from_secs(600),
            sample_every: Duration::from_secs(10),
            connections: 50,
            write_docs: false,
            leaky: false,
        };
        let mut args = args.iter();
        while let Some(flag) = args.next() {
            let mut value = || args.next().with_context(|| format!("{flag} needs a value"));
            match flag.as_str() {
                "--duration" => options.duration = parse_duration(value()?)?,
                "--sample-every" => options.sample_every = parse_duration(value()?)?,
                "--connections" => {
                    options.connections = value()?.parse().context("--connections N")?;
                }
                "--write-docs" => options.write_docs = true,
                "--leaky" => options.leaky = true,
                other => bail!(
                    "unknown soak option {other:?} (--duration 10m, --sample-every 10s, \
                     --connections N, --write-docs, --leaky)"
                ),
            }
        }
        if options.leaky && options.write_docs {
            bail!("--leaky runs a deliberately broken build: its figures are not the record");
        }
        if options.duration > MAX_DURATION || options.duration < Duration::from_secs(10) {
            bail!("--duration must be 10s..=24h");
        }
        if options.sample_every.is_zero() || options.sample_every * 5 > options.duration {
            bail!("--sample-every must leave at least 5 samples in --duration");
        }
        if options.connections == 0 || options.connections > 2000 {
            bail!("--connections must be 1..=2000");
        }
        Ok(options)
    }

    /// The first fifth of the run: caches fill, pools open, allocators settle.
    pub(crate) fn warm_up(&self) -> Duration {
        self.duration / 5
    }

    pub(crate) fn command_line(&self) -> String {
        format!(
            "cargo xtask soak --duration {}s --sample-every {}s --connections {}",
            self.duration.as_secs(),
            self.sample_every.as_secs(),
            self.connections
        )
    }
}

/// `90`, `90s`, `10m`, `2h`.
fn parse_duration(text: &str) -> Result<Duration> {
    let (number, unit) =
        text.trim().split_at(text.trim().trim_end_matches(char::is_alphabetic).len());
    let number: u64 = number.parse().with_context(|| format!("a duration: {text:?}"))?;
    let seconds = match unit {
        "" | "s" => number,
        "m" | "min" => number * 60,
        "h" => number * 3600,
        other => bail!("unknown duration unit {other:?} in {text:?} (s, m, h)"),
    };
    Ok(Duration::from_secs(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Options> {
        Options::from_args(&args.iter().map(|a| (*a).to_owned()).collect::<Vec<_>>())
    }

    #[test]
    fn durations_read_as_people_write_them() {
        assert_eq!(parse_duration("10m").unwrap(), Duration::from_secs(600));
        assert_eq!(parse_duration("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("2h").unwrap(), Duration::from_secs(7200));
        assert_eq!(parse_duration("45").unwrap(), Duration::from_secs(45));
        assert!(parse_duration("ten").is_err() && parse_duration("5d").is_err());
    }

    #[test]
    fn defaults_and_bounds() {
        let options = parse(&[]).unwrap();
        assert_eq!(
            (options.duration, options.warm_up()),
            (Duration::from_secs(600), Duration::from_secs(120))
        );
        assert!(parse(&["--duration", "5s"]).is_err());
        assert!(parse(&["--duration", "60s", "--sample-every", "30s"]).is_err());
        assert!(parse(&["--connections", "0"]).is_err());
        assert!(parse(&["--nope"]).is_err());
        assert!(parse(&["--leaky", "--write-docs"]).is_err());
    }
}
