//! The read side's notion of time: the "last interval" and the request-rate history.

use std::collections::VecDeque;
use std::time::Duration;

use perfkit_core::Timestamp;

use crate::totals::Totals;

/// A closed (or, before the first close, the running) interval and what happened in it.
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

/// How many request-count samples the rate history keeps: two minutes at one per second.
const RATE_SAMPLES: usize = 120;

/// Tracks interval boundaries and recent request counts. Lives behind the recorder's read
/// lock; recording never touches it.
#[derive(Debug)]
pub(crate) struct Window {
    length: Duration,
    started: Timestamp,
    baseline: Totals,
    last_closed: Option<IntervalView>,
    /// `(time, cumulative request count)`, oldest first, at most one per second.
    rate_samples: VecDeque<(Timestamp, u64)>,
}

impl Window {
    /// A window starting at `now`, when every counter is zero.
    pub(crate) fn new(length: Duration, now: Timestamp) -> Self {
        let mut rate_samples = VecDeque::with_capacity(RATE_SAMPLES);
        rate_samples.push_back((now, 0));
        Window {
            length,
            started: now,
            baseline: Totals::default(),
            last_closed: None,
            rate_samples,
        }
    }

    /// Takes note of the counters as read at `now`: closes the interval if it has run its
    /// length, and returns the interval to report: the last closed one, or the running one
    /// while none has closed yet.
    pub(crate) fn observe(&mut self, now: Timestamp, totals: &Totals) -> IntervalView {
        if now.duration_since(self.started) >= self.length {
            self.close(now, totals);
        }
        self.sample_rate(now, totals.requests.total());
        match &self.last_closed {
            Some(closed) => closed.clone(),
            None => {
                IntervalView { start: self.started, end: now, delta: totals.since(&self.baseline) }
            }
        }
    }

    /// Closes the running interval at `now`, whatever its length.
    pub(crate) fn close(&mut self, now: Timestamp, totals: &Totals) {
        self.last_closed = Some(IntervalView {
            start: self.started,
            end: now,
            delta: totals.since(&self.baseline),
        });
        self.baseline = totals.clone();
        self.started = now;
    }

    fn sample_rate(&mut self, now: Timestamp, requests: u64) {
        let due = self
            .rate_samples
            .back()
            .is_none_or(|(last, _)| now.duration_since(*last) >= Duration::from_secs(1));
        if due {
            if self.rate_samples.len() == RATE_SAMPLES {
                self.rate_samples.pop_front();
            }
            self.rate_samples.push_back((now, requests));
        }
    }

    /// Requests per second over the most recent `span` (or as much of it as the history
    /// covers), `None` until two samples at least a second apart exist.
    pub(crate) fn rate_over(
        &self,
        now: Timestamp,
        span: Duration,
        requests_now: u64,
    ) -> Option<f64> {
        let cutoff = now - span;
        let reference = self
            .rate_samples
            .iter()
            .rev()
            .find(|(at, _)| *at <= cutoff)
            .or_else(|| self.rate_samples.front())?;
        let elapsed = now.duration_since(reference.0).as_secs_f64();
        if elapsed < 1.0 {
            return None;
        }
        #[allow(clippy::cast_precision_loss)]
        Some(requests_now.saturating_sub(reference.1) as f64 / elapsed)
    }

    pub(crate) fn reset(&mut self, now: Timestamp) {
        *self = Window::new(self.length, now);
    }
}
