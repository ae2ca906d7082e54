//! `cargo xtask doc-links`: every path the repository's prose names is a file in the
//! repository.
//!
//! A reader follows a link or a named file (`docs/OPERATIONS.md`, `API.md`) and must find it
//! here: a link that leaves the checkout, or names a document that does not exist, is a dead
//! end for everybody who clones the project. Checked without compiling anything:
//! - markdown links `[text](target)` and images in `*.md` files: a relative target (anchors
//!   and URLs are skipped) must exist, resolved from the file's folder, and stay inside the
//!   repository;
//! - in `*.md`, `*.rs`, `*.js` and `*.html` files, every named markdown document (`*.md`) and
//!   every `docs/...` path must exist: relative to the file's folder, its crate, or the
//!   repository root (a bare `NAME.md` may also be any file of that name in the repository);
//! - docs/ARCHITECTURE.md stays a codemap: at most [`ARCHITECTURE_MAX_LINES`] lines.

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::shell::workspace_root;

/// The codemap's length limit: protocol detail belongs in the module docs it describes.
const ARCHITECTURE_MAX_LINES: usize = 300;

/// Prose files whose named paths are checked.
const CHECKED_EXTENSIONS: &[&str] = &["md", "rs", "js", "html"];

/// One path a file names that is not in the repository.
#[derive(Debug, PartialEq, Eq)]
struct DeadPath {
    file: String,
    line: usize,
    named: String,
}

pub(crate) fn run(args: &[String]) -> Result<()> {
    if let Some(unknown) = args.first() {
        bail!("doc-links takes no arguments (got {unknown:?})");
    }
    check()
}

/// The CI step: fails naming every dead path, and an over-long codemap.
pub(crate) fn check() -> Result<()> {
    let root = workspace_root();
    let listing = std::process::Command::new("git")
        .arg("-C")
        .arg(&root)
        .args(["ls-files", "-z"])
        .output()
        .context("cannot run git ls-files")?;
    if !listing.status.success() {
        bail!("git ls-files failed: {}", String::from_utf8_lossy(&listing.stderr));
    }
    let listing = String::from_utf8(listing.stdout).context("git ls-files: not UTF-8")?;
    let files: Vec<String> =
        listing.split('\0').filter(|name| !name.is_empty()).map(str::to_owned).collect();
    let known: BTreeSet<String> = files.iter().cloned().collect();
    let mut dead = Vec::new();
    for file in &files {
        let Some(extension) = Path::new(file).extension().and_then(|e| e.to_str()) else {
            continue;
        };
        if !CHECKED_EXTENSIONS.contains(&extension) || is_exempt(file) {
            continue;
        }
        let text = std::fs::read_to_string(root.join(file))
            .with_context(|| format!("cannot read {file}"))?;
        dead.extend(dead_paths(file, &text, &known));
    }
    let architecture = std::fs::read_to_string(root.join("docs/ARCHITECTURE.md"))
        .context("cannot read docs/ARCHITECTURE.md")?;
    let lines = architecture.lines().count();
    let mut problems: Vec<String> = dead
        .iter()
        .map(|d| {
            format!("{}:{}: names {:?}, which is not in the repository", d.file, d.line, d.named)
        })
        .collect();
    if lines > ARCHITECTURE_MAX_LINES {
        problems.push(format!(
            "docs/ARCHITECTURE.md has {lines} lines: a codemap of at most \
             {ARCHITECTURE_MAX_LINES}; move protocol detail into the module docs it describes"
        ));
    }
    if problems.is_empty() {
        println!("doc-links: every path named in {} files is in the repository", files.len());
        return Ok(());
    }
    for problem in &problems {
        eprintln!("{problem}");
    }
    bail!("{} dead path(s) or over-long docs", problems.len())
}

/// Files that quote paths on purpose: recorded fuzz inputs, CHANGELOG history (it names files
/// as they were, some since moved), and this checker, whose tests name dead paths.
fn is_exempt(file: &str) -> bool {
    file.starts_with("fuzz/") || file == "CHANGELOG.md" || file == "xtask/src/doc_links.rs"
}

/// The dead paths one file names.
fn dead_paths(file: &str, text: &str, known: &BTreeSet<String>) -> Vec<DeadPath> {
    let folder = Path::new(file).parent().unwrap_or(Path::new(""));
    let crate_root = crate_root(file);
    let mut dead = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let mut named: Vec<(String, bool)> = Vec::new();
        if file.ends_with(".md") {
            named.extend(markdown_targets(line).into_iter().map(|t| (t, true)));
        }
        for path in named_paths(line, file.ends_with(".md")) {
            // A link's target is checked once, as a link.
            if !named.iter().any(|(target, _)| target.split('#').next() == Some(path.as_str())) {
                named.push((path, false));
            }
        }
        for (target, is_link) in named {
            let found = if is_link {
                resolve(folder, &target).is_some_and(|path| known_path(known, &path))
            } else {
                [folder, crate_root.as_path(), Path::new("")]
                    .iter()
                    .any(|base| resolve(base, &target).is_some_and(|path| known_path(known, &path)))
                    || (!target.contains('/')
                        && known.iter().any(|k| k.ends_with(&format!("/{target}"))))
            };
            if !found {
                dead.push(DeadPath { file: file.to_owned(), line: index + 1, named: target });
            }
        }
    }
    dead
}

