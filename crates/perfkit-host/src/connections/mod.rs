//! The registry of live client connections (the guide's WebSocketManager).
//!
//! Each connection holds a [`ConnectionLease`] for as long as it is open: the registry
//! enforces the connection limit when the lease is taken (closing inactive connections
//! first), tracks the last activity the connection reports, pings it on every heartbeat,
//! and tells it to close when it fails a heartbeat or goes idle. Dropping the lease removes
//! the connection. [`ConnectionRegistry::maintain`] runs the heartbeat and the inactive
//! cleanup on their schedules.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use perfkit_control::{ConnectionControl, ConnectionCounts, ControlError};
use perfkit_core::{Clock, Timestamp};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

pub use config::ConnectionRegistryConfig;
pub use lease::ConnectionLease;

use crate::HostError;

mod config;
mod lease;

/// Identifies one registered connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ConnectionId(u64);

impl std::fmt::Display for ConnectionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "conn-{}", self.0)
    }
}

/// Why the registry closed a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum CloseReason {
    /// No activity for longer than the registry's `inactive_after`.
    Inactive,
    /// No answer to the previous heartbeat's ping.
    HeartbeatTimeout,
    /// Closed as idle by the optimizer.
    Idle,
    /// The service is shutting down.
    Shutdown,
}

/// What the registry asks of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionSignal {
    /// Send a ping; answer the pong with [`ConnectionLease::touch`].
    Ping,
    /// Close the connection.
    Close(CloseReason),
}

/// A connection as listed by the registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionInfo {
    /// Its id.
    pub id: ConnectionId,
    /// When it registered.
    pub opened_at: Timestamp,
    /// Its last reported activity.
    pub last_activity: Timestamp,
}

/// What a heartbeat did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HeartbeatReport {
    /// Connections asked to ping.
    pub pinged: usize,
    /// Connections closed for not answering the previous ping.
    pub closed: usize,
}

/// What the registry has asked of one connection so far, watched by its lease.
#[derive(Debug, Clone, Copy, Default)]
struct Signals {
    pings: u64,
    close: Option<CloseReason>,
}

/// One registered connection.
struct Entry {
    opened_at: Timestamp,
    last_activity: Timestamp,
    /// Whether it showed activity since the last heartbeat.
    alive: bool,
    signals: watch::Sender<Signals>,
}

/// The registry's state, shared with the leases (weakly, so a lease never keeps it alive).
struct Shared {
    clock: Arc<dyn Clock>,
    config: ConnectionRegistryConfig,
    next_id: AtomicU64,
    entries: Mutex<HashMap<ConnectionId, Entry>>,
}

impl Shared {
    fn entries(&self) -> MutexGuard<'_, HashMap<ConnectionId, Entry>> {
        // Every critical section leaves the map consistent, so a poisoned lock is still usable.
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn touch(&self, id: ConnectionId) -> bool {
        let now = self.clock.now();
        let mut entries = self.entries();
        let Some(entry) = entries.get_mut(&id) else { return false };
        entry.last_activity = entry.last_activity.max(now);
        entry.alive = true;
        true
    }
}

/// Live connections, bounded, with heartbeat and last-activity tracking.
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use perfkit_core::{ManualClock, Timestamp};
/// use perfkit_host::{CloseReason, ConnectionRegistry, ConnectionRegistryConfig, ConnectionSignal};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let clock = Arc::new(ManualClock::new(Timestamp::from_unix_millis(0)));
/// let config = ConnectionRegistryConfig {
///     max_connections: 2,
///     inactive_after: Duration::from_secs(60),
///     ..ConnectionRegistryConfig::default()
/// };
/// let registry = ConnectionRegistry::new(config, clock.clone());
///
/// let mut quiet = registry.register()?;
/// let chatty = registry.register()?;
/// assert!(registry.register().is_err(), "the limit is two");
///
/// clock.advance(Duration::from_secs(90));
/// chatty.touch(); // a message arrived
/// assert_eq!(registry.cleanup_inactive(), 1);
/// assert_eq!(quiet.next_signal().await, Some(ConnectionSignal::Close(CloseReason::Inactive)));
/// assert_eq!(registry.len(), 1);
/// # Ok::<(), perfkit_host::HostError>(())
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct ConnectionRegistry {
    shared: Arc<Shared>,
}

