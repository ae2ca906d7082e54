//! One file's public type definitions and the module files it declares, with test-only
//! items (`#[cfg(test)]`) left out.

use super::tokens::{Spanned, Token, tokens};

/// A public type defined in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Definition {
    /// The type's name.
    pub(super) name: String,
    /// `struct`, `enum`, `trait`, `type` or `union`.
    pub(super) kind: &'static str,
    /// The line of its `pub`.
    pub(super) line: usize,
}

/// What one file holds: its public types, and the modules it declares in other files
/// (`mod name;`), each as its path below the file's module directory (`["name"]`, or
/// `["inline", "name"]` inside an inline `mod inline { ... }`).
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct FileScan {
    pub(super) definitions: Vec<Definition>,
    pub(super) modules: Vec<Vec<String>>,
}

const KINDS: [&str; 5] = ["struct", "enum", "trait", "type", "union"];

/// Scans `source`: `pub` type definitions (not `pub(crate)`, `pub(super)`, `pub(in ..)`),
/// outside any item marked `#[cfg(test)]` (or `cfg(all(test, ..))`); a file whose inner
/// attribute is `#![cfg(test)]` holds nothing.
pub(super) fn scan(source: &str) -> FileScan {
    let toks = tokens(source);
    let mut scan = FileScan::default();
    let mut depth = 0usize;
    // Inline modules open around the cursor, with the depth inside each.
    let mut inline: Vec<(String, usize)> = Vec::new();
    let mut test_only = false;
    let mut i = 0;
    while i < toks.len() {
        match toks[i].token {
            Token::Punct('#') => {
                let inner = punct(&toks, i + 1, '!');
                let open = i + 1 + usize::from(inner);
                let (text, end) = attribute(&toks, open);
                if is_test_cfg(&text) {
                    if inner {
                        return FileScan::default();
                    }
                    test_only = true;
                }
                i = end;
                continue;
            }
            _ if test_only => {
                i = skip_item(&toks, i);
                test_only = false;
                continue;
            }
            Token::Word("pub") if !punct(&toks, i + 1, '(') => {
                let mut at = i + 1;
                if word(&toks, at) == Some("unsafe") {
                    at += 1;
                }
                if let (Some(kind), Some(name)) = (word(&toks, at), word(&toks, at + 1))
                    && let Some(kind) = KINDS.iter().find(|k| **k == kind)
                {
                    scan.definitions.push(Definition {
                        name: name.to_owned(),
                        kind,
                        line: toks[i].line,
                    });
                }
            }
            Token::Word("mod") => {
                if let Some(name) = word(&toks, i + 1) {
                    if punct(&toks, i + 2, ';') {
                        let mut path: Vec<String> = inline.iter().map(|(n, _)| n.clone()).collect();
                        path.push(name.to_owned());
                        scan.modules.push(path);
                    } else if punct(&toks, i + 2, '{') {
                        depth += 1;
                        inline.push((name.to_owned(), depth));
                        i += 3;
                        continue;
                    }
                }
            }
            Token::Punct('{') => depth += 1,
            Token::Punct('}') => {
                if inline.last().is_some_and(|(_, d)| *d == depth) {
                    inline.pop();
                }
                depth = depth.saturating_sub(1);
            }
            _ => {}
        }
        i += 1;
    }
    scan
}

fn word<'a>(toks: &[Spanned<'a>], at: usize) -> Option<&'a str> {
    match toks.get(at)?.token {
        Token::Word(word) => Some(word),
        Token::Punct(_) => None,
    }
}

