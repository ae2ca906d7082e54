//! Query timing with nothing at the query sites: a `tracing` layer that turns sqlx's own
//! events into recorder calls.
//!
//! sqlx logs every statement it runs at target `sqlx::query` (level DEBUG by default; WARN
//! for slow ones) with the statement's text, how long it took (`elapsed_secs`) and the rows
//! it returned and changed, and, where a pool is built with
//! `PoolOptions::acquire_time_level`, every connection acquire at target
//! `sqlx::pool::acquire` with its wait (`aquired_after_secs`, sic). This layer reads those
//! two events and nothing else: statements are normalized (literals out) and recorded with
//! [`Recorder::record_db_statement`], acquires with [`Recorder::record_pool_acquire`]. With
//! the `otel` feature, a statement run under a sampled span is also written as a client
//! span (statement id, normalized text, rows; `statement_span.rs`).
//!
//! Queries run through a [`ReplicatedPool`](crate::ReplicatedPool) run inside a span of
//! [`ROUTE_TARGET`]; the layer remembers the statement last run in it, so that when the pool
//! reports a statement timeout ([`TIMEOUT_TARGET`]) the timeout is counted against that
//! statement with [`Recorder::record_db_timeout`].

use std::sync::Arc;
use std::time::Duration;

use perfkit::metrics::Recorder;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::filter::{Filtered, Targets};
use tracing_subscriber::layer::{Context, SubscriberExt as _};

use crate::normalize::normalize;

/// sqlx's target for executed statements.
pub const QUERY_TARGET: &str = "sqlx::query";
/// sqlx's target for pool acquires.
pub const ACQUIRE_TARGET: &str = "sqlx::pool::acquire";
/// The span a [`ReplicatedPool`](crate::ReplicatedPool) runs each query in.
pub const ROUTE_TARGET: &str = "perfkit_sqlx::route";
/// The event a [`ReplicatedPool`](crate::ReplicatedPool) emits, inside the query's span, when
/// the database cancelled the statement at its timeout.
pub const TIMEOUT_TARGET: &str = "perfkit_sqlx::timeout";

/// The normalized statement last run inside a [`ROUTE_TARGET`] span.
struct LastStatement(String);

/// Turns sqlx's query and acquire events into recorder calls. Use [`layer`], which gives it
/// the per-layer filter it needs, rather than this type alone.
#[derive(Debug, Clone)]
pub struct QueryTimingLayer {
    recorder: Arc<Recorder>,
}

impl QueryTimingLayer {
    /// A layer recording into `recorder`.
    #[must_use]
    pub fn new(recorder: Arc<Recorder>) -> Self {
        QueryTimingLayer { recorder }
    }
}

/// The layer with its own filter: sqlx's two targets at every level, nothing else.
///
/// A per-layer filter, so the host's log level does not decide what is measured: sqlx logs
/// statements at DEBUG, below the usual `info`. For the same reason the host's own log
/// filter must be per-layer too (`fmt::layer().with_filter(EnvFilter::..)`), not a global
/// one (`.with(EnvFilter::..)`), which would switch sqlx's DEBUG events off for every layer.
///
/// ```
/// use std::sync::Arc;
/// use perfkit::metrics::Recorder;
/// use tracing_subscriber::layer::SubscriberExt;
///
/// let recorder = Arc::new(Recorder::default());
/// let subscriber = tracing_subscriber::registry().with(perfkit_sqlx::layer(Arc::clone(&recorder)));
/// tracing::subscriber::with_default(subscriber, || {
///     // What sqlx emits for each statement it runs:
///     tracing::debug!(
///         target: "sqlx::query",
///         summary = "select * from posts …",
///         db.statement = "\n\nselect * from posts where user_id = 7\n",
///         rows_affected = 0_u64,
///         rows_returned = 10_u64,
///         elapsed_secs = 0.004,
///     );
/// });
/// let statements = recorder.snapshot().database.statements.slowest;
/// assert_eq!(statements[0].statement, "select * from posts where user_id = ?");
/// assert_eq!(statements[0].rows, 10);
/// ```
pub fn layer<S>(recorder: Arc<Recorder>) -> Filtered<QueryTimingLayer, Targets, S>
where
    S: Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    let targets = Targets::new()
        .with_target(QUERY_TARGET, Level::TRACE)
        .with_target(ACQUIRE_TARGET, Level::TRACE)
        .with_target(ROUTE_TARGET, Level::TRACE)
        .with_target(TIMEOUT_TARGET, Level::TRACE);
    QueryTimingLayer::new(recorder).with_filter(targets)
}

