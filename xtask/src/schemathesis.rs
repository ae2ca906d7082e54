//! `cargo xtask schemathesis`: property-based tests of the HTTP API from its own OpenAPI
//! document. Starts perfkit-server on a free loopback port and runs schemathesis (`st run
//! ... --checks all`) against `/api/performance/openapi.json` with the admin token, so every
//! operation, admin ones included, is called with generated valid and invalid input and
//! every answer is checked against the document.
//!
//! schemathesis comes from PyPI into a virtualenv under the target directory, pinned, so a
//! fresh machine with python3 needs nothing else. `--max-examples N` sets the examples per
//! operation (default 100; `cargo xtask ci` runs a short form). `--seed N` replaces the
//! pinned seed, `--seed random` draws one from the clock and prints it (replay a failure
//! with `--seed` and that number).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::server::{ADMIN_TOKEN, Server, binary_path, target_dir};
use crate::shell::{cargo, execute, has_program, workspace_root};

/// The schemathesis release the check is written against; pinned so a new release cannot
/// change what CI checks overnight.
const SCHEMATHESIS: &str = "schemathesis==4.32.5";

/// The random seed that picks the examples, unless told otherwise: the same examples on
/// every run of the same document.
const PINNED_SEED: u64 = 20_261_127;

/// Examples per operation unless told otherwise.
const DEFAULT_EXAMPLES: u32 = 100;

/// Examples per operation in `cargo xtask ci`: enough to reach every operation's edge cases
/// that the coverage phase derives from the schema, short enough for CI.
pub(crate) const CI_EXAMPLES: u32 = 10;

pub(crate) fn run(args: &[String]) -> Result<()> {
    let mut examples = DEFAULT_EXAMPLES;
    let mut seed = PINNED_SEED;
    let mut args = args.iter();
    while let Some(flag) = args.next() {
        match flag.as_str() {
            "--max-examples" => {
                let value = args.next().context("--max-examples needs a value")?;
                examples = value.parse().context("--max-examples N (a positive integer)")?;
            }
            "--seed" => {
                let value = args.next().context("--seed needs a value (a number or random)")?;
                seed = match value.as_str() {
                    "random" => random_seed(),
                    number => number.parse().context("--seed N (a number) or --seed random")?,
                };
            }
            other => {
                bail!("unknown schemathesis option {other:?} (--max-examples N, --seed N|random)")
            }
        }
    }
    check_with_seed(examples, seed)
}

/// A seed from the clock's nanoseconds: different on every run, printed so it can be
/// replayed.
fn random_seed() -> u64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    let seed = now.map_or(PINNED_SEED, |since| since.as_nanos() as u64 % 1_000_000_000_000);
    println!("schemathesis seed: {seed} (replay with --seed {seed})");
    seed
}

/// Builds the server, starts it, and runs schemathesis with `examples` per operation and
/// the pinned seed.
pub(crate) fn check(examples: u32) -> Result<()> {
    check_with_seed(examples, PINNED_SEED)
}

/// [`check`] with the examples drawn from `seed`.
fn check_with_seed(examples: u32, seed: u64) -> Result<()> {
    let st = ensure_schemathesis()?;
    execute(cargo().args(["build", "-p", "perfkit-server"]))
        .context("cannot build perfkit-server")?;
    let mut server = Server::start(&binary_path("debug"), &[])?;
    let schema = format!("{}/api/performance/openapi.json", server.base);
    let outcome = execute(
        Command::new(&st)
            // st keeps a crash cache in its working directory: keep it out of the tree.
            .current_dir(target_dir())
            .arg("--config-file")
            .arg(workspace_root().join("xtask/schemathesis.toml"))
            .arg("run")
            .arg(&schema)
            .args(["--checks", "all"])
            .args(["--header", &format!("Authorization: Bearer {ADMIN_TOKEN}")])
            .args(["--max-examples", &examples.to_string()])
            .args(["--request-timeout", "10"])
            .args(["--seed", &seed.to_string()])
            .args(["--workers", "2"])
            // Nothing written into the repository (hypothesis keeps an example database).
            .args(["--generation-database", "none"])
            .env("NO_COLOR", "1"),
    );
    let stopped = server.stop();
    outcome
        .context("schemathesis found failures (each is listed above with a curl to replay it)")?;
    stopped
}

/// The `st` executable of the project's virtualenv, created and filled on first use.
fn ensure_schemathesis() -> Result<PathBuf> {
    let venv = target_dir().join("xtask-venv");
    let st = venv.join("bin/st");
    if st.is_file() && installed_version_matches(&venv) {
        return Ok(st);
    }
    if !has_program("python3", &["--version"]) {
        bail!(
            "schemathesis needs python3 with venv: install it (Debian/Ubuntu: sudo apt-get install python3 python3-venv), then run this again"
        );
    }
    println!("installing {SCHEMATHESIS} into {}", venv.display());
    execute(Command::new("python3").arg("-m").arg("venv").arg(&venv))
        .context("cannot create a virtualenv (Debian/Ubuntu: sudo apt-get install python3-venv)")?;
    execute(Command::new(venv.join("bin/pip")).args([
        "install",
        "--quiet",
        "--disable-pip-version-check",
        SCHEMATHESIS,
    ]))
    .with_context(|| format!("cannot install {SCHEMATHESIS} from PyPI"))?;
    Ok(st)
}

fn installed_version_matches(venv: &Path) -> bool {
    let wanted = SCHEMATHESIS.trim_start_matches("schemathesis==");
    Command::new(venv.join("bin/pip")).args(["show", "schemathesis"]).output().is_ok_and(|output| {
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .any(|line| line.trim() == format!("Version: {wanted}"))
    })
}
