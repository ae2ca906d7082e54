//! What `perfkit-server` knows of its own build, handed to the code as environment
//! variables at compile time: the commit (short), the compiler, the build time (Unix
//! milliseconds; `SOURCE_DATE_EPOCH` wins, for reproducible builds) and the enabled
//! features. Anything that cannot be found is "unknown", never a failed build.
//!
//! The script reruns when the checked-out commit moves (git's HEAD, the ref it names and
//! the packed refs), not on every build: the build time is when the commit last changed.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

const UNKNOWN: &str = "unknown";

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=SOURCE_DATE_EPOCH");
    // Only a repository that tracks this package is its history: a package unpacked from
    // crates.io into some other checkout (a home directory under git) is built outside git.
    let in_git = git(&["ls-files", "build.rs"]).is_some();
    if in_git {
        for path in git_paths_to_watch() {
            println!("cargo:rerun-if-changed={}", path.display());
        }
    }
    let commit = in_git
        .then(|| git(&["rev-parse", "--short", "HEAD"]))
        .flatten()
        .unwrap_or_else(|| UNKNOWN.to_owned());
    println!("cargo:rustc-env=PERFKIT_GIT_COMMIT={commit}");
    println!("cargo:rustc-env=PERFKIT_RUSTC_VERSION={}", rustc_version());
    println!("cargo:rustc-env=PERFKIT_BUILD_UNIX_MILLIS={}", build_millis());
    println!("cargo:rustc-env=PERFKIT_FEATURES={}", features().join(","));
}

/// One line of `git`'s output, or `None` when git is missing or this is no repository.
fn git(args: &[&str]) -> Option<String> {
    let output = Command::new("git").args(args).output().ok()?;
    if !output.status.success() {
        return None;
    }
    let text = String::from_utf8(output.stdout).ok()?;
    let line = text.trim();
    (!line.is_empty()).then(|| line.to_owned())
}

/// The files whose change means another commit is checked out. Only existing ones: cargo
/// reruns a script on every build while a watched path is missing. In a worktree the HEAD
/// is the worktree's and the refs are the common directory's; `--git-path` finds both.
fn git_paths_to_watch() -> Vec<PathBuf> {
    let mut paths = Vec::new();
    let Some(head) = git(&["rev-parse", "--git-path", "HEAD"]) else { return paths };
    paths.push(PathBuf::from(head));
    if let Some(packed) = git(&["rev-parse", "--git-path", "packed-refs"]) {
        paths.push(PathBuf::from(packed));
    }
    // A detached HEAD names no ref: HEAD itself moves then.
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"])
        && let Some(reference) = git(&["rev-parse", "--git-path", &branch])
    {
        let reference = PathBuf::from(reference);
        // A ref that lives only in packed-refs has no file yet; its folder gets one when the
        // branch moves.
        match reference.parent() {
            Some(folder) if !reference.exists() => paths.push(folder.to_path_buf()),
            _ => paths.push(reference),
        }
    }
    paths.retain(|path| Path::new(path).exists());
    paths
}

/// `rustc --version` of the compiler cargo builds with.
fn rustc_version() -> String {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .filter(|output| output.status.success())
        .and_then(|output| String::from_utf8(output.stdout).ok())
        .map(|text| text.trim().to_owned())
        .filter(|text| !text.is_empty())
        .unwrap_or_else(|| UNKNOWN.to_owned())
}

/// The build time in Unix milliseconds, or empty when the clock is before 1970.
fn build_millis() -> String {
    if let Some(seconds) =
        std::env::var("SOURCE_DATE_EPOCH").ok().and_then(|text| text.trim().parse::<u64>().ok())
    {
        return seconds.saturating_mul(1000).to_string();
    }
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|since| since.as_millis().to_string())
        .unwrap_or_default()
}

/// The enabled features as cargo names them to build scripts (`CARGO_FEATURE_DEMO`), in
/// lower case with dashes, sorted; `default` is not a feature of its own.
fn features() -> Vec<String> {
    let mut features: Vec<String> = std::env::vars()
        .filter_map(|(name, _)| {
            name.strip_prefix("CARGO_FEATURE_").map(|f| f.to_ascii_lowercase().replace('_', "-"))
        })
        .filter(|feature| feature != "default")
        .collect();
    features.sort();
    features
}
