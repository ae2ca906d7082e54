//! Statement spans (feature `otel`): each statement sqlx reports, under a sampled span,
//! becomes an OpenTelemetry client span with its real start and end.
//!
//! sqlx reports a statement once it has run, in an event: a `tracing` span cannot be made
//! from inside a subscriber's callback (the dispatcher refuses re-entry), and its times
//! would be wrong anyway. So the span is written with the OpenTelemetry API directly, under
//! the OpenTelemetry context the statement ran in (a cache read, the request). That is the
//! current one on the thread that runs it, where tracing-opentelemetry made it current;
//! except that a [`ReplicatedPool`](crate::ReplicatedPool) runs each query in a DEBUG span of
//! its own, which the OpenTelemetry layer does not see, and sqlx's SQLite worker thread
//! enters that span alone: so the layer keeps the context current when such a span is made
//! ([`remember_parent`]) and a statement under it takes that one. Under no span, or an
//! unsampled one, nothing is written: a statement alone is not a trace.

use std::time::{Duration, SystemTime};

use opentelemetry::trace::{Span as _, SpanKind, TraceContextExt as _, Tracer as _};
use opentelemetry::{Context, KeyValue};

/// The instrumentation scope of statement spans.
const SCOPE: &str = "perfkit-sqlx";

/// The OpenTelemetry context current when a route span was made, kept in its extensions.
pub(crate) struct RouteParent(Context);

/// Keeps the current context in a route span's `extensions`, when it is a sampled one.
pub(crate) fn remember_parent(extensions: &mut tracing_subscriber::registry::ExtensionsMut<'_>) {
    let current = Context::current();
    if current.span().span_context().is_sampled() {
        extensions.insert(RouteParent(current));
    }
}

/// The context kept by [`remember_parent`] in the nearest span of `scope` that has one.
pub(crate) fn remembered_parent<'a, S>(
    scope: Option<tracing_subscriber::registry::Scope<'a, S>>,
) -> Option<Context>
where
    S: tracing_subscriber::registry::LookupSpan<'a>,
{
    scope?.find_map(|span| span.extensions().get::<RouteParent>().map(|kept| kept.0.clone()))
}

/// Writes the span of `statement` (normalized), which took `elapsed` and returned or
/// changed `rows`, under `parent` (else the current context) if that is a sampled span.
pub(crate) fn record(statement: &str, elapsed: Duration, rows: u64, parent: Option<Context>) {
    let parent = parent.unwrap_or_else(Context::current);
    if !parent.span().span_context().is_sampled() {
        return;
    }
    let end = SystemTime::now();
    let start = end.checked_sub(elapsed).unwrap_or(end);
    let (operation, collection) = operation_and_collection(statement);
    let mut attributes = vec![
        KeyValue::new("db.query.text", statement.to_owned()),
        KeyValue::new("perfkit.statement.id", perfkit::metrics::statement_id(statement)),
        KeyValue::new("db.response.returned_rows", i64::try_from(rows).unwrap_or(i64::MAX)),
    ];
    let name = match (&operation, &collection) {
        (Some(operation), Some(collection)) => format!("{operation} {collection}"),
        (Some(operation), None) => operation.clone(),
        _ => "statement".to_owned(),
    };
    if let Some(operation) = operation {
        attributes.push(KeyValue::new("db.operation.name", operation));
    }
    if let Some(collection) = collection {
        attributes.push(KeyValue::new("db.collection.name", collection));
    }
    let tracer = opentelemetry::global::tracer(SCOPE);
    let builder = tracer
        .span_builder(name)
        .with_kind(SpanKind::Client)
        .with_start_time(start)
        .with_attributes(attributes);
    tracer.build_with_context(builder, &parent).end_with_timestamp(end);
}

/// The statement's operation (its first word, upper case) and the table it names after
/// `FROM`, `INTO` or `UPDATE`, when those are plain names.
fn operation_and_collection(statement: &str) -> (Option<String>, Option<String>) {
    let mut words = statement.split_whitespace();
    let Some(first) = words.next() else {
        return (None, None);
    };
    let operation = first.to_ascii_uppercase();
    if !operation.chars().all(|c| c.is_ascii_alphabetic()) || operation.len() > 16 {
        return (None, None);
    }
    let marker = match operation.as_str() {
        "SELECT" | "DELETE" => "FROM",
        "INSERT" => "INTO",
        "UPDATE" => "UPDATE",
        _ => return (Some(operation), None),
    };
    let mut rest = statement.split_whitespace();
    if marker != "UPDATE" {
        rest.find(|word| word.eq_ignore_ascii_case(marker));
    } else {
        rest.next();
    }
    let collection = rest
        .next()
        .and_then(|word| word.split('(').next())
        .map(|name| name.trim_matches(|c: char| c == '"' || c == '`' || c == ';'))
        .filter(|name| {
            !name.is_empty()
                && name.len() <= 64
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
        })
        .map(str::to_owned);
    (Some(operation), collection)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_a_statement_by_operation_and_table() {
        let cases = [
            ("select id, title from posts where id = ?", ("SELECT", Some("posts"))),
            ("INSERT INTO \"posts\" (title) VALUES (?)", ("INSERT", Some("posts"))),
            ("update users set name = ? where id = ?", ("UPDATE", Some("users"))),
            ("DELETE FROM sessions", ("DELETE", Some("sessions"))),
            ("SELECT ?", ("SELECT", None)),
            ("BEGIN", ("BEGIN", None)),
            ("select * from (select 1)", ("SELECT", None)),
        ];
        for (statement, (operation, collection)) in cases {
            let (found, table) = operation_and_collection(statement);
            assert_eq!(found.as_deref(), Some(operation), "{statement}");
            assert_eq!(table.as_deref(), collection, "{statement}");
        }
        assert_eq!(operation_and_collection("  "), (None, None));
        assert_eq!(operation_and_collection("WITH1 x"), (None, None));
    }
}
