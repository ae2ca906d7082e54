//! The read side's notion of time: interval boundaries, set only by explicit closes, and the
//! recent closed intervals that the per-minute throughput is computed over.
//!
//! One owner sets the boundaries (the orchestrator's collector, on its own tick, through
//! [`Recorder::close_interval`](crate::Recorder::close_interval)); every read only looks. A
//! close takes its boundary from the same totals read that becomes the next baseline, so the
//! closed intervals tile time and every request lands in exactly one of them.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::time::Duration;

use perfkit_core::Timestamp;

use crate::http::StatusClass;
use crate::report::IntervalSpan;
use crate::summarize::ratio;
use crate::totals::Totals;

/// An interval (closed, or the running one) and what happened in it.
#[derive(Debug, Clone)]
pub(crate) struct IntervalView {
    pub(crate) start: Timestamp,
    pub(crate) end: Timestamp,
    pub(crate) delta: Totals,
}

impl IntervalView {
    pub(crate) fn seconds(&self) -> f64 {
        self.end.duration_since(self.start).as_secs_f64()
    }
}

/// One closed interval's request count, kept for the per-minute throughput.
#[derive(Debug, Clone, Copy)]
struct RequestSpan {
    start: Timestamp,
    end: Timestamp,
    requests: u64,
}

/// The span the per-minute throughput looks back over.
const PER_MINUTE_SPAN: Duration = Duration::from_secs(60);
/// Most closed intervals kept for the per-minute throughput, whatever their length: closes a
/// few milliseconds apart must not grow memory. At this many, the figure covers less than
/// a minute and says so only through being computed over what is kept.
const RECENT_CAP: usize = 256;

/// Interval boundaries and the recent closed intervals. Lives behind the recorder's window
/// lock; recording never touches it.
#[derive(Debug)]
pub(crate) struct Window {
    /// Start of the running interval.
    started: Timestamp,
    /// Totals at the start of the running interval.
    baseline: Totals,
    last_closed: Option<IntervalView>,
    /// Closed intervals, oldest first, no more than cover [`PER_MINUTE_SPAN`] (and at most
    /// [`RECENT_CAP`]).
    recent: VecDeque<RequestSpan>,
}

impl Window {
    /// A window whose running interval starts at `now`, when every counter is zero.
    pub(crate) fn new(now: Timestamp) -> Self {
        Window {
            started: now,
            baseline: Totals::default(),
            last_closed: None,
            recent: VecDeque::new(),
        }
    }

    /// Closes the running interval at `now`, whatever its length, and returns it. `totals`
    /// must be read while the caller holds this window exclusively: they are both the end of
    /// the closed interval and the baseline of the next one.
    pub(crate) fn close(&mut self, now: Timestamp, totals: &Totals) -> &IntervalView {
        // A clock that steps back must not make an interval end before it starts.
        let end = now.max(self.started);
        let closed = IntervalView { start: self.started, end, delta: totals.since(&self.baseline) };
        self.remember(RequestSpan {
            start: closed.start,
            end: closed.end,
            requests: closed.delta.requests.total(),
        });
        self.baseline = totals.clone();
        self.started = end;
        self.last_closed.insert(closed)
    }

    fn remember(&mut self, span: RequestSpan) {
        self.recent.push_back(span);
        // Drop the oldest while the rest still cover the per-minute span.
        while self.recent.len() > RECENT_CAP
            || self
                .recent
                .get(1)
                .is_some_and(|second| span.end.duration_since(second.start) >= PER_MINUTE_SPAN)
        {
            self.recent.pop_front();
        }
    }