/// A subscriber with only this layer, for a process that has no other use for `tracing`
/// (tests, tools): `tracing::subscriber::set_global_default(perfkit_sqlx::subscriber(..))`.
#[must_use]
pub fn subscriber(recorder: Arc<Recorder>) -> impl Subscriber + Send + Sync {
    tracing_subscriber::registry().with(layer(recorder))
}

impl<S> Layer<S> for QueryTimingLayer
where
    S: Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    #[cfg(feature = "otel")]
    fn on_new_span(
        &self,
        attributes: &tracing::span::Attributes<'_>,
        id: &tracing::span::Id,
        context: Context<'_, S>,
    ) {
        if attributes.metadata().target() == ROUTE_TARGET
            && let Some(span) = context.span(id)
        {
            crate::statement_span::remember_parent(&mut span.extensions_mut());
        }
    }

    fn on_event(&self, event: &Event<'_>, context: Context<'_, S>) {
        let target = event.metadata().target();
        if target == QUERY_TARGET {
            let mut fields = QueryFields::default();
            event.record(&mut fields);
            if let Some((statement, elapsed, rows)) = fields.finish() {
                let statement = normalize(statement);
                self.recorder.record_db_statement(&statement, elapsed, rows);
                #[cfg(feature = "otel")]
                crate::statement_span::record(
                    &statement,
                    elapsed,
                    rows,
                    crate::statement_span::remembered_parent(context.event_scope(event)),
                );
                let route = context.event_scope(event).and_then(|mut scope| {
                    scope.find(|span| span.metadata().target() == ROUTE_TARGET)
                });
                if let Some(span) = route {
                    span.extensions_mut().replace(LastStatement(statement));
                }
            }
        } else if target == TIMEOUT_TARGET {
            if let Some(span) = context.event_span(event)
                && let Some(LastStatement(statement)) = span.extensions().get::<LastStatement>()
            {
                self.recorder.record_db_timeout(statement);
            }
        } else if target == ACQUIRE_TARGET {
            let mut fields = AcquireFields::default();
            event.record(&mut fields);
            if let Some(waited) = fields.waited {
                self.recorder.record_pool_acquire(waited);
            }
        }
    }
}

/// The fields of one `sqlx::query` event.
#[derive(Default)]
struct QueryFields {
    summary: Option<String>,
    statement: Option<String>,
    elapsed: Option<Duration>,
    rows_returned: u64,
    rows_affected: u64,
}

impl QueryFields {
    /// The statement's full text (sqlx puts it in `db.statement` when it is longer than the
    /// summary's four words, and leaves that empty otherwise), its duration and its rows.
    ///
    /// Rows are the larger of returned and affected, not their sum: PostgreSQL reports a
    /// SELECT's rows as affected too, an `INSERT .. RETURNING` counts in both, and SQLite's
    /// "affected" after a SELECT is the connection's previous write, stale.
    fn finish(&self) -> Option<(&str, Duration, u64)> {
        let full = self.statement.as_deref().map(str::trim).filter(|s| !s.is_empty());
        let statement = full.or(self.summary.as_deref())?;
        Some((statement, self.elapsed?, self.rows_returned.max(self.rows_affected)))
    }
}

fn duration_of(seconds: f64) -> Option<Duration> {
    Duration::try_from_secs_f64(seconds).ok()
}

impl Visit for QueryFields {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "summary" => self.summary = Some(value.to_owned()),
            "db.statement" => self.statement = Some(value.to_owned()),
            _ => {}
        }
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        match field.name() {
            "rows_returned" => self.rows_returned = value,
            "rows_affected" => self.rows_affected = value,
            _ => {}
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.record_u64(field, u64::try_from(value).unwrap_or(0));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        if field.name() == "elapsed_secs" {
            self.elapsed = duration_of(value);
        }
    }

    fn record_debug(&mut self, _: &Field, _: &dyn std::fmt::Debug) {}
}