/// A tracked file, or a folder that holds tracked files.
fn known_path(known: &BTreeSet<String>, path: &str) -> bool {
    known.contains(path)
        || known
            .range(format!("{path}/")..)
            .next()
            .is_some_and(|k| k.starts_with(&format!("{path}/")))
}

/// `crates/NAME` or `apps/NAME` for a file inside one, else the repository root.
fn crate_root(file: &str) -> PathBuf {
    let mut parts = file.split('/');
    match (parts.next(), parts.next()) {
        (Some(top @ ("crates" | "apps")), Some(name)) if file.matches('/').count() >= 2 => {
            Path::new(top).join(name)
        }
        _ => PathBuf::new(),
    }
}

/// `target` joined to `base`, normalized; `None` when it leaves the repository.
fn resolve(base: &Path, target: &str) -> Option<String> {
    let target = target.split('#').next().unwrap_or(target);
    let mut parts: Vec<String> = Vec::new();
    for component in base.join(target).components() {
        match component {
            Component::Normal(part) => parts.push(part.to_string_lossy().into_owned()),
            Component::ParentDir => {
                parts.pop()?;
            }
            Component::CurDir => {}
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(parts.join("/"))
}

/// The relative targets of the markdown links and images on one line.
fn markdown_targets(line: &str) -> Vec<String> {
    let mut targets = Vec::new();
    let mut rest = line;
    while let Some(start) = rest.find("](") {
        let after = &rest[start + 2..];
        let Some(end) = after.find(')') else { break };
        let target = after[..end].split_whitespace().next().unwrap_or("");
        let external = target.contains("://") || target.starts_with("mailto:");
        if !target.is_empty() && !target.starts_with('#') && !external {
            targets.push(target.to_owned());
        }
        rest = &after[end..];
    }
    targets
}

/// The markdown documents (`NAME.md`, `dir/NAME.md`) and `docs/...` paths a line names, and
/// in a markdown file any relative path upwards (`../x`).
fn named_paths(line: &str, in_markdown: bool) -> Vec<String> {
    let is_path_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/');
    let mut named = Vec::new();
    let without_urls: Vec<&str> =
        line.split_whitespace().filter(|word| !word.contains("://")).collect();
    let line = without_urls.join(" ");
    for word in line.split(|c: char| !is_path_char(c)) {
        let word = word.trim_end_matches(['.', '/']);
        // A path built at run time (`dashboard-{name}.png`) names no file by itself.
        if word.ends_with('-') {
            continue;
        }
        if word.is_empty() {
            continue;
        }
        let is_markdown = word.ends_with(".md") && word.len() > 3;
        let is_docs = word.starts_with("docs/") || word.contains("/docs/");
        if is_markdown || is_docs || (in_markdown && word.starts_with("../")) {
            named.push(word.to_owned());
        }
    }
    named
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known(paths: &[&str]) -> BTreeSet<String> {
        paths.iter().map(|p| (*p).to_owned()).collect()
    }

    #[test]
    fn markdown_links_are_read_relative_to_their_file_and_urls_are_skipped() {
        let line = "see [ops](OPERATIONS.md#flags), ![x](soak.svg) and [web](https://a.b/c.md)";
        assert_eq!(markdown_targets(line), ["OPERATIONS.md#flags", "soak.svg"]);
        let repo = known(&["docs/OPERATIONS.md", "docs/soak.svg"]);
        assert!(dead_paths("docs/RELIABILITY.md", line, &repo).is_empty());
        let dead = dead_paths("README.md", line, &repo);
        assert_eq!(dead.len(), 2, "{dead:?}");
    }

    #[test]
    fn a_named_document_that_does_not_exist_is_dead_wherever_it_is_named() {
        let repo = known(&["docs/ARCHITECTURE.md", "crates/a/src/lib.rs"]);
        let file = "crates/a/src/lib.rs";
        assert!(
            dead_paths(file, "//! see docs/ARCHITECTURE.md and ARCHITECTURE.md", &repo).is_empty()
        );
        let dead = dead_paths(file, "//! the contract is `docs/API.md`, as API.md says", &repo);
        let named: Vec<&str> = dead.iter().map(|d| d.named.as_str()).collect();
        assert_eq!(named, ["docs/API.md", "API.md"]);
    }

    #[test]
    fn a_path_that_leaves_the_repository_is_dead() {
        let repo = known(&["README.md", "docs/x.md"]);
        let dead =
            dead_paths("docs/x.md", "[a](../../shared/API.md) and ../shared/DESIGN.md", &repo);
        assert_eq!(dead.len(), 2, "{dead:?}");
    }

    #[test]
    fn paths_resolve_from_the_crate_root_and_folders_count() {
        let repo = known(&["crates/a/assets/app.js", "docs/openapi.json"]);
        let file = "crates/a/src/page.rs";
        assert!(
            dead_paths(
                file,
                "include_str!(\"../assets/app.js\") docs/ and docs/openapi.json",
                &repo
            )
            .is_empty()
        );
    }
}
