//! Names and label values made to follow Prometheus's rules, without allocating for the
//! common case of a name that already does.
//!
//! A metric name is `[a-zA-Z_:][a-zA-Z0-9_:]*`, a label name `[a-zA-Z_][a-zA-Z0-9_]*` and not
//! `__`-prefixed; any other byte becomes `_` (a leading digit gets a `_` before it). A label
//! value may be any UTF-8 (the exposition escapes it) but is cut to [`MAX_LABEL_VALUE_LEN`]
//! bytes, so one caller's long values cannot make every scrape large.

use std::borrow::Cow;

use perfkit_core::{MAX_NAME_LEN, is_valid_label_name, is_valid_metric_name};

/// Longest label value kept, in bytes; longer values are cut at a character boundary.
pub(crate) const MAX_LABEL_VALUE_LEN: usize = 128;

/// `name` as a Prometheus metric name.
pub(crate) fn metric_name(name: &str) -> Cow<'_, str> {
    if is_valid_metric_name(name) {
        return Cow::Borrowed(name);
    }
    Cow::Owned(replace_invalid(name, |b| b.is_ascii_alphanumeric() || b == b'_' || b == b':'))
}

/// `name` as a Prometheus label name.
pub(crate) fn label_name(name: &str) -> Cow<'_, str> {
    if is_valid_label_name(name) {
        return Cow::Borrowed(name);
    }
    let mut fixed = replace_invalid(name, |b| b.is_ascii_alphanumeric() || b == b'_');
    // `__` is reserved for Prometheus's own labels.
    while fixed.starts_with("__") {
        fixed.replace_range(..1, "l");
    }
    Cow::Owned(fixed)
}

/// `value` cut to [`MAX_LABEL_VALUE_LEN`] bytes.
pub(crate) fn label_value(value: &str) -> &str {
    if value.len() <= MAX_LABEL_VALUE_LEN {
        return value;
    }
    let mut end = MAX_LABEL_VALUE_LEN;
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    &value[..end]
}

/// Whether a label set needs [`label_name`] or [`label_value`] to change anything.
pub(crate) fn labels_are_clean<'a>(mut labels: impl Iterator<Item = (&'a str, &'a str)>) -> bool {
    labels.all(|(name, value)| is_valid_label_name(name) && value.len() <= MAX_LABEL_VALUE_LEN)
}

fn replace_invalid(name: &str, allowed: impl Fn(u8) -> bool) -> String {
    let mut fixed = String::with_capacity(name.len() + 1);
    if name.is_empty() || name.as_bytes()[0].is_ascii_digit() {
        fixed.push('_');
    }
    for byte in name.bytes().take(MAX_NAME_LEN - 1) {
        fixed.push(if allowed(byte) { char::from(byte) } else { '_' });
    }
    fixed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_names_are_borrowed_and_invalid_ones_fixed() {
        assert!(matches!(metric_name("orders_placed"), Cow::Borrowed(_)));
        assert_eq!(metric_name("orders.placed-eu"), "orders_placed_eu");
        assert_eq!(metric_name("2xx"), "_2xx");
        assert_eq!(metric_name(""), "_");
        assert_eq!(metric_name("caf\u{e9}"), "caf__");
        assert!(is_valid_metric_name(&metric_name(&"x".repeat(500))));
        assert_eq!(label_name("page depth"), "page_depth");
        assert_eq!(label_name("__name__"), "l_name__");
        assert_eq!(label_name("a:b"), "a_b");
        assert!(is_valid_label_name(&label_name("__")));
    }

    #[test]
    fn long_values_are_cut_at_a_character_boundary() {
        let long = "\u{e9}".repeat(100);
        let cut = label_value(&long);
        assert!(cut.len() <= MAX_LABEL_VALUE_LEN);
        assert!(long.starts_with(cut));
        assert_eq!(label_value("eu"), "eu");
        assert!(labels_are_clean([("region", "eu")].into_iter()));
        assert!(!labels_are_clean([("region", long.as_str())].into_iter()));
        assert!(!labels_are_clean([("bad name", "x")].into_iter()));
    }
}
