//! The recorder's families, read at scrape time. Only figures the recorder owns: cache,
//! connection and queue gauges come from their owners' collectors.

use std::sync::Arc;

use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;

use super::families::{Family, desc};
use crate::http::{Method, StatusClass};
use crate::{MetricsError, Recorder};

/// Upper bounds of the request and query duration histograms, in seconds: the Prometheus
/// client libraries' defaults, so dashboards built for them work unchanged.
const BOUNDS_SECONDS: [f64; 11] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];
const BOUNDS_MICROS: [u64; 11] = [
    5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000, 2_500_000, 5_000_000,
    10_000_000,
];

/// The route label of requests recorded without a route.
const UNROUTED: &str = "__unrouted__";

#[allow(clippy::cast_precision_loss)]
fn seconds(micros: u64) -> f64 {
    micros as f64 / 1_000_000.0
}

#[allow(clippy::cast_precision_loss)]
fn float(count: u64) -> f64 {
    count as f64
}

/// Family names, help texts and labels, declared once for both `desc` and `collect`.
const FAMILIES: &[(&str, &str, &[&str])] = &[
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
    ("db_queries_total", "Database queries by kind, for queries recorded with a kind.", &["kind"]),
    (
        "db_slow_queries_total",
        "Database queries at least as slow as the slow-query threshold.",
        &[],
    ),
    ("websocket_connections_total", "WebSocket connections opened.", &[]),
    ("websocket_messages_total", "WebSocket messages, both directions.", &[]),
];

fn help(name: &str) -> &'static str {
    FAMILIES.iter().find(|(family, _, _)| *family == name).map_or("", |(_, help, _)| help)
}

pub(super) struct RecorderCollector {
    recorder: Arc<Recorder>,
    descs: Vec<Desc>,
}

impl RecorderCollector {
    pub(super) fn new(recorder: Arc<Recorder>) -> Result<Self, MetricsError> {
        let descs = FAMILIES
            .iter()
            .map(|(name, help, labels)| desc(name, help, labels))
            .collect::<Result<_, _>>()?;
        Ok(RecorderCollector { recorder, descs })
    }

    fn request_families(&self) -> [MetricFamily; 2] {
        let mut requests = Family::counter("http_requests_total", help("http_requests_total"));
        let mut durations = Family::histogram(
            "http_request_duration_seconds",
            help("http_request_duration_seconds"),
        );
        let mut cumulative = Vec::with_capacity(BOUNDS_MICROS.len());
        self.recorder.for_each_series(|route, counts| {
            let total = counts.total();
            if total == 0 {
                return;
            }
            let route = route.unwrap_or(UNROUTED);
            for method in Method::ALL {
                for class in StatusClass::ALL {
                    let count = counts.count(method, class);
                    if count > 0 {
                        requests.value(
                            &[
                                ("method", method.as_str()),
                                ("route", route),
                                ("status", class.as_str()),
                            ],
                            float(count),
                        );
                    }
                }
            }
            counts.latency.cumulative_at(&BOUNDS_MICROS, &mut cumulative);
            durations.histogram_sample(
                &[("route", route)],
                &BOUNDS_SECONDS,
                &cumulative,
                total,
                seconds(counts.duration_sum_micros),
            );
        });
        [requests.finish(), durations.finish()]
    }
}

impl Collector for RecorderCollector {
    fn desc(&self) -> Vec<&Desc> {
        self.descs.iter().collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let figures = self.recorder.exposition_figures();
        let totals = &figures.totals;
        let mut families = Vec::with_capacity(FAMILIES.len());
        families.extend(self.request_families());

        let mut errors = Family::counter("http_errors_total", help("http_errors_total"));
        for (kind, count) in &figures.error_kinds {
            errors.value(&[("kind", kind)], float(*count));
        }
        errors.value(&[("kind", "other")], float(figures.other_error_kinds));
        families.push(errors.finish());

        let scalar = |family: fn(&str, &str) -> Family, name: &str, value: f64| {
            let mut built = family(name, help(name));
            built.value(&[], value);
            built.finish()
        };
        families.push(scalar(
            Family::counter,
            "http_slow_requests_total",
            float(totals.slow_requests),
        ));
        #[allow(clippy::cast_precision_loss)]
        families.push(scalar(Family::gauge, "http_routes_tracked", figures.routes_tracked as f64));

        let mut db =
            Family::histogram("db_query_duration_seconds", help("db_query_duration_seconds"));
        let mut cumulative = Vec::with_capacity(BOUNDS_MICROS.len());
        totals.db_latency.cumulative_at(&BOUNDS_MICROS, &mut cumulative);
        db.histogram_sample(
            &[],
            &BOUNDS_SECONDS,
            &cumulative,
            totals.db_latency.total(),
            seconds(totals.db_duration_sum_micros),
        );
        families.push(db.finish());
        let mut db_kinds = Family::counter("db_queries_total", help("db_queries_total"));
        for (kind, count) in &figures.query_kinds {
            db_kinds.value(&[("kind", kind)], float(*count));
        }
        db_kinds.value(&[("kind", "other")], float(figures.other_query_kinds));
        families.push(db_kinds.finish());
        families.push(scalar(Family::counter, "db_slow_queries_total", float(totals.db_slow)));

        families.push(scalar(
            Family::counter,
            "websocket_connections_total",
            float(totals.ws_opened),
        ));
        families.push(scalar(
            Family::counter,
            "websocket_messages_total",
            float(totals.ws_messages),
        ));
        families
    }
}
