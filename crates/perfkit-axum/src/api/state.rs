//! What every handler shares.

use std::ops::Deref;
use std::sync::Arc;

use perfkit::PerformanceService;

use crate::api::auth_throttle::AuthThrottle;
use crate::api::config::ApiConfig;
use crate::api::prepared::PreparedAnswers;
use crate::api::tickets::StreamTickets;

/// The router's state, one `Arc`: axum clones it for every request, and one reference
/// count is cheaper than several.
#[derive(Clone)]
pub(crate) struct AppState(Arc<Shared>);

/// What [`AppState`] points at.
pub(crate) struct Shared {
    pub(crate) service: PerformanceService,
    pub(crate) config: Arc<ApiConfig>,
    /// The OpenAPI document, rendered once when the router is built.
    pub(crate) openapi_json: Arc<str>,
    /// `/summary` and `/dashboard`, prepared.
    pub(crate) answers: PreparedAnswers,
    /// The live stream's single-use tickets.
    pub(crate) stream_tickets: StreamTickets,
    /// Recent failed authentications, per client address.
    pub(crate) auth_throttle: AuthThrottle,
    /// `config.api_prefix`, shared with the dashboard page without a copy per request.
    #[cfg_attr(not(feature = "dashboard"), allow(dead_code))]
    pub(crate) api_prefix: Arc<str>,
}

impl AppState {
    pub(crate) fn new(service: PerformanceService, config: ApiConfig, openapi_json: &str) -> Self {
        let answers = PreparedAnswers::new(service.config().collect_interval);
        let api_prefix = Arc::from(config.api_prefix.as_str());
        AppState(Arc::new(Shared {
            service,
            api_prefix,
            config: Arc::new(config),
            openapi_json: Arc::from(openapi_json),
            answers,
            stream_tickets: StreamTickets::default(),
            auth_throttle: AuthThrottle::default(),
        }))
    }
}

impl Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

#[cfg(feature = "dashboard")]
impl axum::extract::FromRef<AppState> for crate::dashboard::ApiPrefix {
    fn from_ref(state: &AppState) -> Self {
        crate::dashboard::ApiPrefix(Arc::clone(&state.api_prefix))
    }
}
