//! What every handler shares.

use std::sync::Arc;

use perfkit::PerformanceService;

use crate::ApiConfig;

/// The router's state: the service and the settings, cheap to clone.
#[derive(Clone)]
pub(crate) struct AppState {
    pub(crate) service: PerformanceService,
    pub(crate) config: Arc<ApiConfig>,
    /// The OpenAPI document, rendered once when the router is built.
    pub(crate) openapi_json: Arc<str>,
}
