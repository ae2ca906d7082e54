//! perfkit as the process's `metrics` recorder: what any crate emits with `counter!`,
//! `gauge!` or `histogram!` becomes the service's business series, beside its own figures in
//! the exposition, the snapshot and its history, `/metrics/application`, the dashboard and
//! alert rules.
//!
//! ```
//! use perfkit::PerformanceService;
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let service = PerformanceService::builder().build()?;
//! // Once, at start-up; a second install (or one after another crate's) is an error.
//! // perfkit::metrics_facade::install(&service)?;
//! // Here, a local recorder instead, so this example leaves the process's global alone:
//! let facade = perfkit::metrics_facade::recorder(&service);
//! metrics::with_local_recorder(&facade, || {
//!     metrics::counter!("orders_placed", "region" => "eu").increment(1);
//!     metrics::histogram!("checkout_value").record(42.0);
//! });
//!
//! let snapshot = service.collect_now().await;
//! let orders = snapshot.business.iter().find(|s| s.name == "orders_placed").unwrap();
//! assert_eq!((orders.value, orders.labels["region"].as_str()), (1.0, "eu"));
//! assert!(service.parts().exporter.render()?.contains(r#"orders_placed_total{region="eu"} 1"#));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```
//!
//! A host that must keep another recorder as well builds a fanout of [`recorder`]'s value
//! and its own with metrics-util's `layers::FanoutBuilder`, and installs that with
//! `metrics::set_global_recorder`.

use std::sync::Arc;

use perfkit_metrics::FacadeRecorder;

use crate::{PerfkitError, PerformanceService};

/// Makes `service`'s recorder the process's global `metrics` recorder.
///
/// # Errors
/// [`PerfkitError::Metrics`] with `MetricsError::RecorderAlreadyInstalled` when the process
/// has a global recorder already (perfkit's, installed before, or another crate's).
pub fn install(service: &PerformanceService) -> Result<(), PerfkitError> {
    perfkit_metrics::facade::install(Arc::clone(service.recorder())).map_err(PerfkitError::from)
}

/// A `metrics::Recorder` writing into `service`'s recorder, to install yourself (in a fanout,
/// say) or to use locally (`metrics::with_local_recorder`).
#[must_use]
pub fn recorder(service: &PerformanceService) -> FacadeRecorder {
    FacadeRecorder::new(Arc::clone(service.recorder()))
}
