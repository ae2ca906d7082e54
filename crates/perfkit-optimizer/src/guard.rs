//! The stateful half of the guardrails: cooldowns, their doubling after an undo, and the
//! flip-flop kill switch; stabilization holds back automatic runs only. The decision itself, [`Guard::gate`], reads state and changes none.

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use perfkit_core::Timestamp;
use serde::{Deserialize, Serialize};

use crate::{ActionKind, OptimizerConfig, Recommendation, RunTrigger, SkipReason};

/// The most a cooldown is multiplied by after repeated undos.
const MAX_COOLDOWN_FACTOR: u32 = 16;
/// Scaling moves remembered for flip-flop counting.
const MOVES_KEPT: usize = 64;

/// Why automation was stopped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KillSwitchTrip {
    /// When it tripped.
    pub at: Timestamp,
    /// Why, in words.
    pub reason: String,
}

#[derive(Debug, Default)]
pub(crate) struct Guard {
    last_taken: BTreeMap<ActionKind, Timestamp>,
    cooldown_factor: BTreeMap<ActionKind, u32>,
    /// Worker scaling moves, oldest first: (when, upwards).
    moves: VecDeque<(Timestamp, bool)>,
    pub(crate) tripped: Option<KillSwitchTrip>,
}

impl Guard {
    /// Whether `rec` may act now, and if not, why.
    pub(crate) fn gate(
        &self,
        rec: &Recommendation,
        trigger: RunTrigger,
        config: &OptimizerConfig,
        now: Timestamp,
    ) -> Result<(), (SkipReason, String)> {
        if trigger == RunTrigger::Auto && !config.mode.auto {
            return Err((SkipReason::AutoOff, "automation is switched off".to_owned()));
        }
        if trigger == RunTrigger::Force {
            return Ok(());
        }
        if let Some(trip) = &self.tripped {
            return Err((SkipReason::KillSwitch, format!("automation stopped: {}", trip.reason)));
        }
        // Stabilization guards automatic runs only: a person asking for a run has looked at
        // the figures now, and cooldowns, bounds and the kill switch still hold for them.
        if trigger == RunTrigger::Auto && !rec.stable {
            return Err((
                SkipReason::Stabilizing,
                format!(
                    "trigger held for {} of {} consecutive checks",
                    rec.held_for_checks, config.guardrails.stabilization_checks
                ),
            ));
        }
        if let Some(left) = self.cooldown_left(rec.action, config, now) {
            return Err((
                SkipReason::Cooldown,
                format!("ran recently: {} s of cooldown left", left.as_secs()),
            ));
        }
        Ok(())
    }

    pub(crate) fn cooldown(&self, action: ActionKind, config: &OptimizerConfig) -> Duration {
        let factor = self.cooldown_factor.get(&action).copied().unwrap_or(1);
        config.cooldowns.of(action).saturating_mul(factor)
    }

    fn cooldown_left(
        &self,
        action: ActionKind,
        config: &OptimizerConfig,
        now: Timestamp,
    ) -> Option<Duration> {
        let last = self.last_taken.get(&action)?;
        let elapsed = now.duration_since(*last);
        self.cooldown(action, config).checked_sub(elapsed).filter(|left| !left.is_zero())
    }

    pub(crate) fn record_taken(&mut self, action: ActionKind, now: Timestamp) {
        self.last_taken.insert(action, now);
    }

    /// After an undo: the action waits twice as long before it may run again.
    pub(crate) fn double_cooldown(&mut self, action: ActionKind, now: Timestamp) {
        let factor = self.cooldown_factor.entry(action).or_insert(1);
        *factor = (*factor * 2).min(MAX_COOLDOWN_FACTOR);
        self.last_taken.insert(action, now);
    }

    /// After an action that held: its cooldown is back to the configured one.
    pub(crate) fn reset_cooldown(&mut self, action: ActionKind) {
        self.cooldown_factor.remove(&action);
    }

    /// Records a worker scaling move; returns a trip when reversals reached the limit.
    pub(crate) fn record_move(
        &mut self,
        up: bool,
        config: &OptimizerConfig,
        now: Timestamp,
    ) -> Option<KillSwitchTrip> {
        self.moves.push_back((now, up));
        while self.moves.len() > MOVES_KEPT {
            self.moves.pop_front();
        }
        let window = config.guardrails.flip_flop_window;
        let recent: Vec<bool> = self
            .moves
            .iter()
            .filter(|(at, _)| now.duration_since(*at) <= window)
            .map(|(_, up)| *up)
            .collect();
        let reversals = recent.windows(2).filter(|pair| pair[0] != pair[1]).count();
        let limit = config.guardrails.max_flip_flops as usize;
        if self.tripped.is_some() || reversals < limit {
            return None;
        }
        let trip = KillSwitchTrip {
            at: now,
            reason: format!(
                "workers changed direction {reversals} times within {} min",
                window.as_secs() / 60
            ),
        };
        self.tripped = Some(trip.clone());
        Some(trip)
    }

