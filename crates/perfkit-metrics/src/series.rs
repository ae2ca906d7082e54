//! The figures kept for one route (or for requests without a route, or for the overflow of
//! routes beyond the cap): counts by method and status class, a duration sum and a coarse
//! latency histogram, striped per thread.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::buckets::{CoarseBuckets, CoarseCounts, CoarseLayout, MAX_VALUE};
use crate::exemplars::Exemplars;
use crate::http::{Method, StatusClass};
use crate::shard::CachePadded;

/// Stripes per series. Fewer than the global stripes: a thousand routes times many stripes
/// would cost megabytes, and four already keep two to four recording threads apart.
const SERIES_STRIPES: usize = 4;

const CELLS: usize = Method::COUNT * StatusClass::COUNT;

#[derive(Debug)]
struct SeriesStripe {
    by_method_and_class: [AtomicU64; CELLS],
    duration_sum_micros: AtomicU64,
    latency: CoarseBuckets,
}

impl Default for SeriesStripe {
    fn default() -> Self {
        SeriesStripe {
            by_method_and_class: std::array::from_fn(|_| AtomicU64::new(0)),
            duration_sum_micros: AtomicU64::new(0),
            latency: CoarseBuckets::default(),
        }
    }
}

/// Buckets of the exposition's request-duration histogram: its bounds, then `+Inf`.
pub(crate) const EXPOSED_BUCKETS: usize = EXPOSED_BOUNDS_MICROS.len() + 1;

/// Upper bounds of the exposition's request-duration buckets, in microseconds (the
/// Prometheus client libraries' defaults: 5 ms to 10 s).
pub(crate) const EXPOSED_BOUNDS_MICROS: [u64; 11] = [
    5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000, 2_500_000, 5_000_000,
    10_000_000,
];

/// The exposition's bucket of a duration: the first bound at or above it (`le`).
#[inline]
pub(crate) fn exposed_bucket(micros: u64) -> usize {
    EXPOSED_BOUNDS_MICROS.partition_point(|bound| *bound < micros)
}

/// One request series.
#[derive(Debug)]
pub(crate) struct RequestSeries {
    stripes: Box<[CachePadded<SeriesStripe>]>,
    /// The latest sampled request of each exposed bucket.
    pub(crate) exemplars: Exemplars,
}

impl Default for RequestSeries {
    fn default() -> Self {
        RequestSeries {
            stripes: (0..SERIES_STRIPES).map(|_| CachePadded::default()).collect(),
            exemplars: Exemplars::new(EXPOSED_BUCKETS),
        }
    }
}

impl RequestSeries {
    #[inline]
    pub(crate) fn record(&self, stripe: usize, method: Method, class: StatusClass, micros: u64) {
        let stripe = &self.stripes[stripe & (SERIES_STRIPES - 1)];
        let cell = method.index() * StatusClass::COUNT + class.index();
        stripe.by_method_and_class[cell].fetch_add(1, Ordering::Relaxed);
        stripe.duration_sum_micros.fetch_add(micros, Ordering::Relaxed);
        stripe.latency.record(micros);
    }

    pub(crate) fn read(&self) -> SeriesCounts {
        let mut counts = SeriesCounts::default();
        self.read_into(&mut counts, Some(MAX_VALUE));
        counts
    }

    /// Reads the series into `counts`, overwriting it, without allocating. Latency buckets
    /// are read only up to the one holding `latency_up_to` microseconds (the rest are left
    /// zero), and not at all when it is `None`: the exposition needs no bucket above its
    /// largest bound, and at a thousand routes the buckets are most of the memory a scrape
    /// would otherwise walk.
    pub(crate) fn read_into(&self, counts: &mut SeriesCounts, latency_up_to: Option<u64>) {
        counts.by_method_and_class = [0; CELLS];
        counts.duration_sum_micros = 0;
        counts.latency.counts.fill(0);
        let read = latency_up_to.map_or(0, |micros| CoarseLayout::index(micros) + 1);
        for stripe in &*self.stripes {
            for (total, cell) in
                counts.by_method_and_class.iter_mut().zip(&stripe.by_method_and_class)
            {
                *total += cell.load(Ordering::Relaxed);
            }
            counts.duration_sum_micros += stripe.duration_sum_micros.load(Ordering::Relaxed);
            stripe.latency.add_into(&mut counts.latency.counts[..read]);
        }
    }

    pub(crate) fn reset(&self) {
        for stripe in &*self.stripes {
            for cell in &stripe.by_method_and_class {
                cell.store(0, Ordering::Relaxed);
            }
            stripe.duration_sum_micros.store(0, Ordering::Relaxed);
            stripe.latency.reset();
        }
        self.exemplars.clear();
    }
}

/// A plain copy of a series' figures.
#[derive(Debug, Clone)]
pub(crate) struct SeriesCounts {
    pub(crate) by_method_and_class: [u64; CELLS],
    pub(crate) duration_sum_micros: u64,
    pub(crate) latency: CoarseCounts,
}

impl Default for SeriesCounts {
    fn default() -> Self {
        SeriesCounts {
            by_method_and_class: [0; CELLS],
            duration_sum_micros: 0,
            latency: CoarseCounts::default(),
        }
    }
}

impl SeriesCounts {
    pub(crate) fn count(&self, method: Method, class: StatusClass) -> u64 {
        self.by_method_and_class[method.index() * StatusClass::COUNT + class.index()]
    }

    pub(crate) fn total(&self) -> u64 {
        self.by_method_and_class.iter().sum()
    }

    pub(crate) fn in_class(&self, class: StatusClass) -> u64 {
        Method::ALL.iter().map(|method| self.count(*method, class)).sum()
    }

    pub(crate) fn add(&mut self, other: &SeriesCounts) {
        for (total, cell) in self.by_method_and_class.iter_mut().zip(&other.by_method_and_class) {
            *total += cell;
        }
        self.duration_sum_micros += other.duration_sum_micros;
        for (total, count) in self.latency.counts.iter_mut().zip(&other.latency.counts) {
            *total += count;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_by_method_class_and_latency_across_stripes() {
        let series = RequestSeries::default();
        series.record(0, Method::Get, StatusClass::Success, 1_000);
        series.record(1, Method::Get, StatusClass::ServerError, 3_000);
        series.record(7, Method::Post, StatusClass::Success, 2_000);
        let counts = series.read();
        assert_eq!(counts.total(), 3);
        assert_eq!(counts.count(Method::Get, StatusClass::Success), 1);
        assert_eq!(counts.in_class(StatusClass::ServerError), 1);
        assert_eq!(counts.duration_sum_micros, 6_000);
        assert_eq!(counts.latency.total(), 3);
        series.reset();
        assert_eq!(series.read().total(), 0);
    }

    #[test]
    fn a_partial_read_leaves_the_buckets_above_its_bound_zero() {
        let series = RequestSeries::default();
        series.record(0, Method::Get, StatusClass::Success, 1_000);
        series.record(1, Method::Get, StatusClass::Success, 60_000_000);
        let mut counts = series.read();
        series.read_into(&mut counts, Some(10_000_000));
        assert_eq!((counts.total(), counts.latency.total()), (2, 1));
        series.read_into(&mut counts, None);
        assert_eq!((counts.total(), counts.latency.total()), (2, 0));
        assert_eq!(counts.duration_sum_micros, 60_001_000);
    }
}
