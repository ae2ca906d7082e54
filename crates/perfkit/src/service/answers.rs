//! The questions the API and the dashboard ask, answered as plain data.

use std::collections::BTreeMap;

use perfkit_alerting::{Alert, AlertEvent, RuleSet};
use perfkit_cache::{CacheStats, OptimizeReport};
use perfkit_core::{MetricsSnapshot, Timestamp};
use perfkit_metrics::{ApplicationMetrics, SystemMetrics};
use perfkit_optimizer::{OptimizerConfig, Recommendation, RunRecord};
use serde::Serialize;

use super::health::{HealthReport, HealthStatus, component};
use super::state::StepCounters;
use super::{PerformanceService, lock};
use crate::PerfkitError;
use crate::analysis::{PerformanceScore, Trend, score, trends};
use crate::events::LiveEvent;
use crate::report::{PerformanceReport, ReportInputs, build};

/// Recommendations shown in a summary.
const TOP_RECOMMENDATIONS: usize = 3;
/// Snapshots the dashboard charts.
const DASHBOARD_HISTORY: usize = 120;
/// Optimizer runs the dashboard lists.
const DASHBOARD_RUNS: usize = 10;
/// Alert events listed beside the active alerts.
const RECENT_ALERT_EVENTS: usize = 50;

/// The headline: current snapshot, score, status, alerts, what to do.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// The latest snapshot, `None` before the first collection.
    pub snapshot: Option<MetricsSnapshot>,
    /// Score and status of that snapshot.
    pub score: PerformanceScore,
    /// Alerts firing or pending now.
    pub active_alerts: usize,
    /// The most urgent recommendations.
    pub top_recommendations: Vec<Recommendation>,
}

/// Every figure: system and application.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct MetricsView {
    /// The machine and this process; `None` when the probe failed.
    pub system: Option<SystemMetrics>,
    /// What the recorder knows.
    pub application: ApplicationMetrics,
}

/// Active alerts and the recent alert history.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AlertsView {
    /// Alerts firing, pending, recovering or without data.
    pub active: Vec<Alert>,
    /// Recent state changes, newest first.
    pub history: Vec<AlertEvent>,
}

/// The optimizer's state for the dashboard.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct OptimizationView {
    /// Whether auto-optimization is on.
    pub auto: bool,
    /// Whether runs record decisions without effects.
    pub dry_run: bool,
    /// What the rules recommend now.
    pub recommendations: Vec<Recommendation>,
    /// Recent runs, newest first.
    pub recent_runs: Vec<RunRecord>,
}

/// How the service itself is doing.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ServiceStatus {
    /// Whether the schedule runs.
    pub running: bool,
    /// When it was started.
    pub started_at: Option<Timestamp>,
    /// The last collection.
    pub last_collection: Option<Timestamp>,
    /// Outcomes of each scheduled step.
    pub steps: BTreeMap<&'static str, StepCounters>,
}

/// Everything the dashboard shows, in one document.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Dashboard {
    /// The headline.
    pub summary: Summary,
    /// Every figure.
    pub metrics: MetricsView,
    /// Recent snapshots, oldest first.
    pub history: Vec<MetricsSnapshot>,
    /// Trends over the trend window.
    pub trends: Vec<Trend>,
    /// Alerts.
    pub alerts: AlertsView,
    /// The optimizer.
    pub optimization: OptimizationView,
    /// The cache.
    pub cache: Option<CacheStats>,
    /// Health.
    pub health: HealthReport,
}

impl PerformanceService {
    /// The latest snapshot, collecting one if none exists yet.
    pub(crate) async fn latest_or_collect(&self) -> MetricsSnapshot {
        let latest = lock(&self.inner.state).history.latest().cloned();
        match latest {
            Some(snapshot) => snapshot,
            None => self.collect_now().await,
        }
    }

    /// The latest snapshot, if any has been collected.
    #[must_use]
    pub fn latest(&self) -> Option<MetricsSnapshot> {
        lock(&self.inner.state).history.latest().cloned()
    }

    /// The headline: latest snapshot, score, status, active alert count, top recommendations.
    pub async fn summary(&self) -> Summary {
        let snapshot = self.latest();
        let score = snapshot.as_ref().map_or_else(
            || score(&MetricsSnapshot::empty(self.inner.clock.now()), &self.inner.config.targets),
            |snapshot| score(snapshot, &self.inner.config.targets),
        );
        let mut top_recommendations = self.recommendations().await;
        top_recommendations.truncate(TOP_RECOMMENDATIONS);
        Summary {
            snapshot,
            score,
            active_alerts: lock(&self.inner.alerts).active_alerts().len(),
            top_recommendations,
        }
    }

    /// System and application figures, read now.
    #[must_use]
    pub fn metrics(&self) -> MetricsView {
        MetricsView { system: self.system_metrics(), application: self.inner.recorder.snapshot() }
    }

