//! Statement timeouts per pool: PostgreSQL's `statement_timeout`, set on every connection
//! as it connects (a startup parameter, so no extra round trip and no connection without
//! it), and SQLite's busy timeout; and telling a statement the database cancelled for it
//! from any other error.

use std::time::Duration;

use sqlx::postgres::PgConnectOptions;
use sqlx::sqlite::SqliteConnectOptions;

/// PostgreSQL's SQLSTATE for a cancelled statement (`query_canceled`).
const QUERY_CANCELED: &str = "57014";
/// SQLite's primary result code for a lock not granted in time (`SQLITE_BUSY`).
const SQLITE_BUSY: &str = "5";

/// Connect options that bound every statement: a pool built from them gives each
/// connection the timeout before its first statement.
///
/// ```
/// use std::time::Duration;
/// use perfkit_sqlx::StatementTimeout;
/// use sqlx::postgres::PgConnectOptions;
///
/// let options = PgConnectOptions::new()
///     .host("db.internal")
///     .with_statement_timeout(Duration::from_secs(5));
/// assert!(format!("{options:?}").contains("-c statement_timeout=5000ms"));
/// ```
pub trait StatementTimeout: Sized {
    /// These options with every statement bounded by `timeout` (at least a millisecond).
    #[must_use]
    fn with_statement_timeout(self, timeout: Duration) -> Self;
}

impl StatementTimeout for PgConnectOptions {
    fn with_statement_timeout(self, timeout: Duration) -> Self {
        // PostgreSQL reads 0 as "no timeout": never round a short one down to it.
        let millis = timeout.as_millis().max(1);
        self.options([("statement_timeout", format!("{millis}ms"))])
    }
}

impl StatementTimeout for SqliteConnectOptions {
    /// SQLite statements are not cancelled by time: what waits is the lock, so the busy
    /// timeout is what bounds a statement's wait for a writer.
    fn with_statement_timeout(self, timeout: Duration) -> Self {
        self.busy_timeout(timeout)
    }
}

/// Whether `error` is the database cancelling a statement at its timeout: PostgreSQL's
/// `query_canceled` caused by `statement_timeout`, or SQLite's busy timeout.
///
/// ```
/// assert!(!perfkit_sqlx::is_statement_timeout(&sqlx::Error::RowNotFound));
/// ```
#[must_use]
pub fn is_statement_timeout(error: &sqlx::Error) -> bool {
    let Some(database) = error.as_database_error() else { return false };
    match database.code().as_deref() {
        // The same SQLSTATE answers a cancel request; only the timeout says so.
        Some(QUERY_CANCELED) => database.message().contains("statement timeout"),
        Some(SQLITE_BUSY) => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sub_millisecond_timeout_is_not_read_as_none() {
        let options = PgConnectOptions::new().with_statement_timeout(Duration::from_micros(10));
        assert!(format!("{options:?}").contains("-c statement_timeout=1ms"));
    }
}