fn punct(toks: &[Spanned<'_>], at: usize, want: char) -> bool {
    toks.get(at).is_some_and(|t| t.token == Token::Punct(want))
}

/// The text of the attribute whose `[` is at `open` (tokens joined without spaces), and the
/// index after its `]`.
fn attribute(toks: &[Spanned<'_>], open: usize) -> (String, usize) {
    let mut text = String::new();
    let mut depth = 0usize;
    for (at, tok) in toks.iter().enumerate().skip(open) {
        match tok.token {
            Token::Punct('[') => {
                depth += 1;
                if depth == 1 {
                    continue;
                }
            }
            Token::Punct(']') => {
                depth -= 1;
                if depth == 0 {
                    return (text, at + 1);
                }
            }
            _ => {}
        }
        match tok.token {
            Token::Word(word) => text.push_str(word),
            Token::Punct(c) => text.push(c),
        }
    }
    (text, toks.len())
}

fn is_test_cfg(text: &str) -> bool {
    text == "cfg(test)" || text.starts_with("cfg(all(test,")
}

/// The index after the item that starts at `start`: its `;`, or the `}` that closes its
/// body, whichever comes first outside brackets.
fn skip_item(toks: &[Spanned<'_>], start: usize) -> usize {
    let mut depth = 0usize;
    for (at, tok) in toks.iter().enumerate().skip(start) {
        match tok.token {
            Token::Punct('{' | '(' | '[') => depth += 1,
            Token::Punct('}' | ')' | ']') => {
                depth = depth.saturating_sub(1);
                if depth == 0 && tok.token == Token::Punct('}') {
                    return at + 1;
                }
            }
            Token::Punct(';') if depth == 0 => return at + 1,
            _ => {}
        }
    }
    toks.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(source: &str) -> Vec<(String, &'static str)> {
        scan(source).definitions.into_iter().map(|d| (d.name, d.kind)).collect()
    }

    #[test]
    fn finds_every_public_kind_and_nothing_restricted_or_private() {
        let source = "pub struct A;\npub enum B {}\npub trait C {}\npub type D = u8;\n\
                      pub union E { x: u8 }\npub unsafe trait F {}\npub(crate) struct G;\n\
                      pub(super) enum H {}\npub(in crate::x) struct I;\nstruct J;\npub fn k() {}";
        let found = names(source);
        assert_eq!(
            found,
            [
                ("A".to_owned(), "struct"),
                ("B".to_owned(), "enum"),
                ("C".to_owned(), "trait"),
                ("D".to_owned(), "type"),
                ("E".to_owned(), "union"),
                ("F".to_owned(), "trait"),
            ]
        );
    }

    #[test]
    fn gives_the_line_of_each_definition() {
        let scan = scan("//! doc\n\n/// A.\n#[derive(Debug)]\npub struct A<'a>(&'a str);\n");
        assert_eq!(scan.definitions[0].line, 5);
    }

    #[test]
    fn skips_test_modules_even_with_braces_in_their_literals() {
        let source = r##"
pub struct Real;
#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    pub struct Fake;
    fn f() { let _ = ("}", '}', r#"}}"#); /* } */ }
    // }
}
#[cfg(all(test, feature = "x"))]
pub struct AlsoFake;
#[cfg(any(test, feature = "mock"))]
pub struct Mocked;
pub enum AfterTests {}
"##;
        let found: Vec<String> = names(source).into_iter().map(|(n, _)| n).collect();
        assert_eq!(found, ["Real", "Mocked", "AfterTests"]);
    }

    #[test]
    fn a_file_marked_test_only_holds_nothing() {
        assert_eq!(scan("#![cfg(test)]\npub struct Fake;\nmod more;"), FileScan::default());
    }

    #[test]
    fn lists_module_files_but_not_test_only_ones() {
        let source = "mod a;\npub mod b;\n#[cfg(test)]\nmod c_tests;\n\
                      pub(crate) mod inline { pub struct In; mod d; }\nmod e;";
        let scan = scan(source);
        let modules: Vec<String> = scan.modules.iter().map(|m| m.join("/")).collect();
        assert_eq!(modules, ["a", "b", "inline/d", "e"]);
        assert_eq!(scan.definitions[0].name, "In");
    }
}
