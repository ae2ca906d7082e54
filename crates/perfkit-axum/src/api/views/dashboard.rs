//! `/dashboard` and `/alerts`: everything the dashboard page shows, in one document.

use perfkit::alerting::{Alert, AlertEvent};
use perfkit::analysis::{Trend, trends};
use perfkit::cache::CacheStats;
use perfkit::core::MetricsSnapshot;
use perfkit::optimizer::{Recommendation, RunRecord};
use perfkit::{HealthReport, PerformanceService, ServiceStatus};
use serde::Serialize;

use super::{BusinessPanel, MetricsView, Summary, recommendations};
use crate::api::dashboard_config::DashboardConfig;

/// Snapshots the dashboard charts.
const DASHBOARD_HISTORY: usize = 120;
/// Optimizer runs the dashboard lists.
const DASHBOARD_RUNS: usize = 10;
/// Alert events listed beside the active alerts.
const RECENT_ALERT_EVENTS: usize = 50;

/// Active alerts and the recent alert history.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AlertsView {
    /// Alerts firing, recovering or without data.
    pub(crate) active: Vec<Alert>,
    /// Recent state changes, newest first.
    pub(crate) history: Vec<AlertEvent>,
}

impl AlertsView {
    pub(crate) fn of(service: &PerformanceService) -> AlertsView {
        let alerts = &service.parts().alerts;
        AlertsView {
            active: alerts.active_alerts(),
            history: alerts.recent_events(RECENT_ALERT_EVENTS),
        }
    }
}

/// The optimizer's state for the dashboard.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct OptimizationView {
    /// Whether auto-optimization is on.
    pub(crate) auto: bool,
    /// Whether runs record decisions without effects.
    pub(crate) dry_run: bool,
    /// What the rules recommend now.
    pub(crate) recommendations: Vec<Recommendation>,
    /// Recent runs, newest first.
    pub(crate) recent_runs: Vec<RunRecord>,
}

/// Everything the dashboard shows, in one document.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Dashboard {
    /// The headline.
    pub(crate) summary: Summary,
    /// Every figure.
    pub(crate) metrics: MetricsView,
    /// Recent snapshots, oldest first.
    pub(crate) history: Vec<MetricsSnapshot>,
    /// Trends over the trend window.
    pub(crate) trends: Vec<Trend>,
    /// Alerts.
    pub(crate) alerts: AlertsView,
    /// The optimizer.
    pub(crate) optimization: OptimizationView,
    /// The cache's figures, read now.
    pub(crate) cache: CacheStats,
    /// Health.
    pub(crate) health: HealthReport,
    /// The service itself: running, since when, its steps.
    pub(crate) service: ServiceStatus,
    /// The business series the page shows (its Business panel and charts), as configured.
    pub(crate) business: BusinessPanel,
}

impl Dashboard {
    pub(crate) async fn of(service: &PerformanceService, config: &DashboardConfig) -> Dashboard {
        let parts = service.parts();
        let summary = Summary::of(service).await;
        // The same snapshot as the summary's, so the panel and the headline agree.
        let business = BusinessPanel::of(config, summary.snapshot.as_ref());
        let optimizer = parts.optimizer.config();
        Dashboard {
            summary,
            metrics: MetricsView::of(service),
            history: service.readout().history(DASHBOARD_HISTORY),
            trends: trends(&service.readout().history(service.config().trend_window)),
            alerts: AlertsView::of(service),
            optimization: OptimizationView {
                auto: optimizer.mode.auto,
                dry_run: optimizer.mode.dry_run,
                recommendations: recommendations(service).await,
                recent_runs: parts.optimizer.history(DASHBOARD_RUNS),
            },
            cache: perfkit::cache::CacheStats {
                warming: parts.warmer.as_ref().map(|warmer| warmer.figures()),
                ..parts.cache_admin.counters()
            },
            health: service.readout().health(),
            service: service.readout().status(),
            business,
        }
    }
}