    pub(crate) fn reset_kill_switch(&mut self) {
        self.tripped = None;
        self.moves.clear();
    }
}

#[cfg(test)]
mod tests {
    use perfkit_core::Severity;

    use super::*;
    use crate::Figures;

    fn rec(action: ActionKind, stable: bool) -> Recommendation {
        Recommendation {
            action,
            reason: String::new(),
            figures: Figures::new(),
            expected_effect: String::new(),
            priority: Severity::Low,
            at: Timestamp::UNIX_EPOCH,
            held_for_checks: 1,
            stable,
            scale: None,
            details: Vec::new(),
        }
    }

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_unix_millis(secs * 1000)
    }

    #[test]
    fn gates_in_order_auto_kill_switch_stabilizing_cooldown() {
        let mut config = OptimizerConfig::default();
        config.cooldowns.optimize_cache = Duration::from_secs(60);
        let mut guard = Guard::default();
        let stable = rec(ActionKind::OptimizeCache, true);
        let reason = |r: Result<(), (SkipReason, String)>| r.err().map(|e| e.0);

        assert_eq!(reason(guard.gate(&stable, RunTrigger::Auto, &config, at(0))), None);
        let unstable = rec(ActionKind::OptimizeCache, false);
        let got = reason(guard.gate(&unstable, RunTrigger::Auto, &config, at(0)));
        assert_eq!(got, Some(SkipReason::Stabilizing));
        // A manual run acts on a trigger that fires now.
        assert_eq!(reason(guard.gate(&unstable, RunTrigger::Run, &config, at(0))), None);

        guard.record_taken(ActionKind::OptimizeCache, at(0));
        let got = reason(guard.gate(&stable, RunTrigger::Run, &config, at(59)));
        assert_eq!(got, Some(SkipReason::Cooldown));
        assert_eq!(reason(guard.gate(&stable, RunTrigger::Run, &config, at(60))), None);
        assert_eq!(reason(guard.gate(&stable, RunTrigger::Force, &config, at(1))), None);

        config.mode.auto = false;
        let got = reason(guard.gate(&stable, RunTrigger::Auto, &config, at(100)));
        assert_eq!(got, Some(SkipReason::AutoOff));
        assert_eq!(reason(guard.gate(&stable, RunTrigger::Run, &config, at(100))), None);
    }

    #[test]
    fn an_undo_doubles_the_cooldown_until_an_action_holds() {
        let mut config = OptimizerConfig::default();
        config.cooldowns.scale_workers = Duration::from_secs(60);
        let mut guard = Guard::default();
        let action = ActionKind::ScaleWorkers;
        guard.double_cooldown(action, at(0));
        assert_eq!(guard.cooldown(action, &config), Duration::from_secs(120));
        let stable = rec(action, true);
        assert!(guard.gate(&stable, RunTrigger::Run, &config, at(119)).is_err());
        assert!(guard.gate(&stable, RunTrigger::Run, &config, at(120)).is_ok());
        for _ in 0..10 {
            guard.double_cooldown(action, at(0));
        }
        assert_eq!(guard.cooldown(action, &config), Duration::from_secs(60 * 16));
        guard.reset_cooldown(action);
        assert_eq!(guard.cooldown(action, &config), Duration::from_secs(60));
    }

    #[test]
    fn kill_switch_trips_on_reversals_within_the_window_only() {
        let mut config = OptimizerConfig::default();
        config.guardrails.max_flip_flops = 3;
        config.guardrails.flip_flop_window = Duration::from_secs(600);
        let mut guard = Guard::default();
        // Same direction moves never trip.
        for i in 0..10 {
            assert_eq!(guard.record_move(true, &config, at(i)), None);
        }
        // Reversals far apart in time never trip either.
        for (i, up) in [false, true, false, true].into_iter().enumerate() {
            assert_eq!(guard.record_move(up, &config, at(10_000 * (i as i64 + 1))), None);
        }
        guard.reset_kill_switch();
        assert_eq!(guard.record_move(true, &config, at(100_000)), None);
        assert_eq!(guard.record_move(false, &config, at(100_060)), None);
        assert_eq!(guard.record_move(true, &config, at(100_120)), None);
        let trip = guard.record_move(false, &config, at(100_180)).unwrap();
        assert!(trip.reason.contains("3 times"), "{}", trip.reason);
        let stable = rec(ActionKind::ScaleWorkers, true);
        let gate = guard.gate(&stable, RunTrigger::Auto, &config, at(200_000));
        assert_eq!(gate.unwrap_err().0, SkipReason::KillSwitch);
        assert!(guard.gate(&stable, RunTrigger::Force, &config, at(200_000)).is_ok());
    }
}
