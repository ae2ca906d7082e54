//! Groups alerts for one receiver and decides, on each evaluation, which groups are due a
//! notification: Alertmanager's group_wait / group_interval / repeat_interval, as a pure
//! function of the alerts seen and the evaluation time.

use std::collections::{BTreeMap, BTreeSet};

use perfkit_core::Timestamp;

use crate::labels::{Labels, format_label_set};
use crate::notification::{AlertStatus, Notification, NotificationPolicy, NotifiedAlert};

#[derive(Debug)]
struct Member {
    alert: NotifiedAlert,
}

#[derive(Debug)]
struct AlertGroup {
    labels: Labels,
    next_flush: Timestamp,
    members: BTreeMap<String, Member>,
    /// Fingerprints of the firing alerts in the last notification sent.
    last_sent_firing: BTreeSet<String>,
    last_sent_at: Option<Timestamp>,
}

/// The grouping state of one receiver.
#[derive(Debug)]
pub(crate) struct GroupDispatcher {
    receiver: String,
    policy: NotificationPolicy,
    groups: BTreeMap<String, AlertGroup>,
    /// Which group each alert is in, to find it again by fingerprint.
    group_of: BTreeMap<String, String>,
}

impl GroupDispatcher {
    pub(crate) fn new(receiver: &str, policy: NotificationPolicy) -> Self {
        GroupDispatcher {
            receiver: receiver.to_owned(),
            policy,
            groups: BTreeMap::new(),
            group_of: BTreeMap::new(),
        }
    }

    /// A firing alert to notify (new, or no longer muted).
    pub(crate) fn observe_firing(&mut self, alert: NotifiedAlert, now: Timestamp) {
        let group_labels: Labels = self
            .policy
            .group_by
            .iter()
            .filter_map(|name| alert.labels.get(name).map(|v| (name.clone(), v.clone())))
            .collect();
        let key = format!("{{}}:{}", format_label_set(&group_labels));
        let wait = self.policy.group_wait;
        let group = self.groups.entry(key.clone()).or_insert_with(|| AlertGroup {
            labels: group_labels,
            next_flush: now + wait,
            members: BTreeMap::new(),
            last_sent_firing: BTreeSet::new(),
            last_sent_at: None,
        });
        self.group_of.insert(alert.fingerprint.clone(), key);
        group.members.insert(alert.fingerprint.clone(), Member { alert });
    }

    /// The alert with `fingerprint` resolved at `ends_at`.
    pub(crate) fn observe_resolved(&mut self, fingerprint: &str, ends_at: Timestamp) {
        let Some(member) = self
            .group_of
            .get(fingerprint)
            .and_then(|key| self.groups.get_mut(key))
            .and_then(|group| group.members.get_mut(fingerprint))
        else {
            return;
        };
        member.alert.status = AlertStatus::Resolved;
        member.alert.ends_at = Some(ends_at);
    }

    /// Drops an alert without notifying (muted, or cleared).
    pub(crate) fn forget(&mut self, fingerprint: &str) {
        let Some(key) = self.group_of.remove(fingerprint) else { return };
        if let Some(group) = self.groups.get_mut(&key) {
            group.members.remove(fingerprint);
            group.last_sent_firing.remove(fingerprint);
            if group.members.is_empty() {
                self.groups.remove(&key);
            }
        }
    }

