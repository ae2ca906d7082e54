//! `cargo xtask ci`: the whole of CI, runnable on a developer's machine.
//!
//! Each step is printed before it runs; the first failure stops the run with a non-zero exit,
//! and a green run ends with a one-line summary.

use std::time::Instant;

use anyhow::{Context, Result};

use crate::shell::{cargo, execute, has_program};

struct Step {
    name: &'static str,
    action: fn() -> Result<()>,
}

const STEPS: &[Step] = &[
    Step { name: "prerequisites", action: crate::prerequisites::ensure },
    Step { name: "fmt", action: fmt },
    Step { name: "doc links", action: crate::doc_links::check },
    // Reads source only, no compile: a name defined twice fails in under a second.
    Step { name: "public types", action: crate::public_types::check },
    Step { name: "clippy", action: clippy },
    Step { name: "test", action: test },
    Step { name: "doc tests", action: doc_tests },
    Step { name: "layer-only host", action: crate::layer_only::check },
    Step { name: "schemathesis (short)", action: schemathesis },
    Step { name: "chaos (short)", action: chaos },
    Step { name: "package", action: package },
    Step { name: "deny", action: deny },
];

pub(crate) fn run() -> Result<()> {
    let started = Instant::now();
    for (index, step) in STEPS.iter().enumerate() {
        println!("\n==> [{}/{}] {}", index + 1, STEPS.len(), step.name);
        let step_started = Instant::now();
        (step.action)().with_context(|| format!("ci step `{}` failed", step.name))?;
        println!("==> {} ok ({:.0?})", step.name, step_started.elapsed());
    }
    let names: Vec<&str> = STEPS.iter().map(|step| step.name).collect();
    println!(
        "\nxtask ci: all {} steps green in {:.0?} ({})",
        STEPS.len(),
        started.elapsed(),
        names.join(", ")
    );
    Ok(())
}

fn fmt() -> Result<()> {
    execute(cargo().args(["fmt", "--all", "--", "--check"]))
}

fn clippy() -> Result<()> {
    execute(cargo().args(["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"]))
}

fn test() -> Result<()> {
    // `--all-targets` also runs each criterion bench once in test mode, so a broken bench
    // fails CI without CI paying for a measurement.
    execute(cargo().args(["test", "--workspace", "--all-targets"]))?;
    // rediss:// is an optional feature: compiled, linted and tested against a redis-server
    // speaking TLS with certificates made by the test.
    execute(cargo().args([
        "clippy",
        "-p",
        "perfkit-cache",
        "--features",
        "tls",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    execute(cargo().args([
        "test",
        "-p",
        "perfkit-cache",
        "--features",
        "tls",
        "--test",
        "redis_tls",
    ]))
}

fn doc_tests() -> Result<()> {
    execute(cargo().args(["test", "--workspace", "--doc"]))
}

/// Every published crate packaged as crates.io would receive it: the manifest crates.io
/// checks (versions on every dependency, licence, description, readme present), the file
/// list, and a lock file resolved against the others' packages. A path-only dependency or a
/// missing readme fails here rather than at release.
///
/// `--no-verify`, on purpose: verifying builds every package again from its tarball against
/// the others' tarballs, 9 builds that share little with the workspace build (each resolves
/// its own features) and took 589 s warm on the 2-core CI machine, against 30 s without. The
/// workspace build, clippy and tests already compile every crate from the same sources; run
/// `cargo package --workspace` without `--no-verify` before a release.
/// `--allow-dirty` because CI also runs on working copies.
fn package() -> Result<()> {
    execute(cargo().args([
        "package",
        "--workspace",
        "--no-verify",
        "--allow-dirty",
        "--locked",
        // Never published (`publish = false`): test support, the load test's apps, the
        // layer-only host, xtask.
        "--exclude",
        "perfkit-testing",
        "--exclude",
        "perfkit-loadtest-targets",
        "--exclude",
        "perfkit-layer-only-host",
        "--exclude",
        "xtask",
    ]))
}

fn schemathesis() -> Result<()> {
    crate::schemathesis::check(crate::schemathesis::CI_EXAMPLES)
}

fn chaos() -> Result<()> {
    crate::chaos::run(&["--short".to_owned()])
}

fn deny() -> Result<()> {
    if !has_program("cargo-deny", &["--version"]) {
        println!("cargo-deny is missing: installing it with `cargo install --locked cargo-deny`");
        execute(cargo().args(["install", "--locked", "cargo-deny"]))
            .context("install cargo-deny by hand: cargo install --locked cargo-deny")?;
    }
    // Advisories need the network to fetch the advisory database, which CI does not have.
    execute(cargo().args(["deny", "--all-features", "check", "bans", "licenses", "sources"]))
}
