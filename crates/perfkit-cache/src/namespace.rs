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
}
