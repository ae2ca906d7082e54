//! A clock that follows tokio's timer, so paused-time tests move schedules and timestamps
//! together.

use perfkit_core::{Clock, Timestamp};
use tokio::time::Instant;

/// Wall-clock time derived from [`tokio::time::Instant`]: the system time at creation plus
/// the tokio time elapsed since. Under `tokio::time::pause()` it advances only when tokio's
/// clock does, which keeps a service's timestamps in step with its paused schedule.
#[derive(Debug, Clone, Copy)]
pub struct TokioClock {
    origin: Instant,
    origin_wall: Timestamp,
}

impl TokioClock {
    /// A clock reading `start` now.
    #[must_use]
    pub fn starting_at(start: Timestamp) -> Self {
        TokioClock { origin: Instant::now(), origin_wall: start }
    }
}

impl Default for TokioClock {
    fn default() -> Self {
        TokioClock::starting_at(perfkit_core::SystemClock.now())
    }
}

impl Clock for TokioClock {
    fn now(&self) -> Timestamp {
        self.origin_wall + self.origin.elapsed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn moves_with_paused_tokio_time() {
        let clock = TokioClock::starting_at(Timestamp::from_unix_millis(1_000));
        assert_eq!(clock.now().as_unix_millis(), 1_000);
        tokio::time::sleep(Duration::from_secs(30)).await;
        assert_eq!(clock.now().as_unix_millis(), 31_000);
    }
}