/// The fields of one `sqlx::pool::acquire` event.
#[derive(Default)]
struct AcquireFields {
    waited: Option<Duration>,
}

impl Visit for AcquireFields {
    fn record_f64(&mut self, field: &Field, value: f64) {
        // sqlx 0.8 spells it `aquired_after_secs`; the corrected spelling is read too.
        if matches!(field.name(), "aquired_after_secs" | "acquired_after_secs") {
            self.waited = duration_of(value);
        }
    }

    fn record_debug(&mut self, _: &Field, _: &dyn std::fmt::Debug) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recorded(emit: impl FnOnce()) -> Arc<Recorder> {
        let recorder = Arc::new(Recorder::default());
        tracing::subscriber::with_default(subscriber(Arc::clone(&recorder)), emit);
        recorder
    }

    #[test]
    fn a_short_statement_comes_whole_in_the_summary() {
        let recorder = recorded(|| {
            tracing::debug!(
                target: "sqlx::query",
                summary = "SELECT 1",
                db.statement = "",
                rows_affected = 0_u64,
                rows_returned = 1_u64,
                elapsed_secs = 0.002,
            );
        });
        let statements = recorder.snapshot().database.statements.slowest;
        assert_eq!(statements[0].statement, "SELECT ?");
        assert_eq!((statements[0].count, statements[0].rows), (1, 1));
        assert!((statements[0].total_ms - 2.0).abs() < 1e-6);
    }

    #[test]
    fn slow_statements_logged_at_warn_count_too_and_other_events_do_not() {
        let recorder = recorded(|| {
            tracing::warn!(
                target: "sqlx::query",
                summary = "UPDATE posts SET title …",
                db.statement = "\n\nUPDATE posts SET title = 'x' WHERE id = 3\n",
                rows_affected = 1_u64,
                rows_returned = 0_u64,
                elapsed_secs = 1.5,
                "slow statement: execution time exceeded alert threshold"
            );
            tracing::info!(target: "app", elapsed_secs = 3.0, "not a query");
            tracing::debug!(target: "sqlx::query", summary = "no elapsed");
        });
        let database = recorder.snapshot().database;
        assert_eq!(database.queries, 1);
        assert_eq!(database.slow_queries, 1);
        assert_eq!(
            database.statements.slowest[0].statement,
            "UPDATE posts SET title = ? WHERE id = ?"
        );
    }

    #[test]
    fn a_timeout_reported_in_a_route_span_counts_against_the_statement_run_in_it() {
        let recorder = recorded(|| {
            let span = tracing::debug_span!(target: "perfkit_sqlx::route", "perfkit_sqlx.route");
            span.in_scope(|| {
                tracing::debug!(
                    target: "sqlx::query",
                    summary = "SELECT pg_sleep($1)",
                    db.statement = "",
                    rows_affected = 0_u64,
                    rows_returned = 0_u64,
                    elapsed_secs = 0.1,
                );
            });
            tracing::debug!(target: "perfkit_sqlx::timeout", parent: &span, "statement timeout");
            // A report outside any route span names no statement and counts nothing.
            tracing::debug!(target: "perfkit_sqlx::timeout", "statement timeout");
        });
        let statements = recorder.snapshot().database.statements.slowest;
        assert_eq!(statements.len(), 1);
        assert_eq!(statements[0].statement, "SELECT pg_sleep($1)");
        assert_eq!((statements[0].count, statements[0].timeouts), (1, 1));
    }

    #[test]
    fn acquires_are_recorded_as_pool_waits() {
        let recorder = recorded(|| {
            tracing::debug!(target: "sqlx::pool::acquire", aquired_after_secs = 0.03, "acquired connection");
        });
        let acquire = recorder.snapshot().database.pool_acquire.cumulative;
        assert_eq!(acquire.count, 1);
        assert!((acquire.avg.unwrap() - 30.0).abs() < 0.5);
    }
}