impl ConnectionRegistry {
    /// An empty registry reading time from `clock`.
    #[must_use]
    pub fn new(config: ConnectionRegistryConfig, clock: Arc<dyn Clock>) -> Self {
        ConnectionRegistry {
            shared: Arc::new(Shared {
                clock,
                config,
                next_id: AtomicU64::new(1),
                entries: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// The registry's limits and schedule.
    #[must_use]
    pub fn config(&self) -> &ConnectionRegistryConfig {
        &self.shared.config
    }

    /// Registers a new connection; the returned lease keeps its place until dropped. At the
    /// limit, connections inactive for longer than `inactive_after` are closed first, so an
    /// abandoned connection never keeps a live client out.
    ///
    /// # Errors
    /// [`HostError::TooManyConnections`] when `max_connections` are open and none of them
    /// is inactive.
    pub fn register(&self) -> Result<ConnectionLease, HostError> {
        let now = self.shared.clock.now();
        let mut entries = self.shared.entries();
        let max = self.shared.config.max_connections;
        if entries.len() >= max {
            let closed = Self::close_idle_in(
                &mut entries,
                now,
                self.shared.config.inactive_after,
                CloseReason::Inactive,
            );
            if closed > 0 {
                tracing::info!(closed, "connection limit reached: inactive connections closed");
            }
        }
        if entries.len() >= max {
            return Err(HostError::TooManyConnections { max });
        }
        let id = ConnectionId(self.shared.next_id.fetch_add(1, Ordering::Relaxed));
        let (signals, receiver) = watch::channel(Signals::default());
        entries.insert(id, Entry { opened_at: now, last_activity: now, alive: true, signals });
        Ok(ConnectionLease {
            id,
            registry: Arc::downgrade(&self.shared),
            signals: receiver,
            pings_seen: 0,
        })
    }

    /// Records activity on `id` (a message or a pong); `false` if it is not registered.
    pub fn touch(&self, id: ConnectionId) -> bool {
        self.shared.touch(id)
    }

    /// Open connections.
    #[must_use]
    pub fn len(&self) -> usize {
        self.shared.entries().len()
    }

    /// Whether no connection is open.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The open connections, oldest first.
    #[must_use]
    pub fn connections(&self) -> Vec<ConnectionInfo> {
        let mut list: Vec<_> = self
            .shared
            .entries()
            .iter()
            .map(|(id, e)| ConnectionInfo {
                id: *id,
                opened_at: e.opened_at,
                last_activity: e.last_activity,
            })
            .collect();
        list.sort_by_key(|c| c.id);
        list
    }

    /// One heartbeat round: closes connections that showed no activity since the previous
    /// round, and asks the others to ping (their pong, reported with `touch`, keeps them).
    pub fn heartbeat(&self) -> HeartbeatReport {
        let mut report = HeartbeatReport::default();
        self.shared.entries().retain(|_, entry| {
            if !entry.alive {
                entry.signals.send_modify(|s| s.close = Some(CloseReason::HeartbeatTimeout));
                report.closed += 1;
                return false;
            }
            entry.alive = false;
            entry.signals.send_modify(|s| s.pings += 1);
            report.pinged += 1;
            true
        });
        report
    }

    /// Closes connections without activity for longer than `inactive_after`; returns how
    /// many.
    pub fn cleanup_inactive(&self) -> usize {
        self.close_idle_for(self.shared.config.inactive_after, CloseReason::Inactive)
    }

    /// Closes every connection, for shutdown; returns how many.
    pub fn close_all(&self) -> usize {
        let mut entries = self.shared.entries();
        for entry in entries.values() {
            entry.signals.send_modify(|s| s.close = Some(CloseReason::Shutdown));
        }
        let closed = entries.len();
        entries.clear();
        closed
    }

    fn idle(entry: &Entry, now: Timestamp, after: Duration) -> bool {
        now.duration_since(entry.last_activity) > after
    }

    fn close_idle_for(&self, after: Duration, reason: CloseReason) -> usize {
        let now = self.shared.clock.now();
        Self::close_idle_in(&mut self.shared.entries(), now, after, reason)
    }

    fn close_idle_in(
        entries: &mut HashMap<ConnectionId, Entry>,
        now: Timestamp,
        after: Duration,
        reason: CloseReason,
    ) -> usize {
        let mut closed = 0;
        entries.retain(|_, entry| {
            if !Self::idle(entry, now, after) {
                return true;
            }
            entry.signals.send_modify(|s| s.close = Some(reason));
            closed += 1;
            false
        });
        closed
    }

    /// Runs the registry's maintenance on tokio's timer until dropped: a
    /// [`heartbeat`](Self::heartbeat) every `heartbeat_interval` (a silent client is closed
    /// within two) and a [`cleanup_inactive`](Self::cleanup_inactive) every
    /// `cleanup_interval`, each first after one period. A service spawns it beside its
    /// other loops (perfkit's `PerformanceService::start` does).
    ///
    /// ```
    /// use std::{sync::Arc, time::Duration};
    /// use perfkit_core::{ManualClock, Timestamp};
    /// use perfkit_host::{ConnectionRegistry, ConnectionRegistryConfig};
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap().block_on(async {
    /// let clock = Arc::new(ManualClock::new(Timestamp::from_unix_millis(0)));
    /// let registry = ConnectionRegistry::new(ConnectionRegistryConfig::default(), clock);
    /// let _silent = registry.register()?;
    /// let maintenance = tokio::spawn({
    ///     let registry = registry.clone();
    ///     async move { registry.maintain().await }
    /// });
    /// tokio::time::sleep(Duration::from_secs(61)).await; // two heartbeats, no pong
    /// assert!(registry.is_empty());
    /// maintenance.abort();
    /// # Ok::<(), perfkit_host::HostError>(())
    /// # }).unwrap();
    /// ```
    pub async fn maintain(&self) {
        const MIN_PERIOD: Duration = Duration::from_millis(10);
        let config = &self.shared.config;
        let every = |period: Duration| {
            let period = period.max(MIN_PERIOD);
            let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
            // After a stall, one round rather than a burst of them.
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ticks
        };
        let mut heartbeat = every(config.heartbeat_interval);
        let mut cleanup = every(config.cleanup_interval);
        loop {
            tokio::select! {
                _ = heartbeat.tick() => {
                    let report = self.heartbeat();
                    if report.closed > 0 {
                        tracing::debug!(closed = report.closed, "connections closed: no answer to the last ping");
                    }
                }
                _ = cleanup.tick() => {
                    let closed = self.cleanup_inactive();
                    if closed > 0 {
                        tracing::debug!(closed, "inactive connections closed");
                    }
                }
            }
        }
    }

    /// Open connections, and those without activity for longer than `after`.
    #[must_use]
    pub fn counts(&self, after: Duration) -> ConnectionCounts {
        let now = self.shared.clock.now();
        let entries = self.shared.entries();
        let idle = entries.values().filter(|e| Self::idle(e, now, after)).count();
        ConnectionCounts { open: entries.len() as u64, idle: idle as u64 }
    }
}

impl std::fmt::Debug for ConnectionRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectionRegistry")
            .field("open", &self.len())
            .field("config", &self.shared.config)
            .finish()
    }
}

#[async_trait]
impl ConnectionControl for ConnectionRegistry {
    async fn counts(&self, idle_after: Duration) -> Result<ConnectionCounts, ControlError> {
        Ok(ConnectionRegistry::counts(self, idle_after))
    }

    async fn close_idle(&self, idle_after: Duration) -> Result<u64, ControlError> {
        Ok(self.close_idle_for(idle_after, CloseReason::Idle) as u64)
    }
}