    /// The notifications due at `now`.
    pub(crate) fn flush_due(&mut self, now: Timestamp) -> Vec<Notification> {
        let mut out = Vec::new();
        let mut emptied = Vec::new();
        for (key, group) in &mut self.groups {
            if now < group.next_flush {
                continue;
            }
            group.next_flush = now + self.policy.group_interval;
            let firing: BTreeSet<&String> = group
                .members
                .iter()
                .filter(|(_, m)| m.alert.status == AlertStatus::Firing)
                .map(|(fp, _)| fp)
                .collect();
            // A resolved alert is news only if its firing was notified: one that resolved
            // within group_wait goes away silently.
            let resolved_news = self.policy.send_resolved
                && group.members.iter().any(|(fp, m)| {
                    m.alert.status == AlertStatus::Resolved && group.last_sent_firing.contains(fp)
                });
            let new_firing = firing.iter().any(|fp| !group.last_sent_firing.contains(*fp));
            let repeat_due = !firing.is_empty()
                && group.last_sent_at.is_some_and(|at| now >= at + self.policy.repeat_interval);
            if new_firing || resolved_news || repeat_due {
                let mut alerts: Vec<NotifiedAlert> = group
                    .members
                    .values()
                    .filter(|m| m.alert.status == AlertStatus::Firing)
                    .map(|m| m.alert.clone())
                    .collect();
                if self.policy.send_resolved {
                    alerts.extend(
                        group
                            .members
                            .iter()
                            .filter(|(fp, m)| {
                                m.alert.status == AlertStatus::Resolved
                                    && group.last_sent_firing.contains(*fp)
                            })
                            .map(|(_, m)| m.alert.clone()),
                    );
                }
                out.push(Notification::new(&self.receiver, key, &group.labels, alerts, now));
                group.last_sent_firing = firing.into_iter().cloned().collect();
                group.last_sent_at = Some(now);
            }
            let resolved: Vec<String> = group
                .members
                .iter()
                .filter(|(_, m)| m.alert.status == AlertStatus::Resolved)
                .map(|(fp, _)| fp.clone())
                .collect();
            for fp in resolved {
                group.members.remove(&fp);
                group.last_sent_firing.remove(&fp);
                self.group_of.remove(&fp);
            }
            if group.members.is_empty() {
                emptied.push(key.clone());
            }
        }
        for key in emptied {
            self.groups.remove(&key);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_unix_millis(secs * 1000)
    }

    fn alert(name: &str, started: i64) -> NotifiedAlert {
        let labels: Labels = [("alertname".to_owned(), name.to_owned())].into();
        NotifiedAlert {
            status: AlertStatus::Firing,
            fingerprint: crate::labels::fingerprint(&labels),
            labels,
            annotations: Labels::new(),
            starts_at: at(started),
            ends_at: None,
            generator_url: String::new(),
        }
    }

    fn statuses(notifications: &[Notification]) -> Vec<Vec<(String, AlertStatus)>> {
        notifications
            .iter()
            .map(|n| n.alerts.iter().map(|a| (a.labels["alertname"].clone(), a.status)).collect())
            .collect()
    }

    #[test]
    fn waits_group_wait_then_group_interval_then_repeats() {
        let mut d = GroupDispatcher::new(
            "r",
            NotificationPolicy { group_by: vec![], ..NotificationPolicy::default() },
        );
        d.observe_firing(alert("a", 0), at(0));
        assert!(d.flush_due(at(0)).is_empty());
        assert!(d.flush_due(at(29)).is_empty());
        let first = d.flush_due(at(30));
        assert_eq!(statuses(&first), [vec![("a".to_owned(), AlertStatus::Firing)]]);
        assert_eq!(first[0].group_key, "{}:{}");
        d.observe_firing(alert("b", 60), at(60));
        assert!(d.flush_due(at(60)).is_empty(), "changes wait for group_interval");
        let second = d.flush_due(at(330));
        assert_eq!(second[0].alerts.len(), 2);
        // Nothing new: quiet until the repeat interval.
        assert!(d.flush_due(at(630)).is_empty());
        let repeat = d.flush_due(at(330 + 4 * 3600));
        assert_eq!(repeat.len(), 1);
    }

    #[test]
    fn resolve_within_group_wait_sends_nothing() {
        let mut d = GroupDispatcher::new("r", NotificationPolicy::default());
        let a = alert("a", 0);
        let fp = a.fingerprint.clone();
        d.observe_firing(a, at(0));
        d.observe_resolved(&fp, at(10));
        assert!(d.flush_due(at(30)).is_empty());
        assert!(d.groups.is_empty() && d.group_of.is_empty());
    }

    #[test]
    fn notified_alert_resolves_once() {
        let policy =
            NotificationPolicy { group_wait: Duration::ZERO, ..NotificationPolicy::default() };
        let mut d = GroupDispatcher::new("r", policy);
        let a = alert("a", 0);
        let fp = a.fingerprint.clone();
        d.observe_firing(a, at(0));
        assert_eq!(d.flush_due(at(0)).len(), 1);
        d.observe_resolved(&fp, at(100));
        let resolved = d.flush_due(at(300));
        assert_eq!(statuses(&resolved), [vec![("a".to_owned(), AlertStatus::Resolved)]]);
        assert_eq!(resolved[0].status, AlertStatus::Resolved);
        assert_eq!(resolved[0].alerts[0].ends_at, Some(at(100)));
        assert!(d.flush_due(at(600)).is_empty());
    }

    #[test]
    fn groups_by_labels() {
        let policy =
            NotificationPolicy { group_wait: Duration::ZERO, ..NotificationPolicy::default() };
        let mut d = GroupDispatcher::new("r", policy);
        d.observe_firing(alert("a", 0), at(0));
        d.observe_firing(alert("b", 0), at(0));
        let sent = d.flush_due(at(0));
        assert_eq!(sent.len(), 2);
        assert_eq!(sent[0].group_key, r#"{}:{alertname="a"}"#);
        assert_eq!(sent[0].common_labels["alertname"], "a");
    }
}
