//! The three loops: collect (30 s), report (5 min), optimize (15 min, when auto is on); and the
//! side loops: the host's health indicators (15 s), the memory profile line (5 min), and the
//! connection registry's maintenance (heartbeat 30 s, inactive cleanup 1 min).
//!
//! Each loop runs its step on a tokio interval. A step that fails is logged and counted; a
//! step that panics is caught, logged and counted; either way the loop goes on. Shutdown is
//! a watch channel every loop selects on, also while a step is running, so `shutdown()`
//! returns as soon as the loops notice, however long a step would have taken.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::{MissedTickBehavior, interval};

use super::state::{ServiceState, StepCounters};
use super::{PerformanceService, lock};
use crate::PerfkitError;

/// The running loops of a started service.
pub(crate) struct Running {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

/// Which loop a step belongs to, for counting.
#[derive(Debug, Clone, Copy)]
enum Step {
    Collect,
    Report,
    Optimize,
}

impl Step {
    fn counters(self, state: &mut ServiceState) -> &mut StepCounters {
        match self {
            Step::Collect => &mut state.collect,
            Step::Report => &mut state.report,
            Step::Optimize => &mut state.optimize,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Step::Collect => "collect",
            Step::Report => "report",
            Step::Optimize => "optimize",
        }
    }
}

impl PerformanceService {
    /// Starts the schedule on the current tokio runtime: a collection now and every
    /// collect interval, a report after the first collection and every report interval, an
    /// optimizer check after the first collection and every optimize interval while
    /// auto-optimization is on. The connection registry's heartbeat and inactive cleanup run
    /// on their periods. Alert notifiers start delivering. Calling it again while running
    /// does nothing.
    ///
    /// # Panics
    /// Outside a tokio runtime, like `tokio::spawn`.
    pub fn start(&self) {
        let mut running = lock(&self.inner.running);
        if running.is_some() {
            return;
        }
        let now = self.inner.clock.now();
        self.update_state(|state| state.started_at = Some(now));
        let (stop, stopped) = watch::channel(false);
        let (first_done, first_collected) = watch::channel(false);
        let config = &self.inner.config;
        let mut tasks = Vec::new();

        let service = self.clone();
        let persist = config.persist_history;
        tasks.push(tokio::spawn(run_loop(
            Step::Collect,
            config.collect_interval,
            stopped.clone(),
            None,
            move || {
                let service = service.clone();
                let first_done = first_done.clone();
                async move {
                    if persist && !*first_done.borrow() {
                        service.restore_history().await;
                    }
                    let _timed = service.inner.parts.slow_operations.start("perfkit.collect");
                    service.collect_now().await;
                    first_done.send_replace(true);
                    Ok(())
                }
            },
            self.clone(),
        )));
        let service = self.clone();
        tasks.push(tokio::spawn(run_loop(
            Step::Report,
            config.report_interval,
            stopped.clone(),
            Some(first_collected.clone()),
            move || {
                let service = service.clone();
                async move {
                    service.build_report().await;
                    Ok(())
                }
            },
            self.clone(),
        )));
        let service = self.clone();
        tasks.push(tokio::spawn(run_loop(
            Step::Optimize,
            config.optimize_interval,
            stopped.clone(),
            Some(first_collected),
            move || {
                let service = service.clone();
                async move { service.scheduled_optimization().await }
            },
            self.clone(),
        )));
        if !self.inner.indicators.is_empty() {
            let service = self.clone();
            let period = config.health_check_interval;
            tasks.push(tokio::spawn(every(period, stopped.clone(), move || {
                let service = service.clone();
                async move { service.check_health_now().await }
            })));
        }
        if !config.memory_profile_interval.is_zero() {
            let service = self.clone();
            let period = config.memory_profile_interval;
            tasks.push(tokio::spawn(every(period, stopped.clone(), move || {
                let service = service.clone();
                async move { service.log_memory_profile() }
            })));
        }
        // The stream's connections: pings on the heartbeat, inactive cleanup on its period.
        let connections = self.inner.parts.connections.clone();
        let mut connections_stopped = stopped.clone();
        tasks.push(tokio::spawn(async move {
            tokio::select! {
                () = connections.maintain() => {}
                _ = connections_stopped.wait_for(|stop| *stop) => {}
            }
        }));
        for worker in lock(&self.inner.delivery_workers).drain(..) {
            let worker = worker.with_clock(Arc::clone(&self.inner.clock));
            let mut stopped = stopped.clone();
            tasks.push(tokio::spawn(async move {
                tokio::select! {
                    () = worker.run() => {}
                    _ = stopped.wait_for(|stop| *stop) => {}
                }
            }));
        }
        *running = Some(Running { stop, tasks });
        self.inner.is_running.store(true, std::sync::atomic::Ordering::Release);
    }

