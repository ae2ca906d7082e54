//! The service's own analysis: the history it keeps, the periodic report, its status and
//! health (read through [`Readout`]), and optimizer runs on its snapshots. Answers shaped
//! for HTTP are built at the edge (perfkit-axum) from these and from the parts.

use std::collections::BTreeMap;

use perfkit_cache::BreakerState;
use perfkit_core::{MetricsSnapshot, Timestamp};
use perfkit_optimizer::Recommendation;
use serde::Serialize;

use super::health::{HealthReport, HealthStatus, component};
use super::readout::Readout;
use super::state::StepCounters;
use super::{PerformanceService, lock};
use crate::report::{PerformanceReport, ReportInputs, build};

/// How the service itself is doing.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ServiceStatus {
    /// Whether the schedule runs.
    pub running: bool,
    /// Whether it can serve: a first snapshot exists and the cache is reachable.
    pub ready: bool,
    /// When it was started.
    pub started_at: Option<Timestamp>,
    /// The last collection.
    pub last_collection: Option<Timestamp>,
    /// Outcomes of each scheduled step.
    pub steps: BTreeMap<&'static str, StepCounters>,
}

/// Which optimizer run [`PerformanceService::optimize`] makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptimizationRun {
    /// The actions whose triggers hold and whose cooldowns have passed.
    Triggered,
    /// Every action now, triggers and cooldowns ignored, safety bounds kept.
    Forced,
}

impl PerformanceService {
    /// The latest snapshot, collecting one if none exists yet.
    pub(crate) async fn latest_or_collect(&self) -> MetricsSnapshot {
        match self.readout().latest() {
            Some(snapshot) => snapshot,
            None => self.collect_now().await,
        }
    }

    /// What the optimizer's rules recommend for the latest snapshot, most urgent first.
    pub(crate) async fn recommendations(&self) -> Vec<Recommendation> {
        let Some(snapshot) = self.readout().latest() else {
            return Vec::new();
        };
        let mut recommendations = self.inner.parts.optimizer.recommend(&snapshot).await;
        recommendations.sort_by_key(|recommendation| std::cmp::Reverse(recommendation.priority));
        recommendations
    }

    /// Builds a report over the snapshots since the previous report, keeps it as the
    /// latest, and returns it.
    pub(crate) async fn build_report(&self) -> PerformanceReport {
        let recommendations = self.recommendations().await;
        let now = self.inner.clock.now();
        let report_interval = self.inner.config.report_interval;
        let (snapshots, alerts_fired) = self.update_state(|state| {
            let since = now - report_interval;
            let snapshots: Vec<MetricsSnapshot> =
                state.history.iter().filter(|s| s.timestamp >= since).cloned().collect();
            (snapshots, std::mem::take(&mut state.alerts_fired_since_report))
        });
        let report = build(ReportInputs {
            now,
            snapshots: &snapshots,
            targets: &self.inner.config.targets,
            active_alerts: self.inner.parts.alerts.active_alerts(),
            alerts_fired,
            recommendations,
            slowest_routes: self.inner.parts.recorder.snapshot().routes.slowest,
        });
        self.update_state(|state| state.latest_report = Some(report.clone()));
        report
    }

    /// Zeroes the application metrics and empties the history and the report.
    pub fn reset_metrics(&self) {
        self.inner.parts.recorder.reset();
        self.update_state(|state| {
            state.history.clear();
            state.latest_report = None;
        });
    }
}

