//! The optimizer itself: evaluates the rules, passes recommendations through the guardrails, acts
//! through the host's controls and records every run. Runs are serialized, so two never act at
//! once.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use perfkit_core::{Clock, MetricsSnapshot, Timestamp};

use crate::actions::{has_control, perform, scaled};
use crate::guard::{Guard, KillSwitchTrip};
use crate::rules::{self, Assessment};
use crate::verification::Pending;
use crate::{
    ActionKind, ActionOutcome, ActionRecord, CheckHistory, Controls, Observed, OptimizerConfig,
    OptimizerError, Recommendation, RunHistory, RunRecord, RunTrigger, SkipReason, Verdict,
    Verification,
};

/// The optimizer: evaluates the rules, passes recommendations through the guardrails, acts
/// through the host's controls and keeps an audit log of every run.
///
/// Runs are serialized: a second run waits for the first, so two runs never act at once.
///
/// ```
/// use std::sync::Arc;
/// use perfkit_core::{ManualClock, MetricsSnapshot, Timestamp};
/// use perfkit_optimizer::{ActionKind, Controls, Optimizer, OptimizerConfig, RunTrigger};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let clock = Arc::new(ManualClock::new(Timestamp::from_unix_millis(1_700_000_000_000)));
/// let mut config = OptimizerConfig::default();
/// config.guardrails.stabilization_checks = 1;
/// let optimizer = Optimizer::new(config, Controls::default(), clock.clone()).unwrap();
///
/// let mut snapshot = MetricsSnapshot::empty(clock.now());
/// snapshot.db_query_p95 = Some(2500.0);
/// let run = optimizer.run(&snapshot).await;
/// assert_eq!(run.trigger, RunTrigger::Run);
/// assert_eq!(run.taken().next().unwrap().action, ActionKind::ReportSlowQueries);
/// assert_eq!(optimizer.history(10).len(), 1);
/// # });
/// # use perfkit_core::Clock;
/// ```
pub struct Optimizer {
    controls: Controls,
    clock: Arc<dyn Clock>,
    config: Mutex<OptimizerConfig>,
    history: Mutex<RunHistory>,
    guard: Mutex<Guard>,
    engine: tokio::sync::Mutex<Engine>,
}

