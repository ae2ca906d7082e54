//! The figures kept for one database statement (or for the overflow of statements beyond the
//! cap): calls, slow calls, calls cancelled by a statement timeout, rows, a duration sum, the largest duration and a coarse latency
//! histogram, striped per thread like a route's series.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::buckets::{CoarseBuckets, CoarseCounts};
use crate::shard::CachePadded;

/// Stripes per statement: as for routes, a few keep recording threads apart without making a
/// capped table of statements cost megabytes.
const STRIPES: usize = 4;

#[derive(Debug, Default)]
struct StatementStripe {
    calls: AtomicU64,
    slow: AtomicU64,
    timeouts: AtomicU64,
    rows: AtomicU64,
    duration_sum_micros: AtomicU64,
    max_micros: AtomicU64,
    latency: CoarseBuckets,
}

/// One statement's live counters.
#[derive(Debug)]
pub(crate) struct StatementSeries {
    stripes: Box<[CachePadded<StatementStripe>]>,
}

impl Default for StatementSeries {
    fn default() -> Self {
        StatementSeries { stripes: (0..STRIPES).map(|_| CachePadded::default()).collect() }
    }
}

impl StatementSeries {
    #[inline]
    pub(crate) fn record(&self, stripe: usize, micros: u64, rows: u64, slow: bool) {
        let stripe = &self.stripes[stripe & (STRIPES - 1)];
        stripe.calls.fetch_add(1, Ordering::Relaxed);
        stripe.rows.fetch_add(rows, Ordering::Relaxed);
        stripe.duration_sum_micros.fetch_add(micros, Ordering::Relaxed);
        stripe.max_micros.fetch_max(micros, Ordering::Relaxed);
        stripe.latency.record(micros);
        if slow {
            stripe.slow.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Counts one call the database cancelled at its statement timeout (its duration was
    /// recorded as a call already).
    pub(crate) fn record_timeout(&self, stripe: usize) {
        self.stripes[stripe & (STRIPES - 1)].timeouts.fetch_add(1, Ordering::Relaxed);
    }

    /// Reads the series into `counts`, overwriting it, without allocating.
    pub(crate) fn read_into(&self, counts: &mut StatementCounts) {
        counts.calls = 0;
        counts.slow = 0;
        counts.timeouts = 0;
        counts.rows = 0;
        counts.duration_sum_micros = 0;
        counts.max_micros = 0;
        counts.latency.counts.fill(0);
        for stripe in &*self.stripes {
            counts.calls += stripe.calls.load(Ordering::Relaxed);
            counts.slow += stripe.slow.load(Ordering::Relaxed);
            counts.timeouts += stripe.timeouts.load(Ordering::Relaxed);
            counts.rows += stripe.rows.load(Ordering::Relaxed);
            counts.duration_sum_micros += stripe.duration_sum_micros.load(Ordering::Relaxed);
            counts.max_micros = counts.max_micros.max(stripe.max_micros.load(Ordering::Relaxed));
            stripe.latency.add_into(&mut counts.latency.counts);
        }
    }

    #[cfg(test)]
    pub(crate) fn read(&self) -> StatementCounts {
        let mut counts = StatementCounts::default();
        self.read_into(&mut counts);
        counts
    }
}

/// A plain copy of one statement's figures since reset.
#[derive(Debug, Clone, Default)]
pub(crate) struct StatementCounts {
    pub(crate) calls: u64,
    pub(crate) slow: u64,
    pub(crate) timeouts: u64,
    pub(crate) rows: u64,
    pub(crate) duration_sum_micros: u64,
    pub(crate) max_micros: u64,
    pub(crate) latency: CoarseCounts,
}

/// A stable identifier of a statement's text: the API names statements by it (a plan is
/// asked for by id, not by sending SQL back). FNV-1a, written out so the id does not change
/// with the standard library's hasher.
#[must_use]
pub fn statement_id(statement: &str) -> String {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let hash =
        statement.bytes().fold(OFFSET, |hash, byte| (hash ^ u64::from(byte)).wrapping_mul(PRIME));
    format!("{hash:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_calls_rows_slow_and_max_across_stripes() {
        let series = StatementSeries::default();
        series.record(0, 1_000, 3, false);
        series.record(1, 250_000, 0, true);
        series.record(6, 2_000, 5, false);
        series.record_timeout(5);
        let counts = series.read();
        assert_eq!((counts.calls, counts.slow, counts.rows), (3, 1, 8));
        assert_eq!(counts.timeouts, 1);
        assert_eq!(counts.duration_sum_micros, 253_000);
        assert_eq!(counts.max_micros, 250_000);
        assert_eq!(counts.latency.total(), 3);
        let mut reused = counts;
        series.read_into(&mut reused);
        assert_eq!(reused.calls, 3, "a second read into the same buffer does not add up");
    }

    #[test]
    fn ids_are_stable_and_differ_between_statements() {
        assert_eq!(statement_id("SELECT 1"), statement_id("SELECT 1"));
        assert_ne!(statement_id("SELECT 1"), statement_id("SELECT 2"));
        assert_eq!(statement_id("").len(), 16);
        // FNV-1a of the empty input is its offset basis.
        assert_eq!(statement_id(""), "cbf29ce484222325");
    }
}
