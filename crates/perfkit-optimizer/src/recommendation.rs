//! What a rule advises: the action, why, the figures behind it, and whether stabilization lets it
//! act yet.

use perfkit_core::{Severity, Timestamp};
use serde::{Deserialize, Serialize};

use crate::{ActionKind, Figures};

/// What a rule advises, why, and whether the guardrails' stabilization lets it act yet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Recommendation {
    /// The action advised.
    pub action: ActionKind,
    /// Why, in words, with the figures in them.
    pub reason: String,
    /// The figures that triggered it, with the thresholds they crossed.
    pub figures: Figures,
    /// What the action is expected to achieve.
    pub expected_effect: String,
    /// How much it matters.
    pub priority: Severity,
    /// When the rule was evaluated.
    pub at: Timestamp,
    /// Consecutive checks, this one included, in which the trigger held.
    pub held_for_checks: u32,
    /// Whether the trigger has held long enough to act (scale-up acts at once).
    pub stable: bool,
    /// For `scaleWorkers`: the worker counts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale: Option<WorkerScale>,
    /// Further findings worth reading (the measured statements a slow-query report names).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<String>,
}

/// The worker counts of a scaling recommendation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct WorkerScale {
    /// Workers now.
    pub current: u32,
    /// What the HPA formula asks for at this check, inside min/max.
    pub desired: u32,
    /// What a run would scale to: stabilized over the window and step-clamped.
    pub target: u32,
}
