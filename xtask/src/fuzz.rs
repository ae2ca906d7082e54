//! `cargo xtask fuzz [--time 60s] [--target NAME] [--write-docs]`: every cargo-fuzz target in
//! `fuzz/` (or one), each for the given time, then a table of runs, corpus size and outcome
//! (with `--write-docs`, also in docs/RELIABILITY.md).
//!
//! The targets need the nightly toolchain and cargo-fuzz: a missing nightly is said plainly
//! (with the command that installs it); a missing cargo-fuzz is installed with
//! `cargo install --locked cargo-fuzz`. Seeds in `fuzz/seeds/<target>/` start each run; the
//! corpus grows in `fuzz/corpus/<target>/` (not committed). A crash fails the run, and its
//! input is copied into `fuzz/regressions/<target>/`, which the crates' own tests replay
//! (`frame_properties`, `rules_properties`), so every crash found becomes a regression test.
//!
//! The targets are built without a sanitizer: the code under test is safe Rust, so what
//! libFuzzer hunts here is panics, hangs and runaway allocations, and an uninstrumented build
//! runs several times more inputs per second on a small machine.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::shell::{cargo, execute, workspace_root};

/// `cargo fuzz` on the nightly toolchain, in the workspace root. Through rustup, not `$CARGO`:
/// under `cargo xtask`, `$CARGO` is the stable cargo itself, which knows no `+nightly`.
fn cargo_fuzz() -> Command {
    let mut command = Command::new("rustup");
    command.args(["run", "nightly", "cargo", "fuzz"]).current_dir(workspace_root());
    command
}

/// The default time per target.
const DEFAULT_TIME: Duration = Duration::from_secs(60);
/// Memory one fuzzing process may use before libFuzzer calls it a failure.
const RSS_LIMIT_MB: u32 = 2048;
/// Longest time one input may take before libFuzzer calls it a hang.
const INPUT_TIMEOUT_S: u32 = 10;

/// What one target's run gave.
struct Outcome {
    target: String,
    runs: Option<u64>,
    corpus: usize,
    took: Duration,
    crash: Option<PathBuf>,
}

pub(crate) fn run(args: &[String]) -> Result<()> {
    let Args { time, only, write_docs } = parse_args(args)?;
    let machine = crate::loadtest::machine::describe();
    check_nightly()?;
    ensure_cargo_fuzz()?;
    let root = workspace_root();
    let mut targets = list_targets()?;
    if let Some(only) = &only {
        if !targets.contains(only) {
            bail!("no fuzz target {only:?}; the targets are {}", targets.join(", "));
        }
        targets.retain(|target| target == only);
    }
    println!("==> building {} fuzz targets (nightly, no sanitizer)", targets.len());
    execute(cargo_fuzz().args(["build", "--sanitizer", "none"]))?;
    let mut outcomes = Vec::new();
    for target in &targets {
        println!("==> fuzzing {target} for {time:?}");
        outcomes.push(fuzz_one(&root, target, time)?);
    }
    let table = table(&outcomes);
    println!("\n{table}");
    if write_docs {
        let command = match &only {
            Some(target) => {
                format!("cargo xtask fuzz --time {}s --target {target}", time.as_secs())
            }
            None => format!("cargo xtask fuzz --time {}s", time.as_secs()),
        };
        let title = "Fuzzing (`cargo xtask fuzz`)";
        crate::loadtest::docs::write_section(
            &root.join("docs").join("RELIABILITY.md"),
            "fuzz",
            &crate::loadtest::docs::Record { title, command: &command, machine: &machine },
            &table,
        )?;
    }
    let crashed: Vec<&Outcome> = outcomes.iter().filter(|o| o.crash.is_some()).collect();
    if !crashed.is_empty() {
        for outcome in &crashed {
            if let Some(input) = &outcome.crash {
                println!(
                    "{}: crash input kept as {} (replayed by the regression tests from now on; \
                     fix the code, then commit the input)",
                    outcome.target,
                    input.display()
                );
            }
        }
        bail!("{} of {} fuzz targets crashed", crashed.len(), outcomes.len());
    }
    Ok(())
}

/// The command line, read.
struct Args {
    time: Duration,
    only: Option<String>,
    write_docs: bool,
}

fn parse_args(args: &[String]) -> Result<Args> {
    let mut time = DEFAULT_TIME;
    let mut target = None;
    let mut write_docs = false;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--time" => {
                let value = args.next().context("--time needs a value like 60s or 2m")?;
                time = parse_duration(value)?;
            }
            "--target" => target = Some(args.next().context("--target needs a name")?.clone()),
            "--write-docs" => write_docs = true,
            other => bail!(
                "unknown argument {other:?}: expected --time DURATION, --target NAME, --write-docs"
            ),
        }
    }
    Ok(Args { time, only: target, write_docs })
}

/// `90`, `90s`, `2m` or `1h`: whole seconds, at least one.
fn parse_duration(text: &str) -> Result<Duration> {
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => text.split_at(at),
        None => (text, "s"),
    };
    let number: u64 =
        number.parse().with_context(|| format!("{text:?} is not a duration like 60s"))?;
    let seconds = match unit {
        "s" => number,
        "m" => number * 60,
        "h" => number * 3600,
        _ => bail!("{text:?}: the unit must be s, m or h"),
    };
    if seconds == 0 {
        bail!("--time must be at least 1s");
    }
    Ok(Duration::from_secs(seconds))
}

