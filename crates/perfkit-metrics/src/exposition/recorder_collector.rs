//! The recorder's families, read at scrape time. Only figures the recorder owns: cache,
//! connection and queue gauges come from their owners' collectors.

use std::sync::Arc;

use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;

use super::families::{Family, desc};
use super::recorder_families::{
    BOUNDS_MICROS, BOUNDS_SECONDS, FAMILIES, UNROUTED, WINDOW_CUMULATIVE, WINDOW_INTERVAL,
    availability, help, seconds,
};
use crate::http::{Method, StatusClass};
use crate::{MetricsError, Recorder};

#[allow(clippy::cast_precision_loss)]
fn float(count: u64) -> f64 {
    count as f64
}

/// The recorder's families as a `prometheus` [`Collector`], for a host that gathers its own
/// `prometheus::Registry` and wants perfkit's figures in it.
///
/// [`PrometheusExporter`](crate::PrometheusExporter) does not go through this: it writes the
/// same families straight into text, skipping the protobuf round trip. Both carry the same
/// samples (a test holds them to it).
///
/// ```
/// use std::sync::Arc;
/// use perfkit_metrics::{Recorder, RecorderCollector};
///
/// let registry = prometheus::Registry::new();
/// let recorder = Arc::new(Recorder::default());
/// registry.register(Box::new(RecorderCollector::new(recorder)?))?;
/// assert!(registry.gather().iter().any(|family| family.name() == "http_errors_total"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct RecorderCollector {
    recorder: Arc<Recorder>,
    descs: Vec<Desc>,
}

impl RecorderCollector {
    /// A collector over `recorder`.
    ///
    /// # Errors
    /// [`MetricsError::Exposition`] if a descriptor is refused (the built-in names are valid).
    pub fn new(recorder: Arc<Recorder>) -> Result<Self, MetricsError> {
        let descs = FAMILIES
            .iter()
            .map(|(name, help, labels)| desc(name, help, labels))
            .collect::<Result<_, _>>()?;
        Ok(RecorderCollector { recorder, descs })
    }

    /// The request families, and the requests and 5xx answers they count in all.
    fn request_families(&self) -> ([MetricFamily; 2], u64, u64) {
        let mut requests = Family::counter("http_requests_total", help("http_requests_total"));
        let mut durations = Family::histogram(
            "http_request_duration_seconds",
            help("http_request_duration_seconds"),
        );
        let mut cumulative = Vec::with_capacity(BOUNDS_MICROS.len());
        let (mut all_requests, mut server_errors) = (0, 0);
        self.recorder.for_each_series(
            Some(BOUNDS_MICROS[BOUNDS_MICROS.len() - 1]),
            |route, counts, _| {
                let total = counts.total();
                if total == 0 {
                    return;
                }
                all_requests += total;
                server_errors += counts.in_class(StatusClass::ServerError);
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
            },
        );
        ([requests.finish(), durations.finish()], all_requests, server_errors)
    }

    fn statement_families(&self) -> [MetricFamily; 2] {
        let mut durations = Family::histogram(
            "db_statement_duration_seconds",
            help("db_statement_duration_seconds"),
        );
        let mut rows = Family::counter("db_statement_rows_total", help("db_statement_rows_total"));
        let mut cumulative = Vec::with_capacity(BOUNDS_MICROS.len());
        self.recorder.for_each_statement(|statement, counts| {
            if counts.calls == 0 {
                return;
            }
            counts.latency.cumulative_at(&BOUNDS_MICROS, &mut cumulative);
            durations.histogram_sample(
                &[("statement", statement)],
                &BOUNDS_SECONDS,
                &cumulative,
                counts.calls,
                seconds(counts.duration_sum_micros),
            );
            rows.value(&[("statement", statement)], float(counts.rows));
        });
        [durations.finish(), rows.finish()]
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
        let (request_families, all_requests, server_errors) = self.request_families();
        families.extend(request_families);

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
        families.extend(self.statement_families());
        #[allow(clippy::cast_precision_loss)]
        families.push(scalar(
            Family::gauge,
            "db_statements_tracked",
            figures.statements_tracked as f64,
        ));
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
        let mut acquire = Family::histogram(
            "db_pool_acquire_duration_seconds",
            help("db_pool_acquire_duration_seconds"),
        );
        totals.pool_acquire.cumulative_at(&BOUNDS_MICROS, &mut cumulative);
        acquire.histogram_sample(
            &[],
            &BOUNDS_SECONDS,
            &cumulative,
            totals.pool_acquire.total(),
            seconds(totals.pool_acquire_sum_micros),
        );
        families.push(acquire.finish());
        families.push(scalar(Family::counter, "http_upgrades_total", float(totals.upgrades)));

        let name = "perfkit_availability_ratio";
        let mut available = Family::gauge(name, help(name));
        for (window, value) in [
            (WINDOW_INTERVAL, figures.interval_availability),
            (WINDOW_CUMULATIVE, availability(server_errors, all_requests)),
        ] {
            if let Some(value) = value {
                available.value(&[("window", window)], value);
            }
        }
        families.push(available.finish());
        families.push(scalar(
            Family::gauge,
            "perfkit_start_time_seconds",
            figures.start_time_seconds,
        ));
        let name = "perfkit_own_requests_total";
        let mut own = Family::counter(name, help(name));
        for class in StatusClass::ALL {
            let count = figures.own.in_class(class);
            if count > 0 {
                own.value(&[("status", class.as_str())], float(count));
            }
        }
        families.push(own.finish());
        families.push(scalar(
            Family::counter,
            "perfkit_own_upgrades_total",
            float(totals.own_upgrades),
        ));
        families.push(scalar(
            Family::counter,
            "perfkit_own_stream_messages_total",
            float(totals.own_stream_messages),
        ));
        families
    }
}
