//! The orchestrator stays thin: `PerformanceService` keeps fewer than 20 public methods
//! (lifecycle, collection, its own actions); what it knows is read through `Readout`, and the
//! HTTP answers are built at the edge. Counted from the source, so a new public method on
//! the service is a decision this test makes visible.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

/// The most public methods the service may have (the issue's bound is "fewer than 20").
const MOST_PUBLIC_METHODS: usize = 19;

/// Every `.rs` file under `dir`, recursively.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            files.push(path);
        }
    }
    files
}

/// A line with its comments and the insides of its string and char literals removed, so
/// only the braces of the code itself are left to count.
fn code_of(line: &str) -> String {
    let mut code = String::new();
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '/' if chars.peek() == Some(&'/') => break,
            '"' => {
                while let Some(inner) = chars.next() {
                    match inner {
                        '\\' => {
                            chars.next();
                        }
                        '"' => break,
                        _ => {}
                    }
                }
            }
            // A char literal such as '{' (a lifetime such as 'a has no closing quote).
            '\'' => {
                let rest: String = chars.clone().take(3).collect();
                if rest.chars().nth(1) == Some('\'') {
                    chars.nth(1);
                } else if rest.starts_with('\\') && rest.chars().nth(2) == Some('\'') {
                    chars.nth(2);
                }
            }
            _ => code.push(c),
        }
    }
    code
}

/// The names of the `pub fn`s directly inside `impl PerformanceService { ... }` blocks of
/// `source`.
fn public_methods(source: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut depth = 0usize;
    let mut in_service_impl = false;
    for line in source.lines() {
        let code = code_of(line);
        let trimmed = code.trim_start();
        if depth == 0 && trimmed.starts_with("impl PerformanceService {") {
            in_service_impl = true;
        }
        if in_service_impl && depth == 1 {
            let signature = trimmed
                .strip_prefix("pub fn ")
                .or_else(|| trimmed.strip_prefix("pub async fn "))
                .or_else(|| trimmed.strip_prefix("pub const fn "));
            if let Some(rest) = signature {
                let name: String =
                    rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                names.push(name);
            }
        }
        for c in code.chars() {
            match c {
                '{' => depth += 1,
                '}' => depth = depth.checked_sub(1).expect("balanced braces"),
                _ => {}
            }
        }
        if depth == 0 {
            in_service_impl = false;
        }
    }
    names
}

#[test]
fn performance_service_has_fewer_than_twenty_public_methods() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut methods: Vec<String> = rust_files(&src)
        .iter()
        .flat_map(|file| public_methods(&std::fs::read_to_string(file).unwrap()))
        .collect();
    methods.sort();
    // The counter must see the service's methods at all, or the bound below proves nothing.
    for expected in ["builder", "start", "shutdown", "readout", "with_state_locked"] {
        assert!(methods.iter().any(|m| m == expected), "{expected} not found in {methods:?}");
    }
    assert!(
        methods.len() <= MOST_PUBLIC_METHODS,
        "PerformanceService has {} public methods, at most {MOST_PUBLIC_METHODS} allowed: \
         {methods:?}; read-side answers belong on `Readout`, endpoints at the edge",
        methods.len()
    );
}

#[test]
fn the_counter_sees_methods_only_directly_in_the_service_impl() {
    let source = r#"
impl PerformanceService {
    /// A doc with a brace { that is not code.
    pub fn one(&self) -> u8 {
        let _ = "}";
        let _ = '{';
        1
    }
    pub async fn two(&self) {}
    pub(crate) fn hidden(&self) {}
    fn private(&self) {}
}
impl Readout<'_> {
    pub fn not_the_service(&self) {}
}
impl std::fmt::Debug for PerformanceService {
    pub fn fmt(&self) {}
}
impl PerformanceService {
    pub fn three(&self) { if true { } }
}
"#;
    assert_eq!(public_methods(source), ["one", "two", "three"]);
}
