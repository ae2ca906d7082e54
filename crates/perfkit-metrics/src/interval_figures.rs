//! The figures of one interval and of one route, summarized from what the recorder read:
//! percentiles, error rate and throughput are computed here once per read or close, never
//! on the recording path.

use crate::http::StatusClass;
use crate::report::{IntervalSpan, LatencySummary, RouteSummary};
use crate::series::{RequestSeries, SeriesCounts};
use crate::summarize::{latency_summary, ratio, route_latency};
use crate::window::IntervalView;

pub(crate) fn route_summary(route: &str, series: &RequestSeries) -> RouteSummary {
    let counts: SeriesCounts = series.read();
    let (avg, p95) = route_latency(&counts.latency, counts.duration_sum_micros);
    RouteSummary {
        route: route.to_owned(),
        count: counts.total(),
        errors: counts.in_class(StatusClass::ServerError),
        avg,
        p95,
        slow_trace_id: series.exemplars.highest().map(|exemplar| exemplar.span.trace_id),
    }
}

/// The figures of one interval, summarized once (at the close, or at a read before the
/// first close).
#[derive(Debug)]
pub(crate) struct IntervalFigures {
    pub(crate) span: IntervalSpan,
    pub(crate) requests: u64,
    pub(crate) latency: LatencySummary,
    pub(crate) error_rate: Option<f64>,
    pub(crate) db_latency: LatencySummary,
    pub(crate) pool_acquire: LatencySummary,
    pub(crate) per_second: Option<f64>,
    pub(crate) per_minute: Option<f64>,
}

pub(crate) fn interval_figures(
    interval: &IntervalView,
    per_minute: Option<f64>,
) -> IntervalFigures {
    let delta = &interval.delta;
    let requests = delta.requests.total();
    let seconds = interval.seconds();
    IntervalFigures {
        span: IntervalSpan { start: interval.start, end: interval.end, seconds },
        requests,
        latency: latency_summary(&delta.latency, delta.requests.duration_sum_micros),
        error_rate: ratio(delta.requests.in_class(StatusClass::ServerError), requests),
        db_latency: latency_summary(&delta.db_latency, delta.db_duration_sum_micros),
        pool_acquire: latency_summary(&delta.pool_acquire, delta.pool_acquire_sum_micros),
        #[allow(clippy::cast_precision_loss)]
        per_second: (seconds >= 0.001).then(|| requests as f64 / seconds),
        per_minute,
    }
}