    /// System figures, read now (or served from a reading younger than the probe's gap);
    /// `None` when the probe fails.
    #[must_use]
    pub fn system_metrics(&self) -> Option<SystemMetrics> {
        match self.inner.probe.sample() {
            Ok(system) => Some(system),
            Err(error) => {
                tracing::warn!(%error, "system probe failed");
                None
            }
        }
    }

    /// The Prometheus text exposition: recorder, system, cache.
    ///
    /// # Errors
    /// [`PerfkitError::Setup`] if encoding fails.
    pub fn prometheus(&self) -> Result<String, PerfkitError> {
        self.inner.exporter.render().map_err(|e| PerfkitError::Setup {
            part: "prometheus exposition",
            message: e.to_string(),
        })
    }

    /// The latest periodic report, or one built now when none exists yet.
    pub async fn report(&self) -> PerformanceReport {
        let latest = lock(&self.inner.state).latest_report.clone();
        match latest {
            Some(report) => report,
            None => self.build_report().await,
        }
    }

    /// Builds a report over the snapshots since the previous report, keeps it as the
    /// latest, and returns it.
    pub(crate) async fn build_report(&self) -> PerformanceReport {
        let recommendations = self.recommendations().await;
        let now = self.inner.clock.now();
        let report_interval = self.inner.config.report_interval;
        let (snapshots, alerts_fired) = {
            let mut state = lock(&self.inner.state);
            let since = now - report_interval;
            let snapshots: Vec<MetricsSnapshot> =
                state.history.iter().filter(|s| s.timestamp >= since).cloned().collect();
            (snapshots, std::mem::take(&mut state.alerts_fired_since_report))
        };
        let report = build(ReportInputs {
            now,
            snapshots: &snapshots,
            targets: &self.inner.config.targets,
            active_alerts: lock(&self.inner.alerts).active_alerts(),
            alerts_fired,
            recommendations,
            slowest_routes: self.inner.recorder.snapshot().routes.slowest,
        });
        lock(&self.inner.state).latest_report = Some(report.clone());
        report
    }

    /// The last `limit` snapshots, oldest first.
    #[must_use]
    pub fn history(&self, limit: usize) -> Vec<MetricsSnapshot> {
        lock(&self.inner.state).history.last(limit)
    }

    /// Trends over the configured window.
    #[must_use]
    pub fn trends(&self) -> Vec<Trend> {
        trends(&self.history(self.inner.config.trend_window))
    }

    /// What the optimizer's rules recommend for the latest snapshot now, most urgent first.
    pub async fn recommendations(&self) -> Vec<Recommendation> {
        let Some(snapshot) = self.latest() else {
            return Vec::new();
        };
        let mut recommendations = self.inner.optimizer.recommend(&snapshot).await;
        recommendations.sort_by_key(|recommendation| std::cmp::Reverse(recommendation.priority));
        recommendations
    }

    /// Everything the dashboard shows.
    pub async fn dashboard(&self) -> Dashboard {
        let summary = self.summary().await;
        let optimizer = self.inner.optimizer.config();
        let recommendations = self.recommendations().await;
        // Read before the literal: a lock taken inside it would be held to the end of the
        // statement, and `health()` takes the same lock.
        let cache = lock(&self.inner.state).last_cache_stats.clone();
        Dashboard {
            metrics: self.metrics(),
            history: self.history(DASHBOARD_HISTORY),
            trends: self.trends(),
            alerts: self.alerts(),
            optimization: OptimizationView {
                auto: optimizer.mode.auto,
                dry_run: optimizer.mode.dry_run,
                recommendations,
                recent_runs: self.inner.optimizer.history(DASHBOARD_RUNS),
            },
            cache,
            health: self.health(),
            summary,
        }
    }

    /// Active alerts and recent alert events.
    #[must_use]
    pub fn alerts(&self) -> AlertsView {
        let engine = lock(&self.inner.alerts);
        AlertsView {
            active: engine.active_alerts(),
            history: engine.history().rev().take(RECENT_ALERT_EVENTS).cloned().collect(),
        }
    }

    /// The alert rules in force.
    #[must_use]
    pub fn alert_rules(&self) -> RuleSet {
        lock(&self.inner.alerts).rules().clone()
    }

    /// Replaces the alert rules; an invalid set is refused whole and the old one stays.
    ///
    /// # Errors
    /// [`PerfkitError::Alerting`] listing every problem of the new set.
    pub fn update_alert_rules(&self, rules: RuleSet) -> Result<(), PerfkitError> {
        let now = self.inner.clock.now();
        lock(&self.inner.alerts).replace_rules(rules, now)?;
        Ok(())
    }

