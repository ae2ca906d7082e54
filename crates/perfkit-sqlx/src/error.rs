//! What a query through a [`ReplicatedPool`](crate::ReplicatedPool) can fail with: refused
//! by an open breaker, cancelled by the statement timeout, or sqlx's own error.

use std::time::Duration;

/// Why a query through a [`ReplicatedPool`](crate::ReplicatedPool) failed.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// Refused without being attempted: the pool's breaker is open because the database
    /// was found unreachable, and no other pool could take the query. A host answers 503.
    #[error(
        "the {role} database is unreachable; queries are refused until a health check reaches it"
    )]
    Unavailable {
        /// The pool's role: `primary`, `replica-0`, ...
        role: String,
    },
    /// PostgreSQL cancelled the statement at the pool's `statement_timeout` (or SQLite gave
    /// up waiting for its lock at the busy timeout). The connection stays usable.
    #[error("the statement ran past the {timeout:?} statement timeout and was cancelled")]
    StatementTimeout {
        /// The pool's statement timeout.
        timeout: Duration,
        /// The database's own error.
        #[source]
        source: sqlx::Error,
    },
    /// Any other error, as sqlx gave it.
    #[error(transparent)]
    Sqlx(#[from] sqlx::Error),
}

impl DbError {
    /// Whether the database could not be reached (refused by the breaker, or a connection
    /// that failed or timed out), as opposed to a statement that failed: a host answers 503
    /// for these and 500 for the rest.
    #[must_use]
    pub fn is_unavailable(&self) -> bool {
        match self {
            DbError::Unavailable { .. } => true,
            DbError::StatementTimeout { .. } => false,
            DbError::Sqlx(error) => is_unreachable(error),
        }
    }
}

/// Errors that say the database cannot be reached, not that a statement failed: these open
/// a pool's breaker.
#[must_use]
pub fn is_unreachable(error: &sqlx::Error) -> bool {
    matches!(
        error,
        sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::WorkerCrashed
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unreachable_errors_are_told_from_a_statements_own() {
        assert!(DbError::Unavailable { role: "primary".into() }.is_unavailable());
        assert!(DbError::from(sqlx::Error::PoolTimedOut).is_unavailable());
        assert!(!DbError::from(sqlx::Error::RowNotFound).is_unavailable());
        let timeout = DbError::StatementTimeout {
            timeout: Duration::from_millis(100),
            source: sqlx::Error::RowNotFound,
        };
        assert!(!timeout.is_unavailable());
        assert_eq!(
            timeout.to_string(),
            "the statement ran past the 100ms statement timeout and was cancelled"
        );
    }
}
