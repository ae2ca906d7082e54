//! `EXPLAIN` on PostgreSQL for a measured statement: [`PgPlanner`].
//!
//! Measured statements are normalized (literals are `?`) and most carry bind parameters
//! (`$1`), so they cannot be explained as they are on PostgreSQL before 16 (`EXPLAIN
//! (GENERIC_PLAN)`). The planner prepares the statement with every placeholder numbered,
//! under `plan_cache_mode = force_generic_plan`, and explains `EXECUTE` of it with NULL
//! arguments: a generic plan does not depend on the arguments, so the NULLs never reach the
//! plan. Without `ANALYZE`: nothing is executed. Only read-only statements, in a `READ ONLY`
//! transaction, in one batch on a connection of its own (closed afterwards, so the prepared
//! statement and settings end with it), with `statement_timeout` and a timeout around the
//! whole. A statement that contains `;` outside quotes is refused, so the batch holds only
//! the planner's own statements around the one explained.

use std::time::Duration;

use async_trait::async_trait;
use perfkit::database::{PlanError, QueryPlanner};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Row};

/// The longest timeout a planner accepts: a plan comes back in milliseconds or not at all.
pub const MAX_PLAN_TIMEOUT: Duration = Duration::from_secs(60);

/// Explains statements on a PostgreSQL server.
#[derive(Debug, Clone)]
pub struct PgPlanner {
    options: PgConnectOptions,
    timeout: Duration,
}

impl PgPlanner {
    /// A planner connecting with `options`, giving up after `timeout` (at most
    /// [`MAX_PLAN_TIMEOUT`], at least 1 ms). Its own statements are not logged, so they never
    /// show up among the measured ones.
    #[must_use]
    pub fn new(options: PgConnectOptions, timeout: Duration) -> Self {
        let options = options.log_statements(log::LevelFilter::Off);
        PgPlanner { options, timeout: timeout.clamp(Duration::from_millis(1), MAX_PLAN_TIMEOUT) }
    }

    async fn plan(&self, statement: &str, parameters: usize) -> Result<String, PlanError> {
        let database = |error: sqlx::Error| PlanError::Database(error.to_string());
        // A pool of one connection, for this call alone: closing it ends the transaction,
        // the prepared statement and the settings, whatever happens below.
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .connect_with(self.options.clone())
            .await
            .map_err(database)?;
        let timeout_ms = self.timeout.as_millis().max(1);
        let execute = if parameters == 0 {
            "EXECUTE perfkit_plan".to_owned()
        } else {
            format!("EXECUTE perfkit_plan({})", vec!["NULL"; parameters].join(", "))
        };
        // One batch in the simple protocol, so every statement runs on the same connection;
        // only EXPLAIN returns rows.
        let batch = format!(
            "BEGIN READ ONLY; SET LOCAL statement_timeout = {timeout_ms}; \
             SET LOCAL plan_cache_mode = force_generic_plan; \
             PREPARE perfkit_plan AS {statement}; EXPLAIN {execute}; ROLLBACK"
        );
        let rows = sqlx::raw_sql(&batch).fetch_all(&pool).await;
        pool.close().await;
        let lines = rows
            .map_err(database)?
            .iter()
            .map(|row| row.try_get::<String, _>(0))
            .collect::<Result<Vec<_>, _>>()
            .map_err(database)?;
        Ok(lines.join("\n"))
    }
}

#[async_trait]
impl QueryPlanner for PgPlanner {
    async fn explain(&self, statement: &str) -> Result<String, PlanError> {
        if !is_read_only(statement) {
            return Err(PlanError::NotReadOnly(statement.chars().take(200).collect()));
        }
        let (numbered, parameters) = number_placeholders(statement);
        tokio::time::timeout(self.timeout, self.plan(&numbered, parameters))
            .await
            .map_err(|_| PlanError::Timeout(self.timeout))?
    }
}

/// Words that make a statement write, lock a table or run more than one statement.
const WRITING_WORDS: [&str; 12] = [
    "INSERT", "UPDATE", "DELETE", "MERGE", "INTO", "CREATE", "DROP", "ALTER", "TRUNCATE", "GRANT",
    "COPY", "CALL",
];

