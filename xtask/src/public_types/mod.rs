//! `cargo xtask public-types`: the public type names of every library crate, and a check that
//! no name is defined twice in the workspace, so a name reached through the facade means one
//! thing (two `Config`s become `RecorderConfig` and `CacheConfig`).
//!
//! Source is read, not compiled, so the check takes well under a second: each crate under
//! `crates/` with a `src/lib.rs` is walked from there through its `mod name;` declarations,
//! which leaves out binaries, `tests/`, and files and items marked `#[cfg(test)]`. A type
//! counts when it is defined `pub` (`struct`, `enum`, `trait`, `type`, `union`); a `pub use`
//! re-export is not a second definition.

mod scan;
mod tokens;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::shell::workspace_root;

/// One public type: where it is defined.
#[derive(Debug, Clone, PartialEq, Eq)]
struct PublicType {
    crate_name: String,
    name: String,
    kind: &'static str,
    /// Relative to the workspace root.
    file: PathBuf,
    line: usize,
}

impl PublicType {
    fn place(&self) -> String {
        format!("{} ({}:{})", self.crate_name, self.file.display(), self.line)
    }
}

/// `cargo xtask public-types`: prints every crate's public types, then fails if a name is
/// defined twice.
pub(crate) fn run(args: &[String]) -> Result<()> {
    if let Some(arg) = args.first() {
        bail!("public-types takes no arguments, got {arg:?}");
    }
    let types = collect(&workspace_root())?;
    print!("{}", listing(&types));
    check_unique(&types)
}

/// The CI step: fails, naming both places, when a public type name is defined twice.
pub(crate) fn check() -> Result<()> {
    let types = collect(&workspace_root())?;
    check_unique(&types)?;
    println!("{} public types, each name defined once", types.len());
    Ok(())
}

fn check_unique(types: &[PublicType]) -> Result<()> {
    let twice = duplicates(types);
    if twice.is_empty() {
        return Ok(());
    }
    let mut message = String::from("public type names defined more than once:\n");
    for (name, places) in &twice {
        let places: Vec<String> = places.iter().map(|t| t.place()).collect();
        let _ = writeln!(message, "  {name}: {}", places.join(" and "));
    }
    message.push_str("rename each to what it is, or let one crate own it and the others use it");
    bail!(message)
}

/// Each name defined more than once, with every place, in name order.
fn duplicates(types: &[PublicType]) -> Vec<(&str, Vec<&PublicType>)> {
    let mut by_name: BTreeMap<&str, Vec<&PublicType>> = BTreeMap::new();
    for t in types {
        by_name.entry(t.name.as_str()).or_default().push(t);
    }
    by_name.into_iter().filter(|(_, places)| places.len() > 1).collect()
}

/// The list, crate by crate, each type with its kind and place.
fn listing(types: &[PublicType]) -> String {
    let mut by_crate: BTreeMap<&str, Vec<&PublicType>> = BTreeMap::new();
    for t in types {
        by_crate.entry(t.crate_name.as_str()).or_default().push(t);
    }
    let mut out = String::new();
    for (crate_name, mut types) in by_crate {
        types.sort_by(|a, b| a.name.cmp(&b.name));
        let noun = if types.len() == 1 { "type" } else { "types" };
        let _ = writeln!(out, "{crate_name} ({} public {noun})", types.len());
        for t in types {
            let _ = writeln!(out, "  {:<32} {:<6} {}:{}", t.name, t.kind, t.file.display(), t.line);
        }
    }
    out
}

/// Every library crate's public types, read from source under `root`.
fn collect(root: &Path) -> Result<Vec<PublicType>> {
    let crates_dir = root.join("crates");
    let mut entries: Vec<PathBuf> = std::fs::read_dir(&crates_dir)
        .with_context(|| format!("reading {}", crates_dir.display()))?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<std::io::Result<_>>()
        .with_context(|| format!("reading {}", crates_dir.display()))?;
    entries.sort();
    let mut types = Vec::new();
    for dir in entries {
        let lib = dir.join("src").join("lib.rs");
        if !lib.is_file() {
            continue;
        }
        let crate_name = dir.file_name().map(|n| n.to_string_lossy().into_owned());
        let crate_name = crate_name.unwrap_or_default();
        let src = dir.join("src");
        visit(root, &crate_name, &lib, &src, &mut types)?;
    }
    Ok(types)
}

