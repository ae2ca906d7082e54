//! The audit log: one record per run, with what the rules advised, what became of each action, and
//! how the previous run's actions turned out. It keeps a bounded number of runs.

use std::collections::VecDeque;

use perfkit_core::{Metric, Timestamp};
use serde::{Deserialize, Serialize};

use crate::config::ModeConfig;
use crate::{ActionKind, Figures, Recommendation};

/// What started a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub enum RunTrigger {
    /// A scheduled check; acts only when `mode.auto` is on.
    Auto,
    /// A manual run: acts on triggers that hold and whose cooldowns passed.
    Run,
    /// A forced run: every action now, inside the bounds.
    Force,
}

/// One run of the optimizer, as the audit log keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct RunRecord {
    /// Increases by one per run, from 1.
    pub id: u64,
    /// When the run started.
    pub at: Timestamp,
    /// What started it.
    pub trigger: RunTrigger,
    /// The mode in force.
    pub mode: ModeConfig,
    /// What the rules advised.
    pub recommendations: Vec<Recommendation>,
    /// What became of each recommendation.
    pub actions: Vec<ActionRecord>,
    /// How the previous run's actions turned out.
    pub verifications: Vec<Verification>,
    /// Failures reading or acting on the controls.
    pub errors: Vec<String>,
    /// Other events worth an audit line (the kill switch tripping, ...).
    pub notes: Vec<String>,
}

impl RunRecord {
    /// The record of `action`, if the run considered it.
    #[must_use]
    pub fn action(&self, action: ActionKind) -> Option<&ActionRecord> {
        self.actions.iter().find(|a| a.action == action)
    }

    /// The actions the run performed.
    pub fn taken(&self) -> impl Iterator<Item = &ActionRecord> {
        self.actions.iter().filter(|a| matches!(a.outcome, ActionOutcome::Taken { .. }))
    }
}

/// What became of one recommendation in a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ActionRecord {
    /// The action.
    pub action: ActionKind,
    /// Taken, skipped or failed.
    #[serde(flatten)]
    pub outcome: ActionOutcome,
}

/// Taken with its result, skipped with the reason, or failed with the error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "status", rename_all = "camelCase")]
pub enum ActionOutcome {
    /// Performed.
    Taken {
        /// What it did.
        result: ActionResult,
    },
    /// Not performed.
    Skipped {
        /// Why not, as a code.
        reason: SkipReason,
        /// Why not, in words.
        detail: String,
    },
    /// Attempted, and a control failed.
    Failed {
        /// The error.
        error: String,
    },
}

/// Why an action was not performed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub enum SkipReason {
    /// The action ran too recently.
    Cooldown,
    /// Dry-run mode: decided, not performed.
    DryRun,
    /// The trigger has not held for enough consecutive checks.
    Stabilizing,
    /// A scheduled check while automation is switched off.
    AutoOff,
    /// Automation stopped after repeated flip-flops.
    KillSwitch,
    /// The host provides no control for this action.
    NoControl,
}

/// What an action did, with the figures before and after it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ActionResult {
    /// In words.
    pub summary: String,
    /// Figures measured before.
    pub before: Figures,
    /// Figures measured after.
    pub after: Figures,
}

/// How an earlier action turned out, judged on its goal metric at the next check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Verification {
    /// The action judged.
    pub action: ActionKind,
    /// When it was taken.
    pub taken_at: Timestamp,
    /// The figure it was meant to improve.
    pub goal: Metric,
    /// Its value when the action was taken.
    pub before: f64,
    /// Its value now; `None` when not measured.
    pub after: Option<f64>,
    /// The judgement.
    pub verdict: Verdict,
    /// The undo of a reversible action that made things worse.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub undo: Option<ActionRecord>,
}

/// The judgement on an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub enum Verdict {
    /// The goal metric moved the right way, or stayed within the margin.
    Held,
    /// The goal metric moved the wrong way beyond the margin.
    Worse,
    /// The goal metric was not measured: no judgement, no undo.
    Inconclusive,
}

/// The bounded audit log of runs.
#[derive(Debug, Clone, PartialEq)]
pub struct RunHistory {
    runs: VecDeque<RunRecord>,
    capacity: usize,
}

impl RunHistory {
    /// An empty log keeping at most `capacity` runs (at least one).
    #[must_use]
    pub fn new(capacity: usize) -> Self {
        RunHistory { runs: VecDeque::new(), capacity: capacity.max(1) }
    }

    /// Adds the newest run, dropping the oldest beyond the capacity.
    pub fn push(&mut self, run: RunRecord) {
        self.runs.push_front(run);
        self.runs.truncate(self.capacity);
    }

    /// Changes the capacity, dropping the oldest runs beyond it.
    pub fn set_capacity(&mut self, capacity: usize) {
        self.capacity = capacity.max(1);
        self.runs.truncate(self.capacity);
    }

    /// At most `limit` runs, newest first.
    #[must_use]
    pub fn recent(&self, limit: usize) -> Vec<RunRecord> {
        self.runs.iter().take(limit).cloned().collect()
    }

    /// How many runs are kept.
    #[must_use]
    pub fn len(&self) -> usize {
        self.runs.len()
    }

    /// Whether no run is kept.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.runs.is_empty()
    }
}

impl Default for RunHistory {
    fn default() -> Self {
        RunHistory::new(1000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(id: u64) -> RunRecord {
        RunRecord {
            id,
            at: Timestamp::from_unix_millis(i64::try_from(id).unwrap()),
            trigger: RunTrigger::Auto,
            mode: ModeConfig::default(),
            recommendations: Vec::new(),
            actions: vec![ActionRecord {
                action: ActionKind::ScaleWorkers,
                outcome: ActionOutcome::Skipped {
                    reason: SkipReason::DryRun,
                    detail: "dry run".into(),
                },
            }],
            verifications: Vec::new(),
            errors: Vec::new(),
            notes: Vec::new(),
        }
    }

    #[test]
    fn keeps_the_newest_runs_first_within_capacity() {
        let mut history = RunHistory::new(3);
        for id in 1..=5 {
            history.push(run(id));
        }
        assert_eq!(history.len(), 3);
        let ids: Vec<_> = history.recent(10).into_iter().map(|r| r.id).collect();
        assert_eq!(ids, [5, 4, 3]);
        assert_eq!(history.recent(1)[0].id, 5);
        history.set_capacity(1);
        assert_eq!(history.recent(10).len(), 1);
    }

    #[test]
    fn serializes_in_camel_case_with_status_tags() {
        let json = serde_json::to_value(run(7)).unwrap();
        assert_eq!(json["trigger"], "auto");
        assert_eq!(json["mode"]["dryRun"], false);
        assert_eq!(json["actions"][0]["action"], "scaleWorkers");
        assert_eq!(json["actions"][0]["status"], "skipped");
        assert_eq!(json["actions"][0]["reason"], "dryRun");
        let back: RunRecord = serde_json::from_value(json).unwrap();
        assert_eq!(back, run(7));
    }
}
