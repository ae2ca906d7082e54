//! The database as perfkit sees it: a pool to measure and size (a
//! [`PoolControl`](perfkit_control::PoolControl)), and a planner that shows how the
//! database would run a measured statement. Statement timing itself is the recorder's
//! ([`Recorder::record_db_statement`](perfkit_metrics::Recorder::record_db_statement)); an
//! integration such as `perfkit-sqlx` feeds it from the driver's own events.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use perfkit_control::{StatementSource, StatementSummary};
use perfkit_metrics::Recorder;

/// Why a plan could not be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// Only read-only statements are explained; this one may write.
    #[error("only read-only statements (SELECT, or WITH ... SELECT) are explained: {0}")]
    NotReadOnly(String),
    /// The database did not answer within the planner's timeout.
    #[error("the database did not return a plan within {0:?}")]
    Timeout(Duration),
    /// The database refused or failed (a syntax it cannot plan, a lost connection).
    #[error("the database could not plan the statement: {0}")]
    Database(String),
}

/// Shows how the database would run a statement: `EXPLAIN`, never `EXPLAIN ANALYZE`, so
/// nothing is executed. Implementations refuse statements that are not read-only and give
/// up after a timeout.
#[async_trait]
pub trait QueryPlanner: Send + Sync {
    /// The plan of `statement`, a normalized statement as the recorder keeps it (literals
    /// and parameters as placeholders), as the database prints it.
    async fn explain(&self, statement: &str) -> Result<String, PlanError>;
}

/// The recorder's statements as the optimizer's slow-query rule reads them: the recorder
/// reports the same [`StatementSummary`] the rule reads, so they are handed over as they are.
pub(crate) struct RecorderStatements(pub(crate) Arc<Recorder>);

impl StatementSource for RecorderStatements {
    fn statements(&self) -> Vec<StatementSummary> {
        self.0.snapshot().database.statements.slowest
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_recorders_statements_reach_the_optimizer_with_their_figures() {
        let recorder = Arc::new(Recorder::default());
        recorder.record_db_statement("SELECT ?", Duration::from_millis(30), 2);
        let statements = RecorderStatements(recorder).statements();
        assert_eq!(statements.len(), 1);
        assert_eq!((statements[0].statement.as_str(), statements[0].count), ("SELECT ?", 1));
        assert_eq!(statements[0].rows, 2);
        assert!((statements[0].total_ms - 30.0).abs() < 1e-9);
    }
}
