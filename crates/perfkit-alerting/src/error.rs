//! The crate's one error type, and the problems a refused rule set lists: every problem found, not
//! only the first.

use std::fmt;

/// Everything that can go wrong in perfkit-alerting.
#[derive(Debug, thiserror::Error)]
pub enum AlertingError {
    /// A rule set was refused whole; every problem found is listed.
    #[error("invalid rule set: {}", ProblemList(.problems))]
    InvalidRules {
        /// Every problem found, in rule order.
        problems: Vec<RuleProblem>,
    },
    /// A rule set document could not be read at all (not JSON / TOML, or no `rules` list).
    #[error("cannot parse rule set as {format}: {reason}")]
    Parse {
        /// `"json"` or `"toml"`.
        format: &'static str,
        /// What the parser said.
        reason: String,
    },
    /// A rule set could not be written out.
    #[error("cannot serialize rule set as {format}: {reason}")]
    Serialize {
        /// `"json"` or `"toml"`.
        format: &'static str,
        /// What the serializer said.
        reason: String,
    },
    /// A silence was refused.
    #[error("invalid silence: {0}")]
    InvalidSilence(String),
    /// Inhibit rules were refused whole; every problem is listed.
    #[error("invalid inhibit rules: {}", .0.join("; "))]
    InvalidInhibitRules(Vec<String>),
    /// Notifier settings were refused whole; every problem is listed.
    #[error("invalid notifier settings: {}", .0.join("; "))]
    InvalidNotifiers(Vec<String>),
    /// No silence has this id (it expired, or never existed).
    #[error("no silence with id {0}")]
    UnknownSilence(u64),
    /// A notifier could not deliver a notification, after its retries.
    #[error("notifier {notifier} failed to deliver: {reason}")]
    Delivery {
        /// The notifier's name.
        notifier: String,
        /// Why the last attempt failed.
        reason: String,
    },
    /// A notifier could not be built from its settings.
    #[error("cannot build notifier {notifier}: {reason}")]
    NotifierSetup {
        /// The notifier's name.
        notifier: String,
        /// Why.
        reason: String,
    },
}

/// One problem found while validating a rule set.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleProblem {
    /// The rule's name, or `#<index>` when the rule has no usable name.
    pub rule: String,
    /// The field at fault (`"threshold"`, `"for"`, ...), empty for the rule as a whole.
    pub field: String,
    /// What is wrong and why, lowercase.
    pub message: String,
}

impl RuleProblem {
    pub(crate) fn new(rule: &str, field: &str, message: impl Into<String>) -> Self {
        RuleProblem { rule: rule.to_owned(), field: field.to_owned(), message: message.into() }
    }
}

impl fmt::Display for RuleProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.field.is_empty() {
            write!(f, "rule {}: {}", self.rule, self.message)
        } else {
            write!(f, "rule {} field {}: {}", self.rule, self.field, self.message)
        }
    }
}

struct ProblemList<'a>(&'a [RuleProblem]);

impl fmt::Display for ProblemList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} problem(s)", self.0.len())?;
        for problem in self.0 {
            write!(f, "; {problem}")?;
        }
        Ok(())
    }
}
