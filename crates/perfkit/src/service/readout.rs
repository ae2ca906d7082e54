//! [`Readout`]: what the service knows, read in one place. The service itself keeps its
//! lifecycle (start, shutdown, collect, optimize); its answers (snapshots, report, status,
//! health, memory profile, instances) are read through this handle, and the HTTP face
//! builds its endpoints from them and from the parts.

use super::PerformanceService;

/// What a [`PerformanceService`] knows, read without changing it: the latest snapshot and
/// the history, the persisted history of any instance, the periodic report, the service's
/// status, readiness and health, a memory profile, and the live instances.
///
/// A borrow of the service, made by [`PerformanceService::readout`]; cheap to make and to
/// copy, so take one wherever it is needed rather than keeping it.
///
/// ```
/// use perfkit::{HealthStatus, PerformanceService};
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let service = PerformanceService::builder().build()?;
/// assert!(service.readout().latest().is_none());
/// assert!(service.readout().readiness().is_err(), "nothing collected yet");
///
/// service.start();
/// let snapshot = service.collect_now().await;
/// let readout = service.readout();
/// assert_eq!(readout.latest().map(|s| s.timestamp), Some(snapshot.timestamp));
/// assert_eq!(readout.history(10).len(), 1);
/// assert!(readout.status().running);
/// assert_eq!(readout.health().checks["collector"].status, HealthStatus::Healthy);
/// service.shutdown().await;
/// # Ok::<(), perfkit::PerfkitError>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Readout<'a> {
    pub(super) service: &'a PerformanceService,
}

impl PerformanceService {
    /// What the service knows: snapshots, report, status, readiness, health, memory
    /// profile, instances.
    #[must_use]
    pub fn readout(&self) -> Readout<'_> {
        Readout { service: self }
    }
}