    /// The interval reads report: the last closed one, or the running one (from the start,
    /// or the last reset, up to `now`) while none has closed yet. Changes nothing.
    pub(crate) fn reported(&self, now: Timestamp, totals: &Totals) -> Cow<'_, IntervalView> {
        match &self.last_closed {
            Some(closed) => Cow::Borrowed(closed),
            None => Cow::Owned(self.running(now, totals)),
        }
    }

    /// The span [`reported`](Self::reported) would cover, without reading any totals.
    pub(crate) fn reported_span(&self, now: Timestamp) -> IntervalSpan {
        let (start, end) = match &self.last_closed {
            Some(closed) => (closed.start, closed.end),
            None => (self.started, now.max(self.started)),
        };
        IntervalSpan { start, end, seconds: end.duration_since(start).as_secs_f64() }
    }

    /// Requests not answered 5xx over the last closed interval; `None` before the first
    /// close or when it had no requests.
    pub(crate) fn last_closed_availability(&self) -> Option<f64> {
        let delta = &self.last_closed.as_ref()?.delta.requests;
        ratio(delta.in_class(StatusClass::ServerError), delta.total()).map(|rate| 1.0 - rate)
    }

    fn running(&self, now: Timestamp, totals: &Totals) -> IntervalView {
        IntervalView {
            start: self.started,
            end: now.max(self.started),
            delta: totals.since(&self.baseline),
        }
    }

    /// Requests per minute over the most recent closed intervals that together cover at
    /// least 60 s (all that are kept, while they cover less); before the first close, over
    /// the running interval. `None` while that span is under a second. Changes nothing.
    pub(crate) fn per_minute(&self, now: Timestamp, totals: &Totals) -> Option<f64> {
        let (span, requests) = match self.recent.back() {
            None => {
                let running = self.running(now, totals);
                (running.end.duration_since(running.start), running.delta.requests.total())
            }
            Some(newest) => {
                let mut requests = 0;
                let mut span = Duration::ZERO;
                for interval in self.recent.iter().rev() {
                    requests += interval.requests;
                    span = newest.end.duration_since(interval.start);
                    if span >= PER_MINUTE_SPAN {
                        break;
                    }
                }
                (span, requests)
            }
        };
        #[allow(clippy::cast_precision_loss)]
        (span >= Duration::from_secs(1)).then(|| requests as f64 / span.as_secs_f64() * 60.0)
    }

    /// Forgets every interval; a new running interval starts at `now` from zero.
    pub(crate) fn reset(&mut self, now: Timestamp) {
        *self = Window::new(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::Method;

    fn totals_with(requests: u64) -> Totals {
        let mut totals = Totals::default();
        let cell = Method::Get.index() * StatusClass::COUNT + StatusClass::Success.index();
        totals.requests.by_method_and_class[cell] = requests;
        totals
    }

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_unix_millis(seconds * 1000)
    }

    #[test]
    fn per_minute_covers_the_fewest_recent_intervals_reaching_a_minute() {
        let mut window = Window::new(at(0));
        // Running interval, before any close: 30 requests over 30 s.
        assert_eq!(window.per_minute(at(30), &totals_with(30)), Some(60.0));
        window.close(at(30), &totals_with(30));
        window.close(at(60), &totals_with(90));
        // [0, 30] 30 and [30, 60] 60: 90 over 60 s.
        assert_eq!(window.per_minute(at(61), &totals_with(1_000)), Some(90.0));
        window.close(at(90), &totals_with(90));
        // [30, 90]: 60 over 60 s; the oldest interval is no longer needed and is dropped.
        assert_eq!(window.per_minute(at(90), &totals_with(90)), Some(60.0));
        assert_eq!(window.recent.len(), 2);
    }

    #[test]
    fn frequent_closes_keep_a_bounded_history() {
        let mut window = Window::new(at(0));
        for i in 1..=10_000 {
            window.close(Timestamp::from_unix_millis(i), &totals_with(0));
        }
        assert_eq!(window.recent.len(), RECENT_CAP);
    }

    #[test]
    fn reads_change_nothing() {
        let mut window = Window::new(at(0));
        window.close(at(10), &totals_with(5));
        let before = format!("{window:?}");
        let _ = window.reported(at(20), &totals_with(50));
        let _ = window.per_minute(at(20), &totals_with(50));
        assert_eq!(format!("{window:?}"), before);
    }

    #[test]
    fn a_clock_stepping_back_never_makes_an_interval_end_before_it_starts() {
        let mut window = Window::new(at(10));
        let closed = window.close(at(5), &totals_with(1));
        assert_eq!((closed.start, closed.end), (at(10), at(10)));
    }
}
