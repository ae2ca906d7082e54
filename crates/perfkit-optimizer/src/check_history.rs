//! What the rules see beyond the current snapshot: the recent checks that stabilization counts,
//! bounded to the longest window, and the controlled system as observed now.

use std::collections::VecDeque;

use perfkit_control::{CachePrefixFigures, PoolFigures, StatementSummary};
use perfkit_core::Timestamp;
use serde::{Deserialize, Serialize};

use crate::ActionKind;
use crate::validate::MAX_STABILIZATION_CHECKS;

/// What the rules know beyond the current snapshot: the recent checks (for stabilization) and
/// the state of the controlled system read at the start of this check.
///
/// Bounded: it keeps as many checks as the longest stabilization window needs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckHistory {
    checks: VecDeque<PastCheck>,
    /// The controlled system as observed now.
    pub observed: Observed,
}

/// One earlier check, as stabilization needs to remember it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PastCheck {
    /// When it ran.
    pub at: Timestamp,
    /// The actions whose trigger held.
    pub triggered: Vec<ActionKind>,
    /// The worker count the queue rule asked for, inside min/max; `None` without data.
    pub desired_workers: Option<u32>,
}

/// The state of the controlled system, read through the control traits.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Observed {
    /// Job queue workers now; `None` without a queue control.
    pub workers: Option<u32>,
    /// Connections idle for longer than the idle timeout; `None` without a connection control.
    pub idle_connections: Option<u64>,
    /// The database pool now; `None` without a pool control.
    pub pool: Option<PoolFigures>,
    /// The measured statements; empty without a statement source.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub statements: Vec<StatementSummary>,
    /// The cache's figures per key prefix; empty without a cache control or prefixes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cache_prefixes: Vec<CachePrefixFigures>,
}

impl CheckHistory {
    /// The most checks kept.
    pub const CAPACITY: usize = MAX_STABILIZATION_CHECKS as usize;

    /// An empty history with nothing observed.
    #[must_use]
    pub fn new() -> Self {
        CheckHistory::default()
    }

    /// Records a finished check as the newest; the oldest beyond [`Self::CAPACITY`] is dropped.
    pub fn push(&mut self, check: PastCheck) {
        self.checks.push_front(check);
        self.checks.truncate(Self::CAPACITY);
    }

    /// Earlier checks, newest first.
    pub fn checks(&self) -> impl Iterator<Item = &PastCheck> {
        self.checks.iter()
    }

    /// How many checks are kept.
    #[must_use]
    pub fn len(&self) -> usize {
        self.checks.len()
    }

    /// Whether no check is kept.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.checks.is_empty()
    }
}
