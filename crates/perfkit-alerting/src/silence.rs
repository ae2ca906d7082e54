//! Holding back notifications without touching alert state: silences mute matching alerts until
//! they expire, and inhibit rules mute the symptoms while their cause fires.

use perfkit_core::Timestamp;
use serde::{Deserialize, Serialize};

use crate::labels::{LabelMatcher, Labels, MAX_LABELS, all_match};

/// Longest `createdBy` accepted, in bytes.
pub const MAX_SILENCE_AUTHOR_LEN: usize = 256;
/// Longest `comment` accepted, in bytes.
pub const MAX_SILENCE_COMMENT_LEN: usize = 4096;

/// Mutes the notifications of matching alerts until it expires. Alerts still change state and
/// still appear in the active list and the history; only notifications are held back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", rename_all = "camelCase")]
pub struct Silence {
    /// Assigned by the engine when the silence is added.
    #[serde(default)]
    pub id: u64,
    /// Every matcher must match for an alert to be silenced (at least one is required).
    pub matchers: Vec<LabelMatcher>,
    /// From when it applies.
    pub starts_at: Timestamp,
    /// Until when it applies; it is dropped after this.
    pub ends_at: Timestamp,
    /// Who added it.
    #[serde(default)]
    pub created_by: String,
    /// Why.
    #[serde(default)]
    pub comment: String,
}

perfkit_core::maps_only!(Silence);

impl Silence {
    /// Whether it mutes an alert with `labels` at `now`.
    #[must_use]
    pub fn mutes(&self, labels: &Labels, now: Timestamp) -> bool {
        self.starts_at <= now && now < self.ends_at && all_match(&self.matchers, labels)
    }

    pub(crate) fn problems(&self) -> Option<String> {
        if self.matchers.is_empty() {
            return Some(
                "a silence needs at least one matcher, or it would mute everything".to_owned(),
            );
        }
        if self.matchers.len() > MAX_LABELS {
            return Some(format!(
                "a silence has at most {MAX_LABELS} matchers, got {}",
                self.matchers.len()
            ));
        }
        if self.ends_at <= self.starts_at {
            return Some("endsAt must be after startsAt".to_owned());
        }
        if self.created_by.len() > MAX_SILENCE_AUTHOR_LEN {
            return Some(format!("createdBy is longer than {MAX_SILENCE_AUTHOR_LEN} bytes"));
        }
        if self.comment.len() > MAX_SILENCE_COMMENT_LEN {
            return Some(format!("comment is longer than {MAX_SILENCE_COMMENT_LEN} bytes"));
        }
        self.matchers.iter().find_map(LabelMatcher::problems)
    }

    /// Whether it is in force at `now` (`active`), yet to start (`pending`) or over
    /// (`expired`), in Alertmanager's words.
    #[must_use]
    pub fn state(&self, now: Timestamp) -> &'static str {
        if now < self.starts_at {
            "pending"
        } else if now < self.ends_at {
            "active"
        } else {
            "expired"
        }
    }
}

/// Mutes the notifications of target alerts while a matching source alert fires, so a page
/// goes out for the cause and not for each of its symptoms (Alertmanager's inhibit rules).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", rename_all = "camelCase", deny_unknown_fields)]
pub struct InhibitRule {
    /// A firing alert matching all of these inhibits.
    pub source_matchers: Vec<LabelMatcher>,
    /// An alert matching all of these is inhibited.
    pub target_matchers: Vec<LabelMatcher>,
    /// Labels that must have equal values in source and target.
    #[serde(default)]
    pub equal: Vec<String>,
}

perfkit_core::maps_only!(InhibitRule);

impl InhibitRule {
    /// The default: a firing critical error-rate alert (threshold or burn rate) inhibits the
    /// latency and cache-hit-rate alerts, which are usually its symptoms.
    #[must_use]
    pub fn defaults() -> Vec<InhibitRule> {
        vec![InhibitRule {
            source_matchers: vec![
                LabelMatcher::equal("metric", "errorRate"),
                LabelMatcher::equal("severity", "critical"),
            ],
            target_matchers: vec![LabelMatcher::any_of(
                "metric",
                &["responseTime", "p50", "p95", "p99", "cacheHitRate"],
            )],
            equal: Vec::new(),
        }]
    }

    /// What is wrong with the rule, if anything: it needs source and target matchers (an
    /// empty list would match every alert), each valid, and valid label names in `equal`.
    #[must_use]
    pub fn problems(&self) -> Option<String> {
        if self.source_matchers.is_empty() || self.target_matchers.is_empty() {
            return Some(
                "an inhibit rule needs sourceMatchers and targetMatchers, or it would match \
                 every alert"
                    .to_owned(),
            );
        }
        if [self.source_matchers.len(), self.target_matchers.len(), self.equal.len()]
            .iter()
            .any(|len| *len > MAX_LABELS)
        {
            return Some(format!("an inhibit rule lists at most {MAX_LABELS} items per list"));
        }
        if let Some(name) = self.equal.iter().find(|n| !crate::labels::is_valid_label_name(n)) {
            return Some(format!("equal names {name:?}, which is not a valid label name"));
        }
        self.source_matchers.iter().chain(&self.target_matchers).find_map(LabelMatcher::problems)
    }

    /// Whether `source` (a firing alert's labels) inhibits `target`.
    #[must_use]
    pub fn inhibits(&self, source: &Labels, target: &Labels) -> bool {
        source != target
            && all_match(&self.source_matchers, source)
            && all_match(&self.target_matchers, target)
            && self.equal.iter().all(|name| source.get(name) == target.get(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn default_inhibition_mutes_latency_under_critical_errors() {
        let rule = &InhibitRule::defaults()[0];
        let errors = labels(&[("metric", "errorRate"), ("severity", "critical")]);
        let latency = labels(&[("metric", "responseTime"), ("severity", "high")]);
        let cpu = labels(&[("metric", "cpuUsage"), ("severity", "medium")]);
        assert!(rule.inhibits(&errors, &latency));
        assert!(!rule.inhibits(&errors, &cpu));
        assert!(!rule.inhibits(&latency, &errors));
    }

    #[test]
    fn silences_apply_only_in_their_window() {
        let silence = Silence {
            id: 0,
            matchers: vec![LabelMatcher::equal("alertname", "x")],
            starts_at: Timestamp::from_unix_millis(100),
            ends_at: Timestamp::from_unix_millis(200),
            created_by: String::new(),
            comment: String::new(),
        };
        let x = labels(&[("alertname", "x")]);
        assert!(!silence.mutes(&x, Timestamp::from_unix_millis(99)));
        assert!(silence.mutes(&x, Timestamp::from_unix_millis(100)));
        assert!(!silence.mutes(&x, Timestamp::from_unix_millis(200)));
        assert!(silence.problems().is_none());
    }
}
