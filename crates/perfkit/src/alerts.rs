//! The service's alert engine as a part the edges can use: every method takes the lock for
//! one short, non-async step and stamps it with the service's clock, so no caller ever holds
//! the engine across an `.await` or passes its own idea of "now".

use std::sync::{Arc, Mutex};

use perfkit_alerting::{
    Alert, AlertEngine, AlertEvent, AlertingError, DeliveryStats, InhibitRule, RuleSet, RuleStatus,
    Silence, validate_inhibit_rules,
};
use perfkit_core::{Clock, MetricsSnapshot};

use crate::service::lock;

/// The alert engine the service evaluates on each collection, shared with the edges.
///
/// ```
/// use perfkit::PerformanceService;
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let service = PerformanceService::builder().build()?;
/// let alerts = &service.parts().alerts;
/// assert_eq!(alerts.rules().rules.len(), 6, "the guide's five rules and replica lag");
/// assert!(alerts.active().is_empty());
/// # Ok::<(), perfkit::PerfkitError>(())
/// # }).unwrap();
/// ```
pub struct Alerts {
    engine: Mutex<AlertEngine>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Alerts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Alerts").field("engine", &*lock(&self.engine)).finish_non_exhaustive()
    }
}

impl Alerts {
    pub(crate) fn new(engine: AlertEngine, clock: Arc<dyn Clock>) -> Self {
        Alerts { engine: Mutex::new(engine), clock }
    }

    /// Alerts firing now (firing, recovering, or firing without data).
    #[must_use]
    pub fn active(&self) -> Vec<Alert> {
        lock(&self.engine).active_alerts()
    }

    /// Alerts whose condition holds but not yet for their `for` duration.
    #[must_use]
    pub fn pending(&self) -> Vec<Alert> {
        lock(&self.engine).pending_alerts()
    }

    /// Every rule with its phase.
    #[must_use]
    pub fn rule_statuses(&self) -> Vec<RuleStatus> {
        lock(&self.engine).rule_statuses()
    }

    /// The most recent `limit` state changes, newest first.
    #[must_use]
    pub fn recent_events(&self, limit: usize) -> Vec<AlertEvent> {
        lock(&self.engine).history().rev().take(limit).cloned().collect()
    }

    /// The rule set in force.
    #[must_use]
    pub fn rules(&self) -> RuleSet {
        lock(&self.engine).rules().clone()
    }

    /// Replaces the rule set; an invalid one is refused whole and the old one stays.
    ///
    /// # Errors
    /// [`AlertingError::InvalidRules`] listing every problem of the new set.
    pub fn replace_rules(&self, rules: RuleSet) -> Result<(), AlertingError> {
        let now = self.clock.now();
        lock(&self.engine).replace_rules(rules, now)
    }

    /// Drops the active and pending alerts (they fire again if their condition still
    /// holds); how many were dropped.
    pub fn clear(&self) -> usize {
        let now = self.clock.now();
        lock(&self.engine).clear(now)
    }

    /// Replaces the rules and the inhibit rules together, or neither: both are validated
    /// before either changes (a configuration reload).
    ///
    /// # Errors
    /// [`AlertingError::InvalidRules`] or [`AlertingError::InvalidInhibitRules`]; nothing
    /// changed.
    pub fn reload(
        &self,
        rules: RuleSet,
        inhibit_rules: Vec<InhibitRule>,
    ) -> Result<(), AlertingError> {
        rules.validate()?;
        validate_inhibit_rules(&inhibit_rules)?;
        let now = self.clock.now();
        let mut engine = lock(&self.engine);
        engine.replace_rules(rules, now)?;
        engine.replace_inhibit_rules(inhibit_rules)
    }

    /// The inhibit rules in force.
    #[must_use]
    pub fn inhibit_rules(&self) -> Vec<InhibitRule> {
        lock(&self.engine).inhibit_rules().to_vec()
    }

    /// Adds a silence; its id. A start in the past (or none) is moved up to now. It mutes the notifications of the alerts it matches from the
    /// next evaluation on (a firing alert it matches is not notified again while it holds).
    ///
    /// # Errors
    /// [`AlertingError::InvalidSilence`] when it is not acceptable (no matchers, an end
    /// before its start or in the past, too many silences).
    pub fn add_silence(&self, mut silence: Silence) -> Result<u64, AlertingError> {
        let now = self.clock.now();
        // A start in the past means "from now", as Alertmanager takes it.
        silence.starts_at = silence.starts_at.max(now);
        if silence.ends_at <= now {
            return Err(AlertingError::InvalidSilence(
                "endsAt is in the past: such a silence would mute nothing".to_owned(),
            ));
        }
        lock(&self.engine).add_silence(silence)
    }

    /// Expires a silence now: the alerts it muted are notified again from the next
    /// evaluation.
    ///
    /// # Errors
    /// [`AlertingError::UnknownSilence`] when no silence has this id (or it already ended).
    pub fn expire_silence(&self, id: u64) -> Result<(), AlertingError> {
        lock(&self.engine).expire_silence(id)
    }

    /// The silences in force or yet to start.
    #[must_use]
    pub fn silences(&self) -> Vec<Silence> {
        self.silences_with_state().into_iter().map(|(silence, _)| silence).collect()
    }

    /// The silences in force (`"active"`) or yet to start (`"pending"`), each with its state
    /// by the service's clock.
    #[must_use]
    pub fn silences_with_state(&self) -> Vec<(Silence, &'static str)> {
        let now = self.clock.now();
        lock(&self.engine)
            .silences()
            .iter()
            .filter(|s| s.ends_at > now)
            .map(|s| (s.clone(), s.state(now)))
            .collect()
    }

    /// Delivery counters of each notifier.
    #[must_use]
    pub fn delivery_stats(&self) -> Vec<DeliveryStats> {
        lock(&self.engine).delivery_stats()
    }

    /// Evaluates every rule on `snapshot` (the collector's step).
    pub(crate) fn evaluate(&self, snapshot: &MetricsSnapshot) -> Vec<AlertEvent> {
        lock(&self.engine).evaluate(snapshot, snapshot.timestamp)
    }
}
