//! `StatementSource`: the measured database statements, and `StatementSummary`, one
//! statement's figures. The recorder (perfkit-metrics) produces these summaries and reports
//! them as they are; the optimizer's slow-query rule reads the same type through the source.

use serde::{Deserialize, Serialize};

/// One statement since reset.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct StatementSummary {
    /// A stable id of the statement's text, for asking about it (its plan) by id.
    pub id: String,
    /// The normalized statement: literals replaced by `?`.
    pub statement: String,
    /// Calls.
    pub count: u64,
    /// Calls at least as slow as the slow-query threshold.
    pub slow: u64,
    /// Calls the database cancelled at its statement timeout (counted in `count` too).
    pub timeouts: u64,
    /// Rows returned or changed, all calls together.
    pub rows: u64,
    /// Time spent in it, all calls together, ms.
    pub total_ms: f64,
    /// Mean duration, ms.
    pub avg: Option<f64>,
    /// Median duration, ms (to within 3 %).
    pub p50: Option<f64>,
    /// 95th percentile duration, ms (to within 3 %).
    pub p95: Option<f64>,
    /// Longest call, ms.
    pub max: Option<f64>,
}

/// Where the measured statements come from (the orchestrator reads them off its recorder).
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
pub trait StatementSource: Send + Sync {
    /// Every statement measured, in any order.
    fn statements(&self) -> Vec<StatementSummary>;
}
