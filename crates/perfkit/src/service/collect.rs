//! Collecting one snapshot and taking it in: history, alerts, events, the instance's
//! announcement, persistence.

use std::time::Duration;

use perfkit_alerting::AlertEventKind;
use perfkit_core::MetricsSnapshot;
use tracing::Instrument as _;

use super::PerformanceService;
use crate::events::LiveEvent;

/// Connections idle at least this long count as idle for the snapshot's connection figure.
const IDLE_AFTER: Duration = Duration::from_secs(60);

/// Whether reading the sources ends the collection interval (a scheduled or explicit
/// collection) or leaves it running (a snapshot taken between collections).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Boundary {
    Close,
    Keep,
}

impl PerformanceService {
    /// Collects a snapshot now, outside the schedule, and takes it in exactly as a scheduled
    /// collection would (history, alert evaluation, live event).
    ///
    /// A `perfkit.collect` span at INFO (target [`SPAN_TARGET`](crate::SPAN_TARGET)), with
    /// the alert evaluation as its `perfkit.alerts.evaluate` child.
    pub async fn collect_now(&self) -> MetricsSnapshot {
        let span = tracing::info_span!(target: crate::SPAN_TARGET, "perfkit.collect");
        async {
            let snapshot = self.read_sources(Boundary::Close).await;
            self.take_in(snapshot.clone()).await;
            snapshot
        }
        .instrument(span)
        .await
    }

    /// Reads every source into a snapshot between collections (for an optimizer run): the
    /// interval figures are the last collection's, and no interval boundary moves, so the
    /// next collection still covers everything since the previous one.
    pub(crate) async fn collect_snapshot(&self) -> MetricsSnapshot {
        self.read_sources(Boundary::Keep).await
    }

    /// Reads every source into a snapshot. A failing source leaves its figures missing and
    /// is remembered for the health report; it never stops the collection.
    async fn read_sources(&self, boundary: Boundary) -> MetricsSnapshot {
        let inner = &self.inner;
        let mut snapshot = MetricsSnapshot::empty(inner.clock.now());
        let application = match boundary {
            // The collection owns the recorder's interval boundary: one close per
            // collection, so each snapshot covers exactly the requests since the previous.
            Boundary::Close => inner.parts.recorder.close_interval(),
            Boundary::Keep => inner.parts.recorder.snapshot(),
        };
        application.apply_to(&mut snapshot);

        let system = inner.parts.probe.sample();
        self.update_state(|state| {
            match system {
                Ok(system) => {
                    snapshot.memory_usage = Some(system.memory.usage);
                    snapshot.cpu_usage = system.cpu_usage;
                    state.last_system = Some(system);
                    state.last_probe_error = None;
                }
                Err(error) => {
                    tracing::warn!(%error, "system probe failed; memory and CPU missing from this snapshot");
                    state.last_probe_error = Some(error.to_string());
                }
            }
        });

        // The interval's hit rate from the cache's own counters (atomics, read without
        // waiting): hits over reads since the previous collection, so a recent drop is not
        // hidden by the figures since start-up.
        let counters = inner.parts.cache_admin.counters();
        self.update_state(|state| {
            let (hits, misses) = state.previous_cache_reads;
            let (new_hits, new_misses) =
                (counters.hits.saturating_sub(hits), counters.misses.saturating_sub(misses));
            #[allow(clippy::cast_precision_loss)] // a ratio; exact to 2^53 reads
            if new_hits + new_misses > 0 {
                snapshot.cache_hit_rate = Some(new_hits as f64 / (new_hits + new_misses) as f64);
            }
            if boundary == Boundary::Close {
                state.previous_cache_reads = (counters.hits, counters.misses);
            }
        });
        // The backend's own refresh (Redis INFO: keys, bytes, evictions), bounded in time:
        // it only feeds health and the figures `counters()` reports between collections.
        let refresh =
            tokio::time::timeout(inner.config.cache_stats_timeout, inner.parts.cache_admin.stats());
        match refresh.await {
            // The connection itself is read live by health: only a refresh that did not
            // answer is kept, until the next collection.
            Ok(_) => self.update_state(|state| state.last_cache_error = None),
            Err(_) => {
                tracing::warn!("cache statistics timed out; the cache is reported degraded");
                let error = format!(
                    "statistics did not answer within {:?}",
                    inner.config.cache_stats_timeout
                );
                self.update_state(|state| state.last_cache_error = Some(error));
            }
        }

        #[allow(clippy::cast_precision_loss)]
        {
            // Connections have one source: the host's connection control when it gave one,
            // the registry otherwise (the builder makes the registry the default control).
            match inner.connection_control.counts(IDLE_AFTER).await {
                Ok(counts) => snapshot.active_connections = Some(counts.open as f64),
                Err(error) => tracing::warn!(%error, "connection count failed"),
            }
            // The pool's sizes are the pool's figures; its acquire times the recorder's.
            if let Some(pool) = &inner.parts.pool {
                match pool.figures().await {
                    Ok(figures) => {
                        snapshot.db_pool_size = Some(f64::from(figures.size));
                        snapshot.db_pool_max = Some(f64::from(figures.max));
                        snapshot.db_pool_idle = Some(f64::from(figures.idle));
                        snapshot.db_pool_in_use = Some(f64::from(figures.in_use()));
                    }
                    Err(error) => tracing::warn!(%error, "database pool figures failed"),
                }
                // Lag and recovery are the pool's too: its health checks measure them.
                match pool.replication().await {
                    Ok(figures) => {
                        let millis = |d: Duration| d.as_secs_f64() * 1000.0;
                        snapshot.db_replica_lag = figures.replica_lag.map(millis);
                        snapshot.db_recovery_time = figures.last_recovery.map(millis);
                    }
                    Err(error) => tracing::warn!(%error, "database replication figures failed"),
                }
            }
            // Queue length is the queue control's figure.
            if let Some(queue) = &inner.queue {
                match queue.length().await {
                    Ok(length) => snapshot.queue_length = Some(length as f64),
                    Err(error) => tracing::warn!(%error, "queue length failed"),
                }
            }
        }
        snapshot
    }

    /// Takes a collected snapshot in: history, alert evaluation, live events, the instance's
    /// announcement (renewing its TTL), persistence.
    pub(crate) async fn take_in(&self, snapshot: MetricsSnapshot) {
        let inner = &self.inner;
        let events = tracing::info_span!(
            target: crate::SPAN_TARGET,
            "perfkit.alerts.evaluate",
            perfkit.alert.events = tracing::field::Empty,
        )
        .in_scope(|| {
            let events = inner.parts.alerts.evaluate(&snapshot);
            tracing::Span::current().record("perfkit.alert.events", events.len());
            events
        });
        // Read before the state lock is taken: the two locks are never nested.
        let delivery = inner.parts.alerts.delivery_stats();
        self.update_state(|state| {
            state.history.push(snapshot.clone());
            state.last_collection = Some(snapshot.timestamp);
            state.alerts_fired_since_report +=
                events.iter().filter(|event| event.kind == AlertEventKind::Fired).count();
            state.delivery = delivery;
        });
        for event in events {
            self.publish(LiveEvent::Alert(Box::new(event)));
        }
        self.publish(LiveEvent::Snapshot(Box::new(snapshot)));
        self.announce().await;
        if inner.config.persist_history {
            self.persist_history().await;
        }
    }
}
