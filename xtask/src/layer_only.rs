//! CI's check that the request-metrics layer stays light: perfkit-axum compiles with each
//! feature set, and a host that takes the layer alone (`apps/layer-only-host`, perfkit-axum
//! with default features off) builds and resolves at most [`MAX_CRATES`] crates, the count
//! of a host using axum-prometheus, axum included.

use std::collections::BTreeSet;

use anyhow::{Context, Result, bail, ensure};

use crate::shell::{cargo, execute};

/// The host's package.
const HOST: &str = "perfkit-layer-only-host";

/// Most crates the host may resolve (`cargo tree -e normal`, each name and version once).
pub(crate) const MAX_CRATES: usize = 80;

pub(crate) fn check() -> Result<()> {
    for features in [
        &["--no-default-features"][..],
        &["--no-default-features", "--features", "api"],
        &["--no-default-features", "--features", "otel"],
    ] {
        execute(cargo().args(["check", "-p", "perfkit-axum"]).args(features))?;
    }
    execute(cargo().args(["build", "-p", HOST]))?;
    let count = crate_count()?;
    println!("{HOST}: {count} crates in `cargo tree -e normal` (at most {MAX_CRATES})");
    if count > MAX_CRATES {
        bail!(
            "{HOST} resolves {count} crates, more than {MAX_CRATES}: a dependency of \
             perfkit-axum's layer (or of perfkit-metrics) is no longer optional; see \
             `cargo tree -p {HOST} -e normal`"
        );
    }
    Ok(())
}

/// The host's crates: every package name and version `cargo tree` lists, once.
fn crate_count() -> Result<usize> {
    let output = cargo()
        .args(["tree", "-p", HOST, "-e", "normal", "--prefix", "none"])
        .output()
        .context("could not run cargo tree")?;
    ensure!(
        output.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).context("cargo tree printed non-UTF-8")?;
    Ok(distinct_crates(&text).len())
}

/// `name vX.Y.Z` of each line, without the path and the `(*)`/`(proc-macro)` marks.
fn distinct_crates(tree: &str) -> BTreeSet<String> {
    tree.lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            Some(format!("{} {}", words.next()?, words.next()?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_crate_is_counted_once_whatever_its_marks() {
        let tree = "perfkit-layer-only-host v0.1.0 (/repo/apps/layer-only-host)\n\
                    axum v0.8.9\n\
                    tokio v1.54.1\n\
                    axum v0.8.9 (*)\n\
                    thiserror-impl v2.0.21 (proc-macro)\n\
                    thiserror v1.0.69\n\
                    thiserror v2.0.21\n\n";
        let crates = distinct_crates(tree);
        assert_eq!(crates.len(), 6, "{crates:?}");
        assert!(crates.contains("axum v0.8.9"));
    }
}