/// The state a run reads and writes; behind the run lock.
#[derive(Default)]
struct Engine {
    next_id: u64,
    checks: CheckHistory,
    pending: BTreeMap<ActionKind, Pending>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every critical section leaves the data consistent, so a panic elsewhere poisons nothing.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Optimizer {
    /// An optimizer acting through `controls`, reading time from `clock`.
    ///
    /// Fails with [`OptimizerError::InvalidConfig`] listing every problem of `config`.
    pub fn new(
        config: OptimizerConfig,
        controls: Controls,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, OptimizerError> {
        config.validate().map_err(OptimizerError::InvalidConfig)?;
        Ok(Optimizer {
            controls,
            clock,
            history: Mutex::new(RunHistory::new(config.guardrails.history_capacity)),
            config: Mutex::new(config),
            guard: Mutex::new(Guard::default()),
            engine: tokio::sync::Mutex::new(Engine { next_id: 1, ..Engine::default() }),
        })
    }

    /// The configuration in force.
    #[must_use]
    pub fn config(&self) -> OptimizerConfig {
        lock(&self.config).clone()
    }

    /// Replaces the configuration, or refuses it whole, listing every problem, and keeps the
    /// old one in force.
    pub fn update_config(&self, config: OptimizerConfig) -> Result<(), OptimizerError> {
        config.validate().map_err(OptimizerError::InvalidConfig)?;
        lock(&self.history).set_capacity(config.guardrails.history_capacity);
        *lock(&self.config) = config;
        Ok(())
    }

    /// Switches automation (scheduled checks acting by themselves) on or off.
    pub fn set_auto(&self, on: bool) {
        lock(&self.config).mode.auto = on;
    }

    /// Switches dry-run (decide and record, perform nothing) on or off.
    pub fn set_dry_run(&self, on: bool) {
        lock(&self.config).mode.dry_run = on;
    }

    /// At most `limit` runs, newest first.
    #[must_use]
    pub fn history(&self, limit: usize) -> Vec<RunRecord> {
        lock(&self.history).recent(limit)
    }

    /// Why automation is stopped, if the flip-flop kill switch has tripped.
    #[must_use]
    pub fn kill_switch(&self) -> Option<KillSwitchTrip> {
        lock(&self.guard).tripped.clone()
    }

    /// Re-arms automation after the kill switch tripped.
    pub fn reset_kill_switch(&self) {
        lock(&self.guard).reset_kill_switch();
    }

    /// A scheduled check: acts only when `mode.auto` is on.
    pub async fn check(&self, snapshot: &MetricsSnapshot) -> RunRecord {
        self.execute(RunTrigger::Auto, snapshot).await
    }

    /// A manual run: performs the actions whose triggers fire now and whose cooldowns
    /// passed. Stabilization (a trigger held for several checks, the scale-down window) is
    /// for scheduled checks only; the kill switch, cooldowns, bounds and the step clamp hold.
    pub async fn run(&self, snapshot: &MetricsSnapshot) -> RunRecord {
        self.execute(RunTrigger::Run, snapshot).await
    }

    /// A forced run: performs every enabled action now, ignoring stabilization, cooldowns and
    /// the kill switch, but inside min/max and the step clamp. Dry-run still holds.
    pub async fn force(&self, snapshot: &MetricsSnapshot) -> RunRecord {
        self.execute(RunTrigger::Force, snapshot).await
    }

    /// What the rules recommend for `snapshot` now, with the reason and figures of each,
    /// without acting and without recording a run: the API's "recommendations" view. The
    /// stabilization counts reflect the scheduled checks so far.
    pub async fn recommend(&self, snapshot: &MetricsSnapshot) -> Vec<Recommendation> {
        let config = self.config();
        let now = self.clock.now();
        let mut ignored = Vec::new();
        let observed = self.observe(&config, &mut ignored).await;
        let mut checks = self.engine.lock().await.checks.clone();
        checks.observed = observed;
        rules::evaluate(snapshot, &checks, &config, now)
    }

    async fn execute(&self, trigger: RunTrigger, snapshot: &MetricsSnapshot) -> RunRecord {
        let mut engine = self.engine.lock().await;
        let config = self.config();
        let now = self.clock.now();
        let mut record = RunRecord {
            id: engine.next_id,
            at: now,
            trigger,
            mode: config.mode.clone(),
            recommendations: Vec::new(),
            actions: Vec::new(),
            verifications: Vec::new(),
            errors: Vec::new(),
            notes: Vec::new(),
        };
        engine.next_id += 1;
        engine.checks.observed = self.observe(&config, &mut record.errors).await;
        self.verify(&mut engine, snapshot, &config, now, &mut record).await;

        let Assessment { recommendations, check } =
            rules::assess(snapshot, &engine.checks, &config, now);
        let recommendations = match trigger {
            RunTrigger::Force => {
                rules::forced_from(&recommendations, snapshot, &engine.checks, &config, now)
            }
            RunTrigger::Run => rules::manual_from(recommendations, &config),
            RunTrigger::Auto => recommendations,
        };
        for rec in &recommendations {
            let outcome = self
                .decide_and_act(rec, trigger, snapshot, &config, now, &mut engine, &mut record)
                .await;
            record.actions.push(ActionRecord { action: rec.action, outcome });
        }
        engine.checks.push(check);
        record.recommendations = recommendations;

        tracing::info!(
            target: "perfkit_optimizer",
            run = record.id,
            trigger = ?record.trigger,
            recommendations = record.recommendations.len(),
            taken = record.taken().count(),
            errors = record.errors.len(),
            "optimizer run"
        );
        lock(&self.history).push(record.clone());
        record
    }

    /// Reads the controlled system's state; a failing control means missing data, not zero.
    async fn observe(&self, config: &OptimizerConfig, errors: &mut Vec<String>) -> Observed {
        let mut observed = Observed::default();
        if let Some(queue) = self.controls.queue.as_ref().filter(|_| config.queue_scaling.enabled) {
            match queue.workers().await {
                Ok(workers) => observed.workers = Some(workers),
                Err(e) => errors.push(e.to_string()),
            }
        }
        if let Some(pool) = self.controls.pool.as_ref().filter(|_| config.database_pool.enabled) {
            match pool.figures().await {
                Ok(figures) => observed.pool = Some(figures),
                Err(e) => errors.push(e.to_string()),
            }
        }
        if let Some(source) =
            self.controls.statements.as_ref().filter(|_| config.query_optimization.enabled)
        {
            observed.statements = source.statements();
        }
        if let Some(cache) =
            self.controls.cache.as_ref().filter(|_| config.cache_optimization.enabled)
        {
            observed.cache_prefixes = cache.prefixes();
        }
        let connections_on = config.connection_optimization.enabled;
        if let Some(connections) = self.controls.connections.as_ref().filter(|_| connections_on) {
            match connections.counts(config.connection_optimization.idle_timeout).await {
                Ok(counts) => observed.idle_connections = Some(counts.idle),
                Err(e) => errors.push(e.to_string()),
            }
        }
        observed
    }

    #[allow(clippy::too_many_arguments)]
    async fn decide_and_act(
        &self,
        rec: &Recommendation,
        trigger: RunTrigger,
        snapshot: &MetricsSnapshot,
        config: &OptimizerConfig,
        now: Timestamp,
        engine: &mut Engine,
        record: &mut RunRecord,
    ) -> ActionOutcome {
        let gate = lock(&self.guard).gate(rec, trigger, config, now);
        if let Err((reason, detail)) = gate {
            return ActionOutcome::Skipped { reason, detail };
        }
        if !has_control(rec.action, &self.controls) {
            let detail = format!("the host provides no control for {}", rec.action);
            return ActionOutcome::Skipped { reason: SkipReason::NoControl, detail };
        }
        if config.mode.dry_run {
            let detail = format!("dry run: would {}", rec.expected_effect);
            return ActionOutcome::Skipped { reason: SkipReason::DryRun, detail };
        }
        // The cooldown starts on the attempt, so a failing control is not hammered every run.
        lock(&self.guard).record_taken(rec.action, now);
        match perform(rec, &self.controls, config).await {
            Ok(result) => {
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                let workers_after = result.after.get("workers").map(|w| w as u32);
                if let (Some(scale), Some(after)) = (rec.scale, workers_after) {
                    engine.checks.observed.workers = Some(after);
                    if after != scale.current {
                        self.record_move(after > scale.current, config, now, record);
                    }
                }
                let reported_only = rec.action == ActionKind::ResizeDatabasePool
                    && result.after.get("resized").is_none();
                let pending = Pending::after(rec, snapshot, workers_after, now);
                if let Some(pending) = pending.filter(|_| !reported_only) {
                    engine.pending.insert(rec.action, pending);
                }
                ActionOutcome::Taken { result }
            }
            Err(error) => {
                record.errors.push(format!("{}: {error}", rec.action));
                ActionOutcome::Failed { error: error.to_string() }
            }
        }
    }

    fn record_move(
        &self,
        up: bool,
        config: &OptimizerConfig,
        now: Timestamp,
        record: &mut RunRecord,
    ) {
        if let Some(trip) = lock(&self.guard).record_move(up, config, now) {
            tracing::warn!(target: "perfkit_optimizer", reason = %trip.reason, "kill switch tripped");
            record.notes.push(format!("kill switch tripped, automation stopped: {}", trip.reason));
        }
    }

    /// Judges the previous run's actions on this snapshot, undoing a reversible one that made
    /// things worse.
    async fn verify(
        &self,
        engine: &mut Engine,
        snapshot: &MetricsSnapshot,
        config: &OptimizerConfig,
        now: Timestamp,
        record: &mut RunRecord,
    ) {
        for pending in std::mem::take(&mut engine.pending).into_values() {
            let (verdict, after) = pending.judge(snapshot, config);
            let mut undo = None;
            match verdict {
                Verdict::Worse if pending.action.is_reversible() => {
                    lock(&self.guard).double_cooldown(pending.action, now);
                    if let Some((from, to)) = pending.workers {
                        undo = Some(self.undo_scaling(from, to, engine, config, now, record).await);
                    }
                }
                Verdict::Held => lock(&self.guard).reset_cooldown(pending.action),
                Verdict::Worse | Verdict::Inconclusive => {}
            }
            record.verifications.push(Verification {
                action: pending.action,
                taken_at: pending.taken_at,
                goal: pending.goal,
                before: pending.before,
                after,
                verdict,
                undo,
            });
        }
    }

    async fn undo_scaling(
        &self,
        from: u32,
        to: u32,
        engine: &mut Engine,
        config: &OptimizerConfig,
        now: Timestamp,
        record: &mut RunRecord,
    ) -> ActionRecord {
        let action = ActionKind::ScaleWorkers;
        let skipped = |reason, detail: String| ActionRecord {
            action,
            outcome: ActionOutcome::Skipped { reason, detail },
        };
        if let Some(trip) = self.kill_switch() {
            return skipped(SkipReason::KillSwitch, format!("automation stopped: {}", trip.reason));
        }
        if config.mode.dry_run {
            return skipped(SkipReason::DryRun, format!("dry run: would scale back to {from}"));
        }
        let Some(queue) = &self.controls.queue else {
            return skipped(SkipReason::NoControl, "the host provides no queue control".into());
        };
        let current = engine.checks.observed.workers.unwrap_or(to);
        let outcome = match queue.scale_to(from).await {
            Ok(now_workers) => {
                engine.checks.observed.workers = Some(now_workers);
                if now_workers != current {
                    self.record_move(now_workers > current, config, now, record);
                }
                ActionOutcome::Taken { result: scaled(current, now_workers) }
            }
            Err(error) => {
                record.errors.push(format!("undo {action}: {error}"));
                ActionOutcome::Failed { error: error.to_string() }
            }
        };
        ActionRecord { action, outcome }
    }
}

impl std::fmt::Debug for Optimizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Optimizer").field("controls", &self.controls).finish_non_exhaustive()
    }
}
