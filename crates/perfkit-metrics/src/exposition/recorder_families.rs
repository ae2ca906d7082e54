//! The recorder's families: names, help texts, labels and histogram bounds, declared once for
//! the text writer, the protobuf collector and the registry's descriptors.

/// Upper bounds of the request and query duration histograms, in seconds: the Prometheus
/// client libraries' defaults, so dashboards built for them work unchanged.
pub(super) const BOUNDS_SECONDS: [f64; 11] =
    [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];
/// The same bounds in microseconds, the recorder's unit (declared beside the request series,
/// whose exemplars are kept per exposed bucket).
pub(super) const BOUNDS_MICROS: [u64; 11] = crate::series::EXPOSED_BOUNDS_MICROS;
/// The same bounds as the text format spells them in an `le` label.
pub(super) const BOUNDS_TEXT: [&str; 11] =
    ["0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10"];

/// The route label of requests recorded without a route.
pub(super) const UNROUTED: &str = "__unrouted__";

/// Family names, help texts and labels.
pub(super) const FAMILIES: &[(&str, &str, &[&str])] = &[
    (
        "http_requests_total",
        "HTTP requests by method, route template and status class.",
        &["method", "route", "status"],
    ),
    ("http_request_duration_seconds", "HTTP request duration by route template.", &["route"]),
    (
        "http_errors_total",
        "Errors recorded by kind; kinds beyond the cap count as other.",
        &["kind"],
    ),
    ("http_slow_requests_total", "Requests at least as slow as the slow-request threshold.", &[]),
    (
        "http_routes_tracked",
        "Distinct route templates tracked (the rest fold into __overflow__).",
        &[],
    ),
    ("db_query_duration_seconds", "Database query duration.", &[]),
    (
        "db_statement_duration_seconds",
        "Database statement duration by normalized statement (the rest fold into __overflow__).",
        &["statement"],
    ),
    (
        "db_statement_rows_total",
        "Rows returned or changed by normalized statement.",
        &["statement"],
    ),
    (
        "db_statements_tracked",
        "Distinct statements tracked (the rest fold into __overflow__).",
        &[],
    ),
    (
        "db_slow_queries_total",
        "Database queries at least as slow as the slow-query threshold.",
        &[],
    ),
    ("websocket_connections_total", "WebSocket connections opened.", &[]),
    ("websocket_messages_total", "WebSocket messages, both directions.", &[]),
    (
        "db_pool_acquire_duration_seconds",
        "Time to acquire a connection from the database pool.",
        &[],
    ),
    (
        "http_upgrades_total",
        "Answers 101 Switching Protocols (WebSocket upgrades), no requests.",
        &[],
    ),
    (
        "perfkit_availability_ratio",
        "Share of requests not answered 5xx: over the latest snapshot's interval, and since start.",
        &["window"],
    ),
    (
        "perfkit_start_time_seconds",
        "When the recorder (the process) started, Unix seconds: uptime is time() minus this.",
        &[],
    ),
    (
        "perfkit_own_requests_total",
        "Requests to perfkit itself (API, dashboard, scrapes), never in http_requests_total.",
        &["status"],
    ),
    ("perfkit_own_upgrades_total", "Live-stream upgrades of perfkit's own dashboard.", &[]),
    (
        "perfkit_own_stream_messages_total",
        "Messages of perfkit's own live stream, never in the host's WebSocket figures.",
        &[],
    ),
];

/// The `window` label of the interval availability (the latest snapshot's).
pub(super) const WINDOW_INTERVAL: &str = "interval";
/// The `window` label of the availability since start (or reset).
pub(super) const WINDOW_CUMULATIVE: &str = "cumulative";

/// Requests not answered 5xx out of `total`, as a ratio; `None` without requests.
#[allow(clippy::cast_precision_loss)]
pub(super) fn availability(server_errors: u64, total: u64) -> Option<f64> {
    (total > 0).then(|| 1.0 - server_errors as f64 / total as f64)
}

/// The help text of one of [`FAMILIES`].
pub(super) fn help(name: &str) -> &'static str {
    FAMILIES.iter().find(|(family, _, _)| *family == name).map_or("", |(_, help, _)| help)
}

/// Microseconds as seconds, the unit Prometheus durations are in.
#[allow(clippy::cast_precision_loss)]
pub(super) fn seconds(micros: u64) -> f64 {
    micros as f64 / 1_000_000.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exposition::text_format::write_f64;

    #[test]
    fn the_three_spellings_of_the_bounds_agree() {
        for ((seconds, micros), text) in BOUNDS_SECONDS.iter().zip(BOUNDS_MICROS).zip(BOUNDS_TEXT) {
            assert_eq!(super::seconds(micros), *seconds);
            let mut written = String::new();
            write_f64(&mut written, *seconds);
            assert_eq!(written, text);
        }
    }
}
