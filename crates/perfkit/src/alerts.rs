//! The service's alert engine as a part the edges can use: every method takes the lock for
//! one short, non-async step and stamps it with the service's clock, so no caller ever holds
//! the engine across an `.await` or passes its own idea of "now".

use std::sync::{Arc, Mutex};

use perfkit_alerting::{
    Alert, AlertEngine, AlertEvent, AlertingError, DeliveryStats, RuleSet, RuleStatus, Silence,
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
/// assert_eq!(alerts.rules().rules.len(), 5, "the seed's five rules");
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

    /// Adds a silence; its id.
    ///
    /// # Errors
    /// [`AlertingError::InvalidSilence`] when it is not acceptable.
    pub fn add_silence(&self, silence: Silence) -> Result<u64, AlertingError> {
        lock(&self.engine).add_silence(silence)
    }

    /// The silences in force or yet to start.
    #[must_use]
    pub fn silences(&self) -> Vec<Silence> {
        lock(&self.engine).silences().to_vec()
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
