//! Label sets, an alert's identity, and what works on them: matchers, name checks, and the
//! fingerprint and printing done exactly as Alertmanager does them, so receivers can match them up.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

/// A set of labels: an alert's identity, as in Prometheus and Alertmanager. Sorted by name, so
/// it serializes and fingerprints the same way every time.
pub type Labels = BTreeMap<String, String>;

/// Most labels (or annotations) a rule may carry: label sets stay bounded.
pub const MAX_LABELS: usize = 32;

/// Longest label name or value accepted, in bytes.
pub const MAX_LABEL_LEN: usize = 1024;

/// Alertmanager's fingerprint of a label set: 64-bit FNV-1a over each name and value in name
/// order, each followed by the byte 0xff, printed as 16 hex digits. Matching it means a
/// receiver can correlate perfkit's alerts with the ones a real Alertmanager reports.
#[must_use]
pub fn fingerprint(labels: &Labels) -> String {
    const OFFSET: u64 = 14_695_981_039_346_656_037;
    const PRIME: u64 = 1_099_511_628_211;
    const SEPARATOR: u8 = 0xff;
    let mut hash = OFFSET;
    let mut add = |byte: u8| {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(PRIME);
    };
    for (name, value) in labels {
        name.bytes().for_each(&mut add);
        add(SEPARATOR);
        value.bytes().for_each(&mut add);
        add(SEPARATOR);
    }
    format!("{hash:016x}")
}

/// Whether `name` is a valid Prometheus label name: `[a-zA-Z_][a-zA-Z0-9_]*`.
#[must_use]
pub(crate) fn is_valid_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Picks the alerts an inhibition or a silence applies to: the label `label` must have one of
/// `values` (a single value is plain equality), or with `negated` none of them. A missing label
/// reads as the empty string, as in Alertmanager.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(remote = "Self", rename_all = "camelCase", deny_unknown_fields)]
pub struct LabelMatcher {
    /// The label name.
    pub label: String,
    /// Accepted values; the matcher matches when the label's value is any of them.
    pub any_of: Vec<String>,
    /// Turns the matcher around: it matches when the value is none of `any_of`
    /// (Alertmanager's `isEqual: false`, `!=`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub negated: bool,
}

perfkit_core::maps_only!(LabelMatcher);

impl LabelMatcher {
    /// A matcher for `label` equal to `value`.
    #[must_use]
    pub fn equal(label: &str, value: &str) -> Self {
        LabelMatcher { label: label.to_owned(), any_of: vec![value.to_owned()], negated: false }
    }

    /// A matcher for `label` being any of `values`.
    #[must_use]
    pub fn any_of(label: &str, values: &[&str]) -> Self {
        LabelMatcher {
            label: label.to_owned(),
            any_of: values.iter().map(|v| (*v).to_owned()).collect(),
            negated: false,
        }
    }

    /// A matcher for `label` not equal to `value`.
    #[must_use]
    pub fn not_equal(label: &str, value: &str) -> Self {
        LabelMatcher { negated: true, ..LabelMatcher::equal(label, value) }
    }

    /// Whether `labels` satisfy this matcher.
    #[must_use]
    pub fn matches(&self, labels: &Labels) -> bool {
        let value = labels.get(&self.label).map_or("", String::as_str);
        self.any_of.iter().any(|accepted| accepted == value) != self.negated
    }

    pub(crate) fn problems(&self) -> Option<String> {
        if !is_valid_label_name(&self.label) {
            return Some(format!("matcher label {:?} is not a valid label name", self.label));
        }
        if self.any_of.is_empty() {
            return Some(format!(
                "matcher on {:?} lists no values, so it can never match",
                self.label
            ));
        }
        if self.any_of.len() > MAX_LABELS {
            return Some(format!(
                "matcher on {:?} lists {} values, at most {MAX_LABELS} are allowed",
                self.label,
                self.any_of.len()
            ));
        }
        if let Some(long) = self.any_of.iter().find(|v| v.len() > MAX_LABEL_LEN) {
            return Some(format!(
                "matcher on {:?} has a value of {} bytes, at most {MAX_LABEL_LEN} are allowed",
                self.label,
                long.len()
            ));
        }
        None
    }
}

/// Whether every matcher matches `labels` (an empty list matches everything).
pub(crate) fn all_match(matchers: &[LabelMatcher], labels: &Labels) -> bool {
    matchers.iter().all(|m| m.matches(labels))
}

/// Prints labels as Alertmanager prints a label set: `{a="1", b="2"}`, values quoted like Go's
/// `%q` for the characters labels carry in practice.
pub(crate) fn format_label_set(labels: &Labels) -> String {
    let mut out = String::from("{");
    for (index, (name, value)) in labels.iter().enumerate() {
        if index > 0 {
            out.push_str(", ");
        }
        out.push_str(name);
        out.push_str("=\"");
        for c in value.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\t' => out.push_str("\\t"),
                '\r' => out.push_str("\\r"),
                c if c.is_control() => {
                    let _ = write!(out, "\\u{:04x}", u32::from(c));
                }
                c => out.push(c),
            }
        }
        out.push('"');
    }
    out.push('}');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn fingerprint_matches_alertmanager() {
        // Empty set: the FNV-64a offset basis, as prometheus/common's model returns.
        assert_eq!(fingerprint(&Labels::new()), "cbf29ce484222325");
        let a = labels(&[("alertname", "x"), ("severity", "high")]);
        let b = labels(&[("severity", "high"), ("alertname", "x")]);
        assert_eq!(fingerprint(&a), fingerprint(&b));
        assert_ne!(fingerprint(&a), fingerprint(&labels(&[("alertname", "y")])));
    }

    #[test]
    fn label_names_follow_prometheus() {
        assert!(is_valid_label_name("alertname"));
        assert!(is_valid_label_name("_x9"));
        assert!(!is_valid_label_name("9x"));
        assert!(!is_valid_label_name("a-b"));
        assert!(!is_valid_label_name(""));
    }

    #[test]
    fn matchers_treat_missing_labels_as_empty() {
        let set = labels(&[("metric", "p95")]);
        assert!(LabelMatcher::any_of("metric", &["p95", "p99"]).matches(&set));
        assert!(!LabelMatcher::equal("metric", "p99").matches(&set));
        assert!(LabelMatcher::equal("team", "").matches(&set));
        assert!(LabelMatcher::not_equal("metric", "p99").matches(&set));
        assert!(!LabelMatcher::not_equal("metric", "p95").matches(&set));
    }

    #[test]
    fn label_sets_print_like_alertmanager() {
        let set = labels(&[("b", "say \"hi\""), ("a", "1")]);
        assert_eq!(format_label_set(&set), r#"{a="1", b="say \"hi\""}"#);
        assert_eq!(format_label_set(&Labels::new()), "{}");
    }
}