    /// Drops the active alerts (they fire again if their condition still holds); returns
    /// how many were dropped.
    pub fn clear_alerts(&self) -> usize {
        let now = self.inner.clock.now();
        lock(&self.inner.alerts).clear(now)
    }

    /// Zeroes the application metrics and empties the history.
    pub fn reset_metrics(&self) {
        self.inner.recorder.reset();
        let mut state = lock(&self.inner.state);
        state.history.clear();
        state.latest_report = None;
    }

    /// The optimizer's config.
    #[must_use]
    pub fn optimizer_config(&self) -> OptimizerConfig {
        self.inner.optimizer.config()
    }

    /// Replaces the optimizer's config; an invalid one is refused whole and the old stays.
    ///
    /// # Errors
    /// [`PerfkitError::Optimizer`] listing every problem.
    pub fn update_config(&self, config: OptimizerConfig) -> Result<(), PerfkitError> {
        self.inner.optimizer.update_config(config)?;
        Ok(())
    }

    /// Turns auto-optimization on or off.
    pub fn set_auto(&self, enabled: bool) {
        self.inner.optimizer.set_auto(enabled);
    }

    /// Runs the actions whose triggers hold and whose cooldowns have passed, on a fresh
    /// snapshot.
    pub async fn run_optimization(&self) -> RunRecord {
        let snapshot = self.collect_snapshot().await;
        let record = self.inner.optimizer.run(&snapshot).await;
        self.publish(LiveEvent::Optimization(Box::new(record.clone())));
        record
    }

    /// Runs every action now, triggers and cooldowns ignored, safety bounds kept.
    pub async fn force_optimization(&self) -> RunRecord {
        let snapshot = self.collect_snapshot().await;
        let record = self.inner.optimizer.force(&snapshot).await;
        self.publish(LiveEvent::Optimization(Box::new(record.clone())));
        record
    }

    /// Past optimizer runs, newest first.
    #[must_use]
    pub fn optimization_history(&self, limit: usize) -> Vec<RunRecord> {
        self.inner.optimizer.history(limit)
    }

    /// The cache's statistics, read now.
    pub async fn cache_stats(&self) -> CacheStats {
        self.inner.cache_admin.stats().await
    }

    /// Clears every key in the cache's own namespace; returns how many were deleted.
    ///
    /// # Errors
    /// [`PerfkitError::Cache`] when the cache fails.
    pub async fn clear_cache(&self) -> Result<u64, PerfkitError> {
        Ok(self.inner.cache_admin.clear().await?)
    }

    /// Deletes the keys under `prefix` (a literal prefix) in the cache's namespace.
    ///
    /// # Errors
    /// [`PerfkitError::Cache`] when the cache fails.
    pub async fn delete_cache_pattern(&self, prefix: &str) -> Result<u64, PerfkitError> {
        Ok(self.inner.cache_admin.delete_pattern(prefix).await?)
    }

    /// Optimizes the cache now; returns what it did, with before/after figures.
    ///
    /// # Errors
    /// [`PerfkitError::Cache`] when the cache fails.
    pub async fn optimize_cache(&self) -> Result<OptimizeReport, PerfkitError> {
        Ok(self.inner.cache_admin.optimize().await?)
    }

    /// How the service itself is doing: running, last collection, step counters.
    #[must_use]
    pub fn status(&self) -> ServiceStatus {
        let running = self.is_running();
        let state = lock(&self.inner.state);
        ServiceStatus {
            running,
            started_at: state.started_at,
            last_collection: state.last_collection,
            steps: BTreeMap::from([
                ("collect", state.collect),
                ("report", state.report),
                ("optimize", state.optimize),
            ]),
        }
    }

    /// Whether the service can serve: a first snapshot exists and the cache is reachable.
    #[must_use]
    pub fn is_ready(&self) -> bool {
        let state = lock(&self.inner.state);
        state.last_collection.is_some() && state.last_cache_error.is_none()
    }

    /// Health per component (collector, cache, probe, alert notifier) and overall.
    #[must_use]
    pub fn health(&self) -> HealthReport {
        let now = self.inner.clock.now();
        let running = self.is_running();
        let stale_after = self.inner.config.collect_interval.saturating_mul(3);
        let mut checks = BTreeMap::new();
        {
            let state = lock(&self.inner.state);
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
            let cache = match &state.last_cache_error {
                Some(error) => {
                    component(HealthStatus::Degraded, format!("{error}; reads fail open"))
                }
                None => component(HealthStatus::Healthy, "reachable"),
            };
            checks.insert("cache".to_owned(), cache);
            let probe = match &state.last_probe_error {
                Some(error) => component(HealthStatus::Degraded, error.clone()),
                None => component(HealthStatus::Healthy, "reading"),
            };
            checks.insert("probe".to_owned(), probe);
        }
        let stats = lock(&self.inner.alerts).delivery_stats();
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
        HealthReport::from_checks(checks, now)
    }
}
