//! `cargo xtask ci`: the whole of CI, runnable on a developer's machine.
//!
//! Each step is printed before it runs; the first failure stops the run with a non-zero exit,
//! and a green run ends with a one-line summary.

use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};

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
    // After the steps that run the default server: this one leaves its own build in place.
    Step { name: "server without the demo", action: server_without_demo },
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

/// `perfkit-server` built without its `demo` feature: it builds, links no sqlx (nor
/// perfkit-sqlx), and refuses `--demo` at start-up with a message that says why.
fn server_without_demo() -> Result<()> {
    execute(cargo().args(["build", "-p", "perfkit-server", "--no-default-features"]))?;
    let tree = cargo()
        .args(["tree", "-p", "perfkit-server", "--no-default-features", "-e", "normal"])
        .args(["--prefix", "none"])
        .output()
        .context("cannot run cargo tree")?;
    if !tree.status.success() {
        bail!("cargo tree failed: {}", String::from_utf8_lossy(&tree.stderr));
    }
    let listing = String::from_utf8_lossy(&tree.stdout);
    let sqlx: Vec<&str> = listing.lines().filter(|line| line.contains("sqlx")).collect();
    if !sqlx.is_empty() {
        bail!("perfkit-server without the demo still depends on {}", sqlx.join(", "));
    }
    let refused = Command::new(crate::server::binary_path("debug"))
        .arg("--demo")
        .output()
        .context("cannot run the server built without the demo")?;
    let stderr = String::from_utf8_lossy(&refused.stderr);
    if refused.status.code() != Some(2) || !stderr.contains("built without the demo") {
        bail!(
            "perfkit-server without the demo should refuse --demo (exit 2, \"built without the \
             demo\"), got {:?}: {stderr}",
            refused.status.code()
        );
    }
    Ok(())
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
