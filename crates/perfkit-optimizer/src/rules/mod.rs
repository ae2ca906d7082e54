//! The pure rules: from a snapshot, the recent checks and the config to recommendations.
//!
//! Nothing here performs an effect or reads a clock: time comes in as `now`, so every rule is
//! tested with data alone.

mod cache;
mod connections;
mod memory;
mod pool;
mod queries;
mod queue;
mod replicas;

use perfkit_core::{MetricsSnapshot, Severity, Timestamp};

use crate::{ActionKind, CheckHistory, Figures, OptimizerConfig, PastCheck, Recommendation};

pub(crate) use queue::clamp_step;

/// What a rule found, before stabilization is applied.
pub(crate) struct Trigger {
    pub(crate) reason: String,
    pub(crate) figures: Figures,
    pub(crate) expected_effect: String,
    pub(crate) priority: Severity,
    pub(crate) details: Vec<String>,
}

/// The rules' findings at one check, and what the next checks must remember of it.
pub(crate) struct Assessment {
    pub(crate) recommendations: Vec<Recommendation>,
    pub(crate) check: PastCheck,
}

/// Evaluates every built-in rule against a snapshot.
///
/// A figure that is missing (or a snapshot older than `guardrails.maxSnapshotAge`) triggers
/// nothing: missing data never leads to an action. Each recommendation says for how many
/// consecutive checks its trigger has held and whether that is long enough to act.
///
/// ```
/// use perfkit_core::{MetricsSnapshot, Timestamp};
/// use perfkit_optimizer::{evaluate, ActionKind, CheckHistory, OptimizerConfig};
///
/// let now = Timestamp::from_unix_millis(1_700_000_000_000);
/// let mut snapshot = MetricsSnapshot::empty(now);
/// snapshot.cache_hit_rate = Some(0.42);
///
/// let recommendations = evaluate(&snapshot, &CheckHistory::new(), &OptimizerConfig::default(), now);
/// assert_eq!(recommendations.len(), 1);
/// assert_eq!(recommendations[0].action, ActionKind::OptimizeCache);
/// assert!(!recommendations[0].stable, "one check is not yet a stable trigger");
/// ```
#[must_use]
pub fn evaluate(
    snapshot: &MetricsSnapshot,
    history: &CheckHistory,
    config: &OptimizerConfig,
    now: Timestamp,
) -> Vec<Recommendation> {
    assess(snapshot, history, config, now).recommendations
}

/// Recommendations for a forced run: every enabled action, triggered or not, inside the
/// bounds (min/max workers and the step clamp still hold; stabilization does not).
#[must_use]
pub fn forced(
    snapshot: &MetricsSnapshot,
    history: &CheckHistory,
    config: &OptimizerConfig,
    now: Timestamp,
) -> Vec<Recommendation> {
    forced_from(
        &assess(snapshot, history, config, now).recommendations,
        snapshot,
        history,
        config,
        now,
    )
}

pub(crate) fn forced_from(
    triggered: &[Recommendation],
    snapshot: &MetricsSnapshot,
    history: &CheckHistory,
    config: &OptimizerConfig,
    now: Timestamp,
) -> Vec<Recommendation> {
    let mut out = Vec::with_capacity(ActionKind::ALL.len());
    for action in ActionKind::ALL {
        if let Some(mut rec) = triggered.iter().find(|r| r.action == action).cloned() {
            if let Some(scale) = rec.scale.as_mut() {
                // Forcing skips the window, not the step clamp or min/max.
                let q = &config.queue_scaling;
                scale.target =
                    clamp_step(scale.current, scale.desired, q.min_workers, q.max_workers);
                if scale.target == scale.current {
                    continue;
                }
            }
            rec.stable = true;
            out.push(rec);
            continue;
        }
        let rec = match action {
            ActionKind::ScaleWorkers => queue::forced(snapshot, history, config, now),
            // A size needs measured demand: without a trigger there is no size to force.
            ActionKind::ResizeDatabasePool => None,
            _ if enabled(action, config) => Some(forced_recommendation(action, snapshot, now)),
            _ => None,
        };
        out.extend(rec);
    }
    out
}

/// Recommendations for a manual run: the triggers that fire now, scaling straight towards the
/// count asked for now (no scale-down window), inside min/max and the step clamp.
pub(crate) fn manual_from(
    triggered: Vec<Recommendation>,
    config: &OptimizerConfig,
) -> Vec<Recommendation> {
    triggered
        .into_iter()
        .filter_map(|mut rec| {
            if let Some(scale) = rec.scale.as_mut() {
                let q = &config.queue_scaling;
                scale.target =
                    clamp_step(scale.current, scale.desired, q.min_workers, q.max_workers);
                if scale.target == scale.current {
                    return None;
                }
                rec.expected_effect = format!(
                    "scale workers from {} to {} (asked for {})",
                    scale.current, scale.target, scale.desired
                );
            }
            Some(rec)
        })
        .collect()
}

