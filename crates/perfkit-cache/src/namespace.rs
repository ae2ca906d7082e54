//! Where a cache's key prefix is applied: every full key and every `SCAN MATCH` pattern is built
//! here, with glob characters escaped, so nothing outside the namespace is ever matched.

/// The prefix every key of a cache lives under, so a shared Redis can hold other applications'
/// keys safely: `clear`, `delete_pattern` and `optimize` only ever match keys under it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Namespace {
    prefix: String,
    /// The prefix with glob characters escaped, ready to start a `SCAN MATCH` pattern.
    escaped: String,
}

impl Namespace {
    pub(crate) fn new(prefix: &str) -> Self {
        Namespace { prefix: prefix.to_owned(), escaped: escape_glob(prefix) }
    }

    pub(crate) fn key(&self, key: &str) -> String {
        let mut full = String::with_capacity(self.prefix.len() + key.len());
        full.push_str(&self.prefix);
        full.push_str(key);
        full
    }

    /// A `SCAN MATCH` pattern for keys that literally start with `prefix` inside the namespace.
    pub(crate) fn match_prefix(&self, prefix: &str) -> String {
        let mut pattern = self.escaped.clone();
        pattern.push_str(&escape_glob(prefix));
        pattern.push('*');
        pattern
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.prefix
    }
}

/// Escapes Redis glob characters (`* ? [ ] \`) so the text matches only itself.
pub(crate) fn escape_glob(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_prefixed() {
        assert_eq!(Namespace::new("perfkit:").key("user:1"), "perfkit:user:1");
    }

    #[test]
    fn glob_characters_are_escaped_in_patterns() {
        let ns = Namespace::new("app[1]:");
        assert_eq!(ns.match_prefix("*"), r"app\[1\]:\**");
        assert_eq!(ns.match_prefix(r"a?b\c"), r"app\[1\]:a\?b\\c*");
        assert_eq!(ns.match_prefix(""), r"app\[1\]:*");
    }

    /// How Redis reads a `MATCH` pattern: each character a literal (escaped or plain) or
    /// special (`*`, `?`, `[`, which makes a class up to `]`).
    fn tokens(pattern: &str) -> Vec<Result<char, char>> {
        let mut tokens = Vec::new();
        let mut chars = pattern.chars();
        while let Some(c) = chars.next() {
            tokens.push(match c {
                '\\' => Ok(chars.next().unwrap_or('\\')),
                '*' | '?' | '[' => Err(c),
                c => Ok(c),
            });
        }
        tokens
    }

    proptest::proptest! {
        /// Whatever the namespace and the caller's prefix, the pattern is their literal text
        /// followed by one `*`: it matches exactly the keys that start with both.
        #[test]
        fn a_match_pattern_is_the_literal_prefix_then_one_star(
            namespace in "\\PC{0,12}",
            prefix in "\\PC{0,24}",
        ) {
            let pattern = Namespace::new(&namespace).match_prefix(&prefix);
            let mut tokens = tokens(&pattern);
            proptest::prop_assert_eq!(tokens.pop(), Some(Err('*')));
            let literal: Result<String, char> = tokens.into_iter().collect();
            proptest::prop_assert_eq!(literal, Ok(format!("{namespace}{prefix}")));
        }

        #[test]
        fn escaping_keeps_every_character_and_adds_only_backslashes(text in "\\PC{0,64}") {
            let escaped = escape_glob(&text);
            let kept: String = tokens(&escaped).into_iter().map(|t| t.unwrap_or('!')).collect();
            proptest::prop_assert!(escaped.len() <= 2 * text.len());
            proptest::prop_assert_eq!(kept, text);
        }
    }
}
