//! The answers the API and the dashboard serve, built here at the edge from the service's
//! parts and its own analysis. A new endpoint adds a view here and a handler in `routes/`;
//! the orchestrator does not change.

mod application;
mod business;
mod cache;
mod dashboard;
mod system;

use perfkit::PerformanceService;
use perfkit::analysis::{PerformanceScore, TargetCheck, score, targets_met};
use perfkit::core::{MetricsSnapshot, Timestamp};
use perfkit::metrics::IntervalSpan;
use perfkit::optimizer::Recommendation;
use serde::Serialize;

pub(crate) use application::ApplicationView;
pub(crate) use business::BusinessPanel;
pub(crate) use cache::CacheView;
pub(crate) use dashboard::{AlertsView, Dashboard};
pub(crate) use system::SystemView;

/// Recommendations shown in a summary.
const TOP_RECOMMENDATIONS: usize = 3;

/// The headline: current snapshot, score, status, alerts, what to do.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Summary {
    /// The latest snapshot, `None` before the first collection.
    pub(crate) snapshot: Option<MetricsSnapshot>,
    /// Score and status of that snapshot.
    pub(crate) score: PerformanceScore,
    /// The guide's targets judged on that snapshot, each with its value and its line.
    pub(crate) targets: Vec<TargetCheck>,
    /// The interval the snapshot's interval figures cover (the last one the collector
    /// closed): requests made since its end show in the next snapshot, not this one.
    /// `None` before the first collection.
    pub(crate) interval: Option<IntervalSpan>,
    /// When the next interval closes (the next scheduled collection); `None` when the
    /// schedule is not running.
    pub(crate) next_close_at: Option<Timestamp>,
    /// Alerts firing now.
    pub(crate) active_alerts: usize,
    /// The most urgent recommendations.
    pub(crate) top_recommendations: Vec<Recommendation>,
}

impl Summary {
    pub(crate) async fn of(service: &PerformanceService) -> Summary {
        let snapshot = service.readout().latest();
        let mut top_recommendations = recommendations(service).await;
        top_recommendations.truncate(TOP_RECOMMENDATIONS);
        let targets = &service.config().targets;
        // Nothing measured yet: every figure is missing, and so are the score and targets.
        let judged = match &snapshot {
            Some(snapshot) => snapshot,
            None => &MetricsSnapshot::empty(Timestamp::UNIX_EPOCH),
        };
        let status = service.readout().status();
        let next_close_at =
            status.last_collection.or(status.started_at).filter(|_| status.running).map(|last| {
                let every = service.config().collect_interval.as_millis();
                let every = i64::try_from(every).unwrap_or(i64::MAX);
                Timestamp::from_unix_millis(last.as_unix_millis().saturating_add(every))
            });
        Summary {
            interval: snapshot.as_ref().map(|_| service.recorder().reported_interval()),
            next_close_at,
            score: score(judged, targets),
            targets: targets_met(judged, targets),
            snapshot,
            active_alerts: service.parts().alerts.active_alerts().len(),
            top_recommendations,
        }
    }
}

/// Every figure: system and application.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct MetricsView {
    /// The machine, this process and its runtime; `None` when the probe failed.
    pub(crate) system: Option<SystemView>,
    /// Requests, errors, database, WebSocket, cache reads, connections, queue, business
    /// series.
    pub(crate) application: ApplicationView,
}

impl MetricsView {
    pub(crate) fn of(service: &PerformanceService) -> MetricsView {
        MetricsView { system: system_metrics(service), application: ApplicationView::of(service) }
    }
}

/// System figures, read now (or a reading younger than the probe's gap), with the runtime's;
/// `None` when the probe fails.
pub(crate) fn system_metrics(service: &PerformanceService) -> Option<SystemView> {
    match service.parts().probe.sample() {
        Ok(system) => Some(SystemView::of(system, &*service.parts().heap)),
        Err(error) => {
            tracing::warn!(%error, "system probe failed");
            None
        }
    }
}

/// What the optimizer's rules recommend for the latest snapshot now, most urgent first.
pub(crate) async fn recommendations(service: &PerformanceService) -> Vec<Recommendation> {
    let Some(snapshot) = service.readout().latest() else {
        return Vec::new();
    };
    let mut recommendations = service.parts().optimizer.recommend(&snapshot).await;
    recommendations.sort_by_key(|recommendation| std::cmp::Reverse(recommendation.priority));
    recommendations
}
