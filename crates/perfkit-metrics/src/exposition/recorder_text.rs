//! The recorder's families written straight from its counters into the text format: the path
//! every scrape takes. [`RecorderCollector`](super::RecorderCollector) builds the same
//! families as protobuf for a `prometheus::Registry`; a test holds the two to the same samples.

use super::ExpositionFormat;
use super::recorder_families::{
    BOUNDS_MICROS, BOUNDS_TEXT, UNROUTED, WINDOW_CUMULATIVE, WINDOW_INTERVAL, availability, help,
};
use super::text_format::{
    write_escaped, write_exemplar, write_f64, write_header, write_label, write_micros_as_seconds,
    write_u64,
};
use crate::Recorder;
use crate::buckets::FineCounts;
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

/// Appends every family the recorder owns; in OpenMetrics, the request-duration buckets carry
/// their exemplars.
pub(super) fn write_recorder(out: &mut String, recorder: &Recorder, format: ExpositionFormat) {
    let exemplars = format == ExpositionFormat::OpenMetrics;
    let mut route = String::with_capacity(64);
    let mut cumulative = Vec::with_capacity(BOUNDS_MICROS.len());

    // Two passes over the series, because a family's samples must be contiguous; the first
    // reads only the method and status counters, so the latency buckets are read once.
    write_header(out, "http_requests_total", help("http_requests_total"), "counter", format);
    let (mut all_requests, mut server_errors) = (0, 0);
    recorder.for_each_series(None, |name, counts, _| {
        if counts.total() == 0 {
            return;
        }
        all_requests += counts.total();
        server_errors += counts.in_class(StatusClass::ServerError);
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
    write_header(out, name, help(name), "histogram", format);
    let last_bound = BOUNDS_MICROS[BOUNDS_MICROS.len() - 1];
    recorder.for_each_series(Some(last_bound), |label, counts, kept| {
        let total = counts.total();
        if total == 0 {
            return;
        }
        route.clear();
        write_escaped(&mut route, label.unwrap_or(UNROUTED), true);
        counts.latency.cumulative_at(&BOUNDS_MICROS, &mut cumulative);
        for (bucket, (suffix, count)) in LE_SUFFIXES.iter().zip(&cumulative).enumerate() {
            out.push_str("http_request_duration_seconds_bucket{route=\"");
            out.push_str(&route);
            out.push_str(suffix);
            write_u64(out, *count);
            if let Some(exemplar) = kept.get(bucket).filter(|_| exemplars) {
                write_exemplar(out, &exemplar);
            }
            out.push('\n');
        }
        out.push_str("http_request_duration_seconds_bucket{route=\"");
        out.push_str(&route);
        out.push_str("\",le=\"+Inf\"} ");
        write_u64(out, total);
        if let Some(exemplar) = kept.get(LE_SUFFIXES.len()).filter(|_| exemplars) {
            write_exemplar(out, &exemplar);
        }
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
    let kinds = (&figures.error_kinds[..], figures.other_error_kinds);
    write_kinds(out, "http_errors_total", kinds, format);
    write_scalar(out, "http_slow_requests_total", "counter", totals.slow_requests, format);
    write_scalar(out, "http_routes_tracked", "gauge", figures.routes_tracked as u64, format);

    write_plain_histogram(
        out,
        "db_query_duration_seconds",
        &totals.db_latency,
        totals.db_duration_sum_micros,
        &mut cumulative,
        format,
    );
    write_statements(out, recorder, &mut cumulative, format);
    let statements = figures.statements_tracked as u64;
    write_scalar(out, "db_statements_tracked", "gauge", statements, format);
    write_scalar(out, "db_slow_queries_total", "counter", totals.db_slow, format);
    write_scalar(out, "websocket_connections_total", "counter", totals.ws_opened, format);
    write_scalar(out, "websocket_messages_total", "counter", totals.ws_messages, format);
    write_plain_histogram(
        out,
        "db_pool_acquire_duration_seconds",
        &totals.pool_acquire,
        totals.pool_acquire_sum_micros,
        &mut cumulative,
        format,
    );
    write_scalar(out, "http_upgrades_total", "counter", totals.upgrades, format);

    let name = "perfkit_availability_ratio";
    let windows = [
        (WINDOW_INTERVAL, figures.interval_availability),
        (WINDOW_CUMULATIVE, availability(server_errors, all_requests)),
    ];
    // No requests, no measurement: a sample is left out rather than shown as 0 or 1, and a
    // family without samples altogether (as the protobuf encoder leaves it out).
    if windows.iter().any(|(_, value)| value.is_some()) {
        write_header(out, name, help(name), "gauge", format);
    }
    for (window, value) in windows {
        if let Some(value) = value {
            out.push_str(name);
            out.push_str("{window=\"");
            out.push_str(window);
            out.push_str("\"} ");
            write_f64(out, value);
            out.push('\n');
        }
    }
    // The start, not the uptime: a constant, so two scrapes of the same figures are the
    // same text, and Prometheus gives the uptime as `time() - perfkit_start_time_seconds`.
    let name = "perfkit_start_time_seconds";
    write_header(out, name, help(name), "gauge", format);
    out.push_str(name);
    out.push(' ');
    write_f64(out, figures.start_time_seconds);
    out.push('\n');

    let name = "perfkit_own_requests_total";
    if figures.own.total() > 0 {
        write_header(out, name, help(name), "counter", format);
    }
    for class in StatusClass::ALL {
        let count = figures.own.in_class(class);
        if count > 0 {
            out.push_str(name);
            out.push_str("{status=\"");
            out.push_str(class.as_str());
            out.push_str("\"} ");
            write_u64(out, count);
            out.push('\n');
        }
    }
    write_scalar(out, "perfkit_own_upgrades_total", "counter", totals.own_upgrades, format);
    let messages = totals.own_stream_messages;
    write_scalar(out, "perfkit_own_stream_messages_total", "counter", messages, format);
}

/// A histogram family with one unlabelled series.
fn write_plain_histogram(
    out: &mut String,
    name: &str,
    counts: &FineCounts,
    sum_micros: u64,
    cumulative: &mut Vec<u64>,
    format: ExpositionFormat,
) {
    write_header(out, name, help(name), "histogram", format);
    counts.cumulative_at(&BOUNDS_MICROS, cumulative);
    for (bound, count) in BOUNDS_TEXT.iter().zip(cumulative.iter()) {
        out.push_str(name);
        out.push_str("_bucket{le=\"");
        out.push_str(bound);
        out.push_str("\"} ");
        write_u64(out, *count);
        out.push('\n');
    }
    let total = counts.total();
    out.push_str(name);
    out.push_str("_bucket{le=\"+Inf\"} ");
    write_u64(out, total);
    out.push('\n');
    out.push_str(name);
    out.push_str("_sum ");
    write_micros_as_seconds(out, sum_micros);
    out.push('\n');
    out.push_str(name);
    out.push_str("_count ");
    write_u64(out, total);
    out.push('\n');
}

/// The per-statement families: a duration histogram and a rows counter, by statement
/// (the overflow series as `__overflow__`), statements without calls left out.
fn write_statements(
    out: &mut String,
    recorder: &Recorder,
    cumulative: &mut Vec<u64>,
    format: ExpositionFormat,
) {
    let name = "db_statement_duration_seconds";
    write_header(out, name, help(name), "histogram", format);
    let mut label = String::with_capacity(128);
    recorder.for_each_statement(|statement, counts| {
        if counts.calls == 0 {
            return;
        }
        label.clear();
        write_label(&mut label, "statement", statement);
        counts.latency.cumulative_at(&BOUNDS_MICROS, cumulative);
        for (bound, count) in BOUNDS_TEXT.iter().zip(cumulative.iter()) {
            out.push_str("db_statement_duration_seconds_bucket{");
            out.push_str(&label);
            out.push_str(",le=\"");
            out.push_str(bound);
            out.push_str("\"} ");
            write_u64(out, *count);
            out.push('\n');
        }
        for (suffix, value) in
            [("_bucket", None), ("_sum", Some(counts.duration_sum_micros)), ("_count", None)]
        {
            out.push_str(name);
            out.push_str(suffix);
            out.push('{');
            out.push_str(&label);
            if suffix == "_bucket" {
                out.push_str(",le=\"+Inf\"");
            }
            out.push_str("} ");
            match value {
                Some(micros) => write_micros_as_seconds(out, micros),
                None => write_u64(out, counts.calls),
            }
            out.push('\n');
        }
    });
    let name = "db_statement_rows_total";
    write_header(out, name, help(name), "counter", format);
    recorder.for_each_statement(|statement, counts| {
        if counts.calls == 0 {
            return;
        }
        out.push_str(name);
        out.push('{');
        write_label(out, "statement", statement);
        out.push_str("} ");
        write_u64(out, counts.rows);
        out.push('\n');
    });
}

/// A counter family with a `kind` label, ending with the `other` series kinds beyond the cap
/// fold into.
fn write_kinds(
    out: &mut String,
    name: &str,
    (kinds, other): (&[(String, u64)], u64),
    format: ExpositionFormat,
) {
    write_header(out, name, help(name), "counter", format);
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
fn write_scalar(out: &mut String, name: &str, kind: &str, value: u64, format: ExpositionFormat) {
    write_header(out, name, help(name), kind, format);
    out.push_str(name);
    out.push(' ');
    write_u64(out, value);
    out.push('\n');
}
