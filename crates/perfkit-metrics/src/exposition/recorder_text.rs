//! The recorder's families written straight from its counters into the text format: the path
//! every scrape takes. [`RecorderCollector`](super::RecorderCollector) builds the same
//! families as protobuf for a `prometheus::Registry`; a test holds the two to the same samples.

use super::recorder_families::{BOUNDS_MICROS, BOUNDS_TEXT, UNROUTED, help};
use super::text_format::{
    write_escaped, write_header, write_label, write_micros_as_seconds, write_u64,
};
use crate::Recorder;
use crate::http::{Method, StatusClass};

/// `",le="<bound>"} ` after a route label value, one per bound: each bucket line is then
/// three copies and a number.
const LE_SUFFIXES: [&str; 11] = [
    "\",le=\"0.005\"} ",
    "\",le=\"0.01\"} ",
    "\",le=\"0.025\"} ",
    "\",le=\"0.05\"} ",
    "\",le=\"0.1\"} ",
    "\",le=\"0.25\"} ",
    "\",le=\"0.5\"} ",
    "\",le=\"1\"} ",
    "\",le=\"2.5\"} ",
    "\",le=\"5\"} ",
    "\",le=\"10\"} ",
];

/// Appends every family the recorder owns.
pub(super) fn write_recorder(out: &mut String, recorder: &Recorder) {
    let mut route = String::with_capacity(64);
    let mut cumulative = Vec::with_capacity(BOUNDS_MICROS.len());

    // Two passes over the series, because a family's samples must be contiguous; the first
    // reads only the method and status counters, so the latency buckets are read once.
    write_header(out, "http_requests_total", help("http_requests_total"), "counter");
    recorder.for_each_series(None, |name, counts| {
        if counts.total() == 0 {
            return;
        }
        route.clear();
        write_escaped(&mut route, name.unwrap_or(UNROUTED), true);
        for method in Method::ALL {
            for class in StatusClass::ALL {
                let count = counts.count(method, class);
                if count == 0 {
                    continue;
                }
                out.push_str("http_requests_total{method=\"");
                out.push_str(method.as_str());
                out.push_str("\",route=\"");
                out.push_str(&route);
                out.push_str("\",status=\"");
                out.push_str(class.as_str());
                out.push_str("\"} ");
                write_u64(out, count);
                out.push('\n');
            }
        }
    });

    let name = "http_request_duration_seconds";
    write_header(out, name, help(name), "histogram");
    let last_bound = BOUNDS_MICROS[BOUNDS_MICROS.len() - 1];
    recorder.for_each_series(Some(last_bound), |label, counts| {
        let total = counts.total();
        if total == 0 {
            return;
        }
        route.clear();
        write_escaped(&mut route, label.unwrap_or(UNROUTED), true);
        counts.latency.cumulative_at(&BOUNDS_MICROS, &mut cumulative);
        for (suffix, count) in LE_SUFFIXES.iter().zip(&cumulative) {
            out.push_str("http_request_duration_seconds_bucket{route=\"");
            out.push_str(&route);
            out.push_str(suffix);
            write_u64(out, *count);
            out.push('\n');
        }
        out.push_str("http_request_duration_seconds_bucket{route=\"");
        out.push_str(&route);
        out.push_str("\",le=\"+Inf\"} ");
        write_u64(out, total);
        out.push_str("\nhttp_request_duration_seconds_sum{route=\"");
        out.push_str(&route);
        out.push_str("\"} ");
        write_micros_as_seconds(out, counts.duration_sum_micros);
        out.push_str("\nhttp_request_duration_seconds_count{route=\"");
        out.push_str(&route);
        out.push_str("\"} ");
        write_u64(out, total);
        out.push('\n');
    });

    let figures = recorder.exposition_figures();
    let totals = &figures.totals;
    write_kinds(out, "http_errors_total", &figures.error_kinds, figures.other_error_kinds);
    write_scalar(out, "http_slow_requests_total", "counter", totals.slow_requests);
    write_scalar(out, "http_routes_tracked", "gauge", figures.routes_tracked as u64);

    let name = "db_query_duration_seconds";
    write_header(out, name, help(name), "histogram");
    totals.db_latency.cumulative_at(&BOUNDS_MICROS, &mut cumulative);
    for (bound, count) in BOUNDS_TEXT.iter().zip(&cumulative) {
        out.push_str("db_query_duration_seconds_bucket{le=\"");
        out.push_str(bound);
        out.push_str("\"} ");
        write_u64(out, *count);
        out.push('\n');
    }
    let queries = totals.db_latency.total();
    out.push_str("db_query_duration_seconds_bucket{le=\"+Inf\"} ");
    write_u64(out, queries);
    out.push_str("\ndb_query_duration_seconds_sum ");
    write_micros_as_seconds(out, totals.db_duration_sum_micros);
    out.push_str("\ndb_query_duration_seconds_count ");
    write_u64(out, queries);
    out.push('\n');

    write_kinds(out, "db_queries_total", &figures.query_kinds, figures.other_query_kinds);
    write_scalar(out, "db_slow_queries_total", "counter", totals.db_slow);
    write_scalar(out, "websocket_connections_total", "counter", totals.ws_opened);
    write_scalar(out, "websocket_messages_total", "counter", totals.ws_messages);
}

/// A counter family with a `kind` label, ending with the `other` series kinds beyond the cap
/// fold into.
fn write_kinds(out: &mut String, name: &str, kinds: &[(String, u64)], other: u64) {
    write_header(out, name, help(name), "counter");
    let others = std::iter::once(("other", other));
    for (kind, count) in kinds.iter().map(|(kind, count)| (kind.as_str(), *count)).chain(others) {
        out.push_str(name);
        out.push('{');
        write_label(out, "kind", kind);
        out.push_str("} ");
        write_u64(out, count);
        out.push('\n');
    }
}

/// A family with one unlabelled sample.
fn write_scalar(out: &mut String, name: &str, kind: &str, value: u64) {
    write_header(out, name, help(name), kind);
    out.push_str(name);
    out.push(' ');
    write_u64(out, value);
    out.push('\n');
}