/// Whether `statement` only reads: one statement starting with `SELECT`, `WITH`, `VALUES` or
/// `TABLE`, with none of [`WRITING_WORDS`] outside quotes (so no data-modifying `WITH` and no
/// `SELECT .. INTO`).
#[must_use]
pub fn is_read_only(statement: &str) -> bool {
    let words = words_outside_quotes(statement);
    let Some(first) = words.first() else { return false };
    let starts_reading = ["SELECT", "WITH", "VALUES", "TABLE"].contains(&first.as_str());
    let body = statement.trim().trim_end_matches(';');
    starts_reading
        && !words.iter().any(|w| WRITING_WORDS.contains(&w.as_str()))
        && !outside_quotes(body).contains(';')
}

/// The upper-cased words of `text` outside quotes.
fn words_outside_quotes(text: &str) -> Vec<String> {
    outside_quotes(text)
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_uppercase)
        .collect()
}

/// `text` with the content of quoted runs (`'..'`, `".."`) blanked out.
fn outside_quotes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut quote = None;
    for c in text.chars() {
        match quote {
            Some(q) if c == q => {
                quote = None;
                out.push(' ');
            }
            Some(_) => out.push(' '),
            None if c == '\'' || c == '"' => {
                quote = Some(c);
                out.push(' ');
            }
            None => out.push(c),
        }
    }
    out
}

/// `statement` with every `?` outside quotes numbered after the highest `$n` already there,
/// and the number of parameters the result takes.
#[must_use]
pub fn number_placeholders(statement: &str) -> (String, usize) {
    let chars: Vec<char> = statement.chars().collect();
    let mut highest = 0_usize;
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '$' {
            let digits: String = chars[i + 1..].iter().take_while(|c| c.is_ascii_digit()).collect();
            highest = highest.max(digits.parse().unwrap_or(0));
            i += 1 + digits.len();
        } else {
            i += 1;
        }
    }
    let mut next = highest;
    let mut out = String::with_capacity(statement.len() + 8);
    let mut quote = None;
    for c in chars {
        match quote {
            Some(q) if c == q => quote = None,
            None if c == '\'' || c == '"' => quote = Some(c),
            None if c == '?' => {
                next += 1;
                out.push('$');
                out.push_str(&next.to_string());
                continue;
            }
            // Inside quotes, or an ordinary character: copied as it is.
            _ => {}
        }
        out.push(c);
    }
    (out, next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_single_reading_statements_pass() {
        for statement in [
            "SELECT * FROM posts WHERE user_id = $1",
            "  select count(*) from posts",
            "WITH recent AS (SELECT * FROM posts) SELECT * FROM recent",
            "SELECT 'a; DELETE' FROM t;",
            "SELECT \"insert\" FROM t",
            "VALUES (?)",
        ] {
            assert!(is_read_only(statement), "{statement}");
        }
        for statement in [
            "DELETE FROM posts",
            "UPDATE posts SET title = ?",
            "INSERT INTO posts VALUES (?)",
            "WITH gone AS (DELETE FROM posts RETURNING *) SELECT * FROM gone",
            "SELECT * INTO copy FROM posts",
            "SELECT 1; DROP TABLE posts",
            "EXPLAIN ANALYZE SELECT 1",
            "",
        ] {
            assert!(!is_read_only(statement), "{statement}");
        }
    }

    #[test]
    fn placeholders_are_numbered_after_the_existing_ones() {
        assert_eq!(number_placeholders("SELECT ?"), ("SELECT $1".to_owned(), 1));
        assert_eq!(
            number_placeholders("SELECT * FROM t WHERE a = $2 AND b = ? AND c = '?'"),
            ("SELECT * FROM t WHERE a = $2 AND b = $3 AND c = '?'".to_owned(), 3)
        );
        assert_eq!(number_placeholders("SELECT 1"), ("SELECT 1".to_owned(), 0));
    }
}