    /// Stops every loop and waits for them to end. Steps in progress are cancelled at their
    /// next await. Alert notifiers stop too. Calling it when not running does nothing.
    pub async fn shutdown(&self) {
        let running = {
            let mut running = lock(&self.inner.running);
            self.inner.is_running.store(false, std::sync::atomic::Ordering::Release);
            running.take()
        };
        let Some(Running { stop, tasks }) = running else {
            return;
        };
        stop.send_replace(true);
        for task in tasks {
            if let Err(error) = task.await {
                tracing::error!(%error, "a service task ended abnormally");
            }
        }
        self.withdraw().await;
    }

    /// Whether the schedule is running (an atomic load: no lock).
    #[must_use]
    pub fn is_running(&self) -> bool {
        self.inner.is_running.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Runs every health indicator now, each bounded by its timeout, and keeps the
    /// readings `health` and `status` show (the schedule does this every
    /// `healthCheckInterval`).
    pub async fn check_health_now(&self) {
        let _timed = self.inner.parts.slow_operations.start("perfkit.health_checks");
        let readings =
            crate::indicators::check_all(&self.inner.indicators, &*self.inner.clock).await;
        self.inner.readings.store(Arc::new(readings));
        self.inner.generation.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
    }

    /// The optimizer's scheduled check: only while auto-optimization is on.
    async fn scheduled_optimization(&self) -> Result<(), PerfkitError> {
        if !self.inner.parts.optimizer.config().mode.auto {
            return Ok(());
        }
        let _timed = self.inner.parts.slow_operations.start("perfkit.optimize");
        // Another instance on the same cache checking now is this check done: no wait.
        match self.optimize_in_turn(None, Duration::ZERO).await {
            Err(error) if Self::is_busy(&error) => {
                tracing::debug!(%error, "scheduled optimizer check left to the instance running one");
                Ok(())
            }
            outcome => outcome.map(drop),
        }
    }

    fn count(&self, step: Step, outcome: Outcome) {
        self.update_state(|state| {
            let counters = step.counters(state);
            match outcome {
                Outcome::Ran => counters.runs += 1,
                Outcome::Failed => counters.failures += 1,
                Outcome::Panicked => counters.panics += 1,
            }
        });
    }
}

#[derive(Debug, Clone, Copy)]
enum Outcome {
    Ran,
    Failed,
    Panicked,
}

/// Runs `action` now and every `period` until `stopped` says stop: for the side loops
/// (health indicators, memory profile) whose steps cannot fail and are not counted.
async fn every<F, Fut>(period: Duration, mut stopped: watch::Receiver<bool>, mut action: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    let mut ticker = interval(period);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            biased;
            _ = stopped.wait_for(|stop| *stop) => return,
            _ = ticker.tick() => {}
        }
        let guarded = AssertUnwindSafe(action()).catch_unwind();
        tokio::select! {
            biased;
            _ = stopped.wait_for(|stop| *stop) => return,
            outcome = guarded => if outcome.is_err() {
                tracing::error!("a side loop's step panicked; the loop goes on");
            },
        }
    }
}

/// Runs `step` every `period` until `stopped` says stop. With `after`, waits for it to turn
/// true first (reports and optimizer checks wait for the first snapshot).
async fn run_loop<F, Fut>(
    step: Step,
    period: Duration,
    mut stopped: watch::Receiver<bool>,
    after: Option<watch::Receiver<bool>>,
    mut action: F,
    service: PerformanceService,
) where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<(), PerfkitError>>,
{
    if let Some(mut after) = after {
        tokio::select! {
            biased;
            _ = stopped.wait_for(|stop| *stop) => return,
            ready = after.wait_for(|ready| *ready) => if ready.is_err() { return },
        }
    }
    let mut ticker = interval(period);
    // After a slow step, keep the period between steps rather than firing a burst.
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            biased;
            _ = stopped.wait_for(|stop| *stop) => return,
            _ = ticker.tick() => {}
        }
        let guarded = AssertUnwindSafe(action()).catch_unwind();
        let outcome = tokio::select! {
            biased;
            _ = stopped.wait_for(|stop| *stop) => return,
            outcome = guarded => outcome,
        };
        match outcome {
            Ok(Ok(())) => service.count(step, Outcome::Ran),
            Ok(Err(error)) => {
                tracing::warn!(step = step.name(), %error, "scheduled step failed");
                service.count(step, Outcome::Failed);
            }
            Err(_) => {
                tracing::error!(step = step.name(), "scheduled step panicked; the loop goes on");
                service.count(step, Outcome::Panicked);
            }
        }
    }
}