fn check_nightly() -> Result<()> {
    let works = Command::new("rustup")
        .args(["run", "nightly", "rustc", "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if !works {
        bail!(
            "the nightly toolchain is missing (cargo fuzz needs it for libFuzzer's \
             instrumentation): install it with `rustup toolchain install nightly`"
        );
    }
    Ok(())
}

fn ensure_cargo_fuzz() -> Result<()> {
    let installed = cargo()
        .args(["fuzz", "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if !installed {
        println!("cargo-fuzz is missing: installing it with `cargo install --locked cargo-fuzz`");
        execute(cargo().args(["install", "--locked", "cargo-fuzz"]))
            .context("install cargo-fuzz by hand: cargo install --locked cargo-fuzz")?;
    }
    Ok(())
}

fn list_targets() -> Result<Vec<String>> {
    let output = cargo_fuzz().arg("list").output().context("could not run cargo fuzz list")?;
    if !output.status.success() {
        bail!("cargo fuzz list failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    let targets: Vec<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    if targets.is_empty() {
        bail!("fuzz/ has no targets");
    }
    Ok(targets)
}

fn fuzz_one(root: &Path, target: &str, time: Duration) -> Result<Outcome> {
    let fuzz = root.join("fuzz");
    let corpus = fuzz.join("corpus").join(target);
    let seeds = fuzz.join("seeds").join(target);
    let artifacts = fuzz.join("artifacts").join(target);
    for dir in [&corpus, &seeds, &artifacts] {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let before: Vec<PathBuf> = files(&artifacts);
    let started = Instant::now();
    let output = cargo_fuzz()
        .args(["run", "--sanitizer", "none", target])
        .arg(&corpus)
        .arg(&seeds)
        .arg("--")
        .arg(format!("-max_total_time={}", time.as_secs()))
        .arg(format!("-rss_limit_mb={RSS_LIMIT_MB}"))
        .arg(format!("-timeout={INPUT_TIMEOUT_S}"))
        .arg("-print_final_stats=1")
        .stdout(Stdio::inherit())
        .stderr(Stdio::piped())
        .output()
        .with_context(|| format!("could not run cargo fuzz run {target}"))?;
    let took = started.elapsed();
    let log = String::from_utf8_lossy(&output.stderr);
    let runs = log
        .lines()
        .find_map(|line| line.strip_prefix("stat::number_of_executed_units:"))
        .and_then(|n| n.trim().parse().ok());
    let crash = if output.status.success() {
        None
    } else {
        eprintln!("{}", tail(&log, 60));
        let new = files(&artifacts).into_iter().find(|path| !before.contains(path));
        match new {
            Some(input) => Some(keep_as_regression(&fuzz, target, &input)?),
            None => {
                bail!("cargo fuzz run {target} failed without a crash input: {}", tail(&log, 20))
            }
        }
    };
    Ok(Outcome { target: target.to_owned(), runs, corpus: files(&corpus).len(), took, crash })
}

/// Copies a crash input into `fuzz/regressions/<target>/`, where the crates' tests read it.
fn keep_as_regression(fuzz: &Path, target: &str, input: &Path) -> Result<PathBuf> {
    let dir = fuzz.join("regressions").join(target);
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let kept = dir.join(input.file_name().context("a crash input has a file name")?);
    std::fs::copy(input, &kept).with_context(|| format!("cannot copy {}", input.display()))?;
    Ok(kept)
}

fn files(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default()
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

fn table(outcomes: &[Outcome]) -> String {
    let mut text =
        String::from("| target | time | inputs run | corpus | result |\n|---|---|---|---|---|\n");
    for outcome in outcomes {
        let runs = outcome.runs.map_or_else(|| "?".to_owned(), |n| n.to_string());
        let result = if outcome.crash.is_some() { "CRASH" } else { "no crash" };
        text.push_str(&format!(
            "| {} | {:.0?} | {runs} | {} | {result} |\n",
            outcome.target, outcome.took, outcome.corpus
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_in_seconds_minutes_or_hours() {
        assert_eq!(parse_duration("60s").unwrap(), Duration::from_secs(60));
        assert_eq!(parse_duration("90").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("1h").unwrap(), Duration::from_secs(3600));
        for bad in ["0s", "x", "5d", "-1s", ""] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn arguments_name_a_time_a_target_and_whether_to_write_the_docs() {
        let args = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let given = parse_args(&args(&["--time", "5s", "--target", "frame_decode"])).unwrap();
        assert_eq!(
            (given.time, given.only.as_deref(), given.write_docs),
            (Duration::from_secs(5), Some("frame_decode"), false)
        );
        let default = parse_args(&[]).unwrap();
        assert_eq!((default.time, default.only), (DEFAULT_TIME, None));
        assert!(parse_args(&args(&["--write-docs"])).unwrap().write_docs);
        assert!(parse_args(&args(&["--time"])).is_err());
        assert!(parse_args(&args(&["--fast"])).is_err());
    }
}