pub(crate) fn assess(
    snapshot: &MetricsSnapshot,
    history: &CheckHistory,
    config: &OptimizerConfig,
    now: Timestamp,
) -> Assessment {
    let mut recommendations = Vec::new();
    let mut check = PastCheck { at: now, triggered: Vec::new(), desired_workers: None };
    let max_age = config.guardrails.max_snapshot_age;
    if now.duration_since(snapshot.timestamp) > max_age {
        return Assessment { recommendations, check };
    }
    let needed = config.guardrails.stabilization_checks;
    let simple = [
        (ActionKind::OptimizeCache, cache::trigger(snapshot, history, config)),
        (ActionKind::CloseIdleConnections, connections::trigger(snapshot, history, config)),
        (ActionKind::ReleaseMemory, memory::trigger(snapshot, config)),
        (ActionKind::ReportSlowQueries, queries::trigger(snapshot, history, config)),
        (ActionKind::ResizeDatabasePool, pool::trigger(snapshot, history, config)),
        (ActionKind::RotateOutLaggingReplicas, replicas::trigger(snapshot, config)),
    ];
    for (action, trigger) in simple {
        let Some(trigger) = trigger.filter(|_| enabled(action, config)) else { continue };
        check.triggered.push(action);
        let held_for_checks = 1 + held_before(history, action);
        recommendations.push(Recommendation {
            action,
            reason: trigger.reason,
            figures: trigger.figures,
            expected_effect: trigger.expected_effect,
            priority: trigger.priority,
            at: now,
            held_for_checks,
            stable: held_for_checks >= needed,
            scale: None,
            details: trigger.details,
        });
    }
    if config.queue_scaling.enabled {
        let (rec, desired) = queue::recommend(snapshot, history, config, now);
        check.desired_workers = desired;
        if let Some(rec) = rec {
            check.triggered.push(ActionKind::ScaleWorkers);
            recommendations.push(rec);
        }
    }
    Assessment { recommendations, check }
}

/// Consecutive earlier checks, newest first, in which `action` was triggered.
fn held_before(history: &CheckHistory, action: ActionKind) -> u32 {
    let held = history.checks().take_while(|c| c.triggered.contains(&action)).count();
    u32::try_from(held).unwrap_or(u32::MAX)
}

fn enabled(action: ActionKind, config: &OptimizerConfig) -> bool {
    match action {
        ActionKind::OptimizeCache => config.cache_optimization.enabled,
        ActionKind::CloseIdleConnections => config.connection_optimization.enabled,
        ActionKind::ReleaseMemory => config.memory_optimization.enabled,
        ActionKind::ReportSlowQueries => config.query_optimization.enabled,
        ActionKind::ScaleWorkers => config.queue_scaling.enabled,
        ActionKind::ResizeDatabasePool | ActionKind::RotateOutLaggingReplicas => {
            config.database_pool.enabled
        }
    }
}

fn forced_recommendation(
    action: ActionKind,
    snapshot: &MetricsSnapshot,
    now: Timestamp,
) -> Recommendation {
    let mut figures = Figures::new();
    for metric in goal_metrics(action) {
        if let Some(value) = snapshot.get(*metric) {
            figures.insert(metric.as_str(), value);
        }
    }
    Recommendation {
        action,
        reason: "forced run: performed regardless of thresholds".to_owned(),
        figures,
        expected_effect: "whatever headroom the action can win now".to_owned(),
        priority: Severity::Low,
        at: now,
        held_for_checks: 0,
        stable: true,
        scale: None,
        details: Vec::new(),
    }
}

/// The snapshot figures an action is meant to improve.
pub(crate) fn goal_metrics(action: ActionKind) -> &'static [perfkit_core::Metric] {
    use perfkit_core::Metric;
    match action {
        ActionKind::OptimizeCache => &[Metric::CacheHitRate, Metric::MemoryUsage],
        ActionKind::CloseIdleConnections => &[Metric::ActiveConnections],
        ActionKind::ReleaseMemory => &[Metric::MemoryUsage],
        ActionKind::ReportSlowQueries => &[Metric::DbQueryP95],
        ActionKind::ScaleWorkers => &[Metric::QueueLength],
        ActionKind::ResizeDatabasePool => &[Metric::DbPoolAcquireP95, Metric::DbPoolWaiters],
        ActionKind::RotateOutLaggingReplicas => &[Metric::DbReplicaLag],
    }
}

pub(crate) fn percent(ratio: f64) -> String {
    format!("{:.1}%", ratio * 100.0)
}