impl Readout<'_> {
    /// The latest snapshot, if any has been collected.
    #[must_use]
    pub fn latest(&self) -> Option<MetricsSnapshot> {
        self.service.inner.published.load().latest.clone()
    }

    /// The last `limit` snapshots, oldest first.
    #[must_use]
    pub fn history(&self, limit: usize) -> Vec<MetricsSnapshot> {
        lock(&self.service.inner.state).history.last(limit)
    }

    /// The latest periodic report, or one built now when none exists yet.
    pub async fn report(&self) -> PerformanceReport {
        let latest = lock(&self.service.inner.state).latest_report.clone();
        match latest {
            Some(report) => report,
            None => self.service.build_report().await,
        }
    }

    /// How the service itself is doing: running, ready, last collection, step counters.
    /// Takes no lock: it reads what the last change published.
    #[must_use]
    pub fn status(&self) -> ServiceStatus {
        let running = self.service.is_running();
        let ready = self.readiness().is_ok();
        let state = self.service.inner.published.load();
        ServiceStatus {
            running,
            ready,
            started_at: state.started_at,
            last_collection: state.last_collection,
            steps: BTreeMap::from([
                ("collect", state.collect),
                ("report", state.report),
                ("optimize", state.optimize),
            ]),
        }
    }

    /// The cache's condition: the breaker and the connection read live (atomics), so an
    /// outage shows at once and so does a recovery; `refresh_error` is the last collection's
    /// statistics refresh timing out (a slow cache), which stands until the next collection.
    fn cache_condition(&self, refresh_error: Option<&str>) -> (HealthStatus, String) {
        let live = self.service.inner.parts.cache_admin.counters();
        match (live.breaker, live.connected, refresh_error) {
            (BreakerState::Open, _, _) => {
                (HealthStatus::Degraded, "circuit breaker open; reads fail open".into())
            }
            (BreakerState::HalfOpen, _, _) => (
                HealthStatus::Degraded,
                "circuit breaker half-open, probing; reads fail open".into(),
            ),
            (BreakerState::Closed, false, _) => {
                (HealthStatus::Degraded, "not connected; reads fail open".into())
            }
            (BreakerState::Closed, true, Some(error)) => {
                (HealthStatus::Degraded, format!("{error}; reads fail open"))
            }
            (BreakerState::Closed, true, None) => (HealthStatus::Healthy, "reachable".into()),
        }
    }

    /// Whether the service can serve: a first snapshot exists, the cache is reachable, and
    /// every critical health indicator answered up at its latest check (non-critical ones
    /// never hold readiness back). The error says why not. Takes no lock.
    ///
    /// # Errors
    /// The reason it is not ready, in words.
    pub fn readiness(&self) -> Result<(), String> {
        let state = self.service.inner.published.load();
        if state.last_collection.is_none() {
            return Err("no snapshot collected yet".to_owned());
        }
        let (cache, detail) = self.cache_condition(state.last_cache_error.as_deref());
        if cache != HealthStatus::Healthy {
            return Err(format!("the cache is not usable: {detail}"));
        }
        let readings = self.service.inner.readings.load();
        let failing: Vec<String> = self
            .service
            .inner
            .indicators
            .iter()
            .zip(readings.iter())
            .filter(|(indicator, _)| indicator.options.critical)
            .filter_map(|(indicator, reading)| match reading {
                None => Some(format!("{} not checked yet", indicator.name)),
                Some(reading) if !reading.up => {
                    Some(format!("{} is down: {}", indicator.name, reading.detail))
                }
                Some(_) => None,
            })
            .collect();
        if failing.is_empty() {
            Ok(())
        } else {
            Err(format!("critical health check failing: {}", failing.join("; ")))
        }
    }

    /// Health per component (collector, cache, probe, alert notifier, then each of the
    /// host's health indicators) and overall, with each notifier's delivery figures. Takes
    /// no lock: it reads what the last change published (the notifiers' figures as of the
    /// latest collection, the indicators' latest readings).
    #[must_use]
    pub fn health(&self) -> HealthReport {
        let now = self.service.inner.clock.now();
        let running = self.service.is_running();
        let stale_after = self.service.inner.config.collect_interval.saturating_mul(3);
        let mut checks = BTreeMap::new();
        {
            let state = self.service.inner.published.load();
            let collector = match (running, state.last_collection) {
                (false, _) => component(HealthStatus::Unhealthy, "the collector is not running"),
                (true, Some(last)) if now.duration_since(last) > stale_after => component(
                    HealthStatus::Unhealthy,
                    format!(
                        "last collection {:?} ago, more than 3 intervals",
                        now.duration_since(last)
                    ),
                ),
                (true, Some(last)) => component(
                    HealthStatus::Healthy,
                    format!("last collection {:?} ago", now.duration_since(last)),
                ),
                (true, None) => component(HealthStatus::Healthy, "starting: no collection yet"),
            };
            checks.insert("collector".to_owned(), collector);
            let (status, detail) = self.cache_condition(state.last_cache_error.as_deref());
            let cache = component(status, detail);
            checks.insert("cache".to_owned(), cache);
            let probe = match &state.last_probe_error {
                Some(error) => component(HealthStatus::Degraded, error.clone()),
                None => component(HealthStatus::Healthy, "reading"),
            };
            checks.insert("probe".to_owned(), probe);
        }
        let stats = self.service.inner.published.load().delivery.clone();
        let failing: Vec<String> = stats
            .iter()
            // Dropped notifications are lost; more failures than deliveries means the
            // receiver is mostly unreachable.
            .filter(|s| s.dropped > 0 || s.failed > s.delivered)
            .map(|s| {
                format!(
                    "{}: {} failed, {} delivered, {} dropped",
                    s.notifier, s.failed, s.delivered, s.dropped
                )
            })
            .collect();
        let notifier = if failing.is_empty() {
            component(HealthStatus::Healthy, format!("{} notifier(s) delivering", stats.len()))
        } else {
            component(HealthStatus::Degraded, failing.join("; "))
        };
        checks.insert("alertNotifier".to_owned(), notifier);
        let readings = self.service.inner.readings.load();
        for (indicator, reading) in self.service.inner.indicators.iter().zip(readings.iter()) {
            let critical = indicator.options.critical;
            let mut health = match reading {
                None => component(HealthStatus::Healthy, "starting: not checked yet"),
                Some(reading) if reading.up => component(HealthStatus::Healthy, &reading.detail),
                Some(reading) if critical => component(HealthStatus::Unhealthy, &reading.detail),
                Some(reading) => component(HealthStatus::Degraded, &reading.detail),
            };
            health.critical = Some(critical);
            health.checked_at = reading.as_ref().map(|reading| reading.checked_at);
            checks.insert(indicator.name.clone(), health);
        }
        HealthReport::from_checks(checks, stats, now)
    }
}