/// Scans `file`, whose child modules live in `module_dir`, and the files it declares.
fn visit(
    root: &Path,
    crate_name: &str,
    file: &Path,
    module_dir: &Path,
    types: &mut Vec<PublicType>,
) -> Result<()> {
    let source =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let found = scan::scan(&source);
    let relative = file.strip_prefix(root).unwrap_or(file).to_path_buf();
    types.extend(found.definitions.into_iter().map(|d| PublicType {
        crate_name: crate_name.to_owned(),
        name: d.name,
        kind: d.kind,
        file: relative.clone(),
        line: d.line,
    }));
    for path in found.modules {
        let base: PathBuf = path.iter().collect();
        let flat = module_dir.join(&base).with_extension("rs");
        let nested = module_dir.join(&base).join("mod.rs");
        let (child, child_dir) = if flat.is_file() {
            (flat.clone(), flat.with_extension(""))
        } else if nested.is_file() {
            (nested, module_dir.join(&base))
        } else {
            bail!("{}: module {} has no file", file.display(), path.join("::"));
        };
        visit(root, crate_name, &child, &child_dir, types)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, path: &str, text: &str) {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    fn workspace() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, "crates/low/src/lib.rs", "mod report;\npub use report::StatementFigures;\n");
        write(root, "crates/low/src/report.rs", "pub struct StatementFigures;\n");
        write(
            root,
            "crates/high/src/lib.rs",
            "pub mod controls;\n#[cfg(test)]\nmod high_tests;\npub use low::StatementFigures as Again;\n",
        );
        write(root, "crates/high/src/controls/mod.rs", "mod figures;\npub trait PoolControl {}\n");
        write(root, "crates/high/src/controls/figures.rs", "pub struct StatementFigures {}\n");
        write(root, "crates/high/src/high_tests.rs", "pub struct PoolControl;\n");
        write(root, "crates/high/src/main_only.rs", "pub struct Orphan;\n");
        write(root, "crates/tool/src/main.rs", "pub struct StatementFigures;\n");
        dir
    }

    #[test]
    fn walks_each_library_from_lib_rs_and_leaves_out_tests_and_binaries() {
        let dir = workspace();
        let types = collect(dir.path()).unwrap();
        let found: Vec<String> =
            types.iter().map(|t| format!("{}::{} {}", t.crate_name, t.name, t.place())).collect();
        assert_eq!(
            found,
            [
                "high::PoolControl high (crates/high/src/controls/mod.rs:2)",
                "high::StatementFigures high (crates/high/src/controls/figures.rs:1)",
                "low::StatementFigures low (crates/low/src/report.rs:1)",
            ]
        );
    }

    #[test]
    fn a_name_defined_in_two_crates_fails_naming_both_places() {
        let dir = workspace();
        let types = collect(dir.path()).unwrap();
        let error = check_unique(&types).unwrap_err().to_string();
        assert!(
            error.contains(
                "StatementFigures: high (crates/high/src/controls/figures.rs:1) and \
                 low (crates/low/src/report.rs:1)"
            ),
            "{error}"
        );
        assert!(!error.contains("PoolControl"), "{error}");
    }

    #[test]
    fn names_defined_once_pass_and_are_listed_per_crate() {
        let dir = workspace();
        std::fs::write(
            dir.path().join("crates/high/src/controls/figures.rs"),
            "pub struct PoolFigures;\n",
        )
        .unwrap();
        let types = collect(dir.path()).unwrap();
        assert!(check_unique(&types).is_ok());
        let listing = listing(&types);
        assert!(listing.starts_with("high (2 public types)\n  PoolControl "), "{listing}");
        assert!(listing.contains("low (1 public type)\n  StatementFigures "), "{listing}");
    }

    #[test]
    fn a_declared_module_without_a_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "crates/a/src/lib.rs", "mod missing;\n");
        let error = collect(dir.path()).unwrap_err().to_string();
        assert!(error.contains("module missing has no file"), "{error}");
    }

    #[test]
    fn the_workspace_defines_each_public_type_name_once() {
        let types = collect(&workspace_root()).unwrap();
        assert!(types.len() > 100, "only {} public types found", types.len());
        check_unique(&types).unwrap();
    }
}
