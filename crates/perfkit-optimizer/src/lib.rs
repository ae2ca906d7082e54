//! perfkit's optimizer: automatic optimizations that are safe to leave on.
//!
//! Decisions are apart from effects. The [rules](evaluate) are pure functions of a
//! [`MetricsSnapshot`](perfkit_core::MetricsSnapshot), the recent checks and the
//! [config](OptimizerConfig): they return [`Recommendation`]s that say what to do, why, with
//! which figures and at which priority. Effects go through small traits the host
//! implements ([`CacheControl`], [`ConnectionControl`], [`MemoryControl`], [`QueueControl`],
//! [`PoolControl`]; the slow-query report reads a [`StatementSource`]),
//! so the optimizer depends on no cache, socket or allocator. Those traits, their figures and
//! their [`ControlError`] belong to the `perfkit-control` crate, which hosts implement
//! without depending on the optimizer; they are re-exported here. A control's failure reaches
//! the optimizer's callers as [`OptimizerError::Control`].
//!
//! Between the two stand the guardrails, in the manner of a Kubernetes autoscaler: a trigger
//! must hold for several consecutive checks (scale-up excepted), a scale-down takes the highest
//! worker count asked for over that window, each action has a cooldown, workers change by at
//! most max(100 %, 4) up and 50 % down per run inside min/max, missing data never acts, each
//! action is verified at the next check (a reversible one that made things worse is undone and
//! its cooldown doubled), and repeated flip-flops trip a kill switch. Every run is kept in a
//! bounded [`RunHistory`] with its recommendations, what was taken or skipped and why, and
//! the before/after figures.
//!
//! ```
//! use std::sync::Arc;
//! use perfkit_core::{Clock, ManualClock, MetricsSnapshot, Timestamp};
//! use perfkit_optimizer::{ActionOutcome, Controls, Optimizer, OptimizerConfig, SkipReason};
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let clock = Arc::new(ManualClock::new(Timestamp::from_unix_millis(1_700_000_000_000)));
//! let optimizer = Optimizer::new(OptimizerConfig::default(), Controls::default(), clock.clone())?;
//!
//! let mut snapshot = MetricsSnapshot::empty(clock.now());
//! snapshot.memory_usage = Some(0.9);
//! let run = optimizer.check(&snapshot).await;
//!
//! // High memory: the cache and memory rules fire, but one check is not yet stable.
//! assert_eq!(run.recommendations.len(), 2);
//! for action in &run.actions {
//!     assert!(matches!(
//!         action.outcome,
//!         ActionOutcome::Skipped { reason: SkipReason::Stabilizing, .. }
//!     ));
//! }
//!
//! // An invalid update is refused whole; the old config stays.
//! let mut bad = optimizer.config();
//! bad.queue_scaling.min_workers = 0;
//! assert!(optimizer.update_config(bad).is_err());
//! assert_eq!(optimizer.config(), OptimizerConfig::default());
//! # Ok::<(), perfkit_optimizer::OptimizerError>(())
//! # }).unwrap();
//! ```

mod action;
mod actions;
mod check_history;
mod config;
mod error;
mod figures;
mod guard;
mod history;
mod optimizer;
mod recommendation;
mod rules;
mod validate;
mod verification;

#[cfg(test)]
mod optimizer_tests;

pub use action::ActionKind;
pub use check_history::{CheckHistory, Observed, PastCheck};
pub use config::{
    CacheOptimizationConfig, ConfigProblem, ConnectionOptimizationConfig, Cooldowns,
    DatabasePoolConfig, GuardrailsConfig, MemoryOptimizationConfig, ModeConfig, OptimizerConfig,
    QueryOptimizationConfig, QueueScalingConfig,
};
// The control vocabulary the optimizer acts through, re-exported so a host that uses the
// optimizer alone names it from one place; perfkit-control owns every one of these types.
pub use error::OptimizerError;
pub use figures::Figures;
pub use guard::KillSwitchTrip;
pub use history::{
    ActionOutcome, ActionRecord, ActionResult, RunHistory, RunRecord, RunTrigger, SkipReason,
    Verdict, Verification,
};
pub use optimizer::Optimizer;
pub use perfkit_control::{
    CacheControl, CacheFigures, ConnectionControl, ConnectionCounts, ControlError, ControlKind,
    Controls, MemoryControl, MemoryUsage, PoolControl, PoolFigures, QueueControl, StatementSource,
    StatementSummary,
};
pub use recommendation::{Recommendation, WorkerScale};
pub use rules::{evaluate, forced};
