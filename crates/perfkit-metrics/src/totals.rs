//! A plain copy of every cumulative counter of a recorder, read in one pass. Interval figures
//! are the difference of two such copies, so recording never has to know about intervals.

use crate::buckets::FineCounts;
use crate::series::SeriesCounts;

#[derive(Debug, Clone, Default)]
pub(crate) struct Totals {
    /// Latency of every request, fine resolution.
    pub(crate) latency: FineCounts,
    /// Every series (routes, overflow, unrouted) added up.
    pub(crate) requests: SeriesCounts,
    pub(crate) db_latency: FineCounts,
    pub(crate) db_duration_sum_micros: u64,
    pub(crate) db_slow: u64,
    pub(crate) pool_acquire: FineCounts,
    pub(crate) pool_acquire_sum_micros: u64,
    pub(crate) ws_messages: u64,
    pub(crate) ws_opened: u64,
    pub(crate) errors_recorded: u64,
    pub(crate) slow_requests: u64,
    pub(crate) upgrades: u64,
    pub(crate) own_upgrades: u64,
    pub(crate) own_stream_messages: u64,
}

impl Totals {
    /// What happened between `earlier` and `self`.
    pub(crate) fn since(&self, earlier: &Totals) -> Totals {
        let mut requests = self.requests.clone();
        for (now, then) in
            requests.by_method_and_class.iter_mut().zip(&earlier.requests.by_method_and_class)
        {
            *now = now.saturating_sub(*then);
        }
        requests.duration_sum_micros =
            requests.duration_sum_micros.saturating_sub(earlier.requests.duration_sum_micros);
        requests.latency = self.requests.latency.since(&earlier.requests.latency);
        Totals {
            latency: self.latency.since(&earlier.latency),
            requests,
            db_latency: self.db_latency.since(&earlier.db_latency),
            db_duration_sum_micros: self
                .db_duration_sum_micros
                .saturating_sub(earlier.db_duration_sum_micros),
            db_slow: self.db_slow.saturating_sub(earlier.db_slow),
            pool_acquire: self.pool_acquire.since(&earlier.pool_acquire),
            pool_acquire_sum_micros: self
                .pool_acquire_sum_micros
                .saturating_sub(earlier.pool_acquire_sum_micros),
            ws_messages: self.ws_messages.saturating_sub(earlier.ws_messages),
            ws_opened: self.ws_opened.saturating_sub(earlier.ws_opened),
            errors_recorded: self.errors_recorded.saturating_sub(earlier.errors_recorded),
            slow_requests: self.slow_requests.saturating_sub(earlier.slow_requests),
            upgrades: self.upgrades.saturating_sub(earlier.upgrades),
            own_upgrades: self.own_upgrades.saturating_sub(earlier.own_upgrades),
            own_stream_messages: self
                .own_stream_messages
                .saturating_sub(earlier.own_stream_messages),
        }
    }
}
