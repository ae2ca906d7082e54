//! The per-rule state machine, a pure function of verdicts and time:
//! inactive -> pending -> firing -> recovering -> resolved, and no-data.

use std::time::Duration;

use perfkit_core::Timestamp;

use crate::alert::{AlertEventKind, AlertPhase};
use crate::rule::Verdict;

/// Evaluations in a row with the figures missing before a rule goes to no-data.
const MISSING_BEFORE_NO_DATA: u32 = 2;

/// One rule's state between evaluations.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RuleState {
    pub(crate) phase: AlertPhase,
    /// When the current phase began.
    pub(crate) phase_since: Timestamp,
    /// When the condition started holding (start of pending), while it does.
    pub(crate) active_since: Option<Timestamp>,
    /// When the alert fired, while it has not resolved.
    pub(crate) fired_at: Option<Timestamp>,
    missing: u32,
}

impl RuleState {
    pub(crate) fn new(now: Timestamp) -> Self {
        RuleState {
            phase: AlertPhase::Inactive,
            phase_since: now,
            active_since: None,
            fired_at: None,
            missing: 0,
        }
    }

    /// Whether an alert fired and has not resolved: the condition is then judged against the
    /// recovery threshold.
    pub(crate) fn alert_active(&self) -> bool {
        self.fired_at.is_some()
    }

    fn enter(&mut self, phase: AlertPhase, now: Timestamp) {
        self.phase = phase;
        self.phase_since = now;
    }

    /// Moves the machine by one evaluation; returns the event worth recording, if any.
    pub(crate) fn step(
        &mut self,
        verdict: Verdict,
        for_duration: Duration,
        keep_firing_for: Duration,
        now: Timestamp,
    ) -> Option<AlertEventKind> {
        match verdict {
            Verdict::Missing => {
                self.missing = self.missing.saturating_add(1);
                if self.missing < MISSING_BEFORE_NO_DATA || self.phase == AlertPhase::NoData {
                    return None;
                }
                // A pending condition has not been seen to hold: start over when data returns.
                // A firing alert stays firing: absence of data is not recovery.
                if !self.alert_active() {
                    self.active_since = None;
                }
                self.enter(AlertPhase::NoData, now);
                Some(AlertEventKind::NoData)
            }
            Verdict::Breach(_) => {
                self.missing = 0;
                if self.alert_active() {
                    if self.phase != AlertPhase::Firing {
                        self.enter(AlertPhase::Firing, now);
                    }
                    return None;
                }
                let since = *self.active_since.get_or_insert(now);
                if now.duration_since(since) >= for_duration {
                    self.fired_at = Some(now);
                    self.enter(AlertPhase::Firing, now);
                    Some(AlertEventKind::Fired)
                } else if self.phase == AlertPhase::Pending {
                    None
                } else {
                    self.enter(AlertPhase::Pending, now);
                    Some(AlertEventKind::Pending)
                }
            }
            Verdict::Clear(_) => {
                self.missing = 0;
                match self.phase {
                    _ if self.alert_active() => {
                        if self.phase != AlertPhase::Recovering {
                            self.enter(AlertPhase::Recovering, now);
                        }
                        if now.duration_since(self.phase_since) >= keep_firing_for {
                            self.resolve(now);
                            Some(AlertEventKind::Resolved)
                        } else if self.phase_since == now {
                            Some(AlertEventKind::Recovering)
                        } else {
                            None
                        }
                    }
                    AlertPhase::Pending | AlertPhase::NoData => {
                        self.active_since = None;
                        self.enter(AlertPhase::Inactive, now);
                        None
                    }
                    _ => None,
                }
            }
        }
    }

    fn resolve(&mut self, now: Timestamp) {
        self.fired_at = None;
        self.active_since = None;
        self.enter(AlertPhase::Resolved, now);
    }

    /// Forgets everything: what `clear()` does to each rule.
    pub(crate) fn reset(&mut self, now: Timestamp) {
        *self = RuleState::new(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FOR: Duration = Duration::from_secs(60);

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_unix_millis(secs * 1000)
    }

    fn run(
        state: &mut RuleState,
        steps: &[(i64, Verdict)],
        keep: Duration,
    ) -> Vec<(AlertPhase, Option<AlertEventKind>)> {
        steps
            .iter()
            .map(|(t, v)| {
                let event = state.step(*v, FOR, keep, at(*t));
                (state.phase, event)
            })
            .collect()
    }

    use AlertEventKind as E;
    use AlertPhase as P;
    const B: Verdict = Verdict::Breach(1.0);
    const C: Verdict = Verdict::Clear(Some(0.0));
    const M: Verdict = Verdict::Missing;

    #[test]
    fn walks_pending_firing_resolved_with_for_at_thirty_second_steps() {
        let mut s = RuleState::new(at(0));
        let phases =
            run(&mut s, &[(0, C), (30, B), (60, B), (90, B), (120, C), (150, C)], Duration::ZERO);
        assert_eq!(
            phases,
            [
                (P::Inactive, None),
                (P::Pending, Some(E::Pending)),
                (P::Pending, None),
                (P::Firing, Some(E::Fired)),
                (P::Resolved, Some(E::Resolved)),
                (P::Resolved, None),
            ]
        );
    }

    #[test]
    fn pending_that_clears_goes_back_to_inactive() {
        let mut s = RuleState::new(at(0));
        let phases = run(&mut s, &[(0, B), (30, C), (60, B), (90, B)], Duration::ZERO);
        assert_eq!(phases[1], (P::Inactive, None));
        // Pending restarted at 60, so 90 is still pending.
        assert_eq!(phases[3], (P::Pending, None));
    }

    #[test]
    fn keep_firing_for_goes_through_recovering() {
        let mut s = RuleState::new(at(0));
        let keep = Duration::from_secs(60);
        let phases =
            run(&mut s, &[(0, B), (60, B), (90, C), (120, B), (150, C), (180, C), (210, C)], keep);
        assert_eq!(phases[1], (P::Firing, Some(E::Fired)));
        assert_eq!(phases[2], (P::Recovering, Some(E::Recovering)));
        assert_eq!(phases[3], (P::Firing, None));
        assert_eq!(phases[4], (P::Recovering, Some(E::Recovering)));
        assert_eq!(phases[5], (P::Recovering, None));
        assert_eq!(phases[6], (P::Resolved, Some(E::Resolved)));
    }

    #[test]
    fn two_missing_evaluations_mean_no_data() {
        let mut s = RuleState::new(at(0));
        let phases = run(&mut s, &[(0, B), (30, M), (60, M), (90, M), (120, C)], Duration::ZERO);
        assert_eq!(phases[1], (P::Pending, None));
        assert_eq!(phases[2], (P::NoData, Some(E::NoData)));
        assert_eq!(phases[3], (P::NoData, None));
        assert_eq!(phases[4], (P::Inactive, None));
    }

    #[test]
    fn firing_alert_survives_no_data_and_resolves_when_data_says_so() {
        let mut s = RuleState::new(at(0));
        let phases = run(
            &mut s,
            &[(0, B), (60, B), (90, M), (120, M), (150, B), (180, M), (210, M), (240, C)],
            Duration::ZERO,
        );
        assert_eq!(phases[3], (P::NoData, Some(E::NoData)));
        assert!(s.alert_active() || phases[7].0 == P::Resolved);
        assert_eq!(phases[4], (P::Firing, None));
        assert_eq!(phases[7], (P::Resolved, Some(E::Resolved)));
    }
}
