//! The `api` feature: the router over a `PerformanceService`, its routes and views, auth,
//! the live stream and the OpenAPI document.
//!
//! Imports run one way: `router` assembles `routes`; a route takes its proof of access
//! from `auth`, its shared state from `state` and its answer from `views` or `prepared`;
//! `state` holds `config` (with `dashboard_config` and `program_info`), `prepared`,
//! `tickets` and `auth_throttle`, which import none of the above.

pub(crate) mod auth;
pub(crate) mod auth_throttle;
pub(crate) mod config;
pub(crate) mod dashboard_config;
mod error_from;
pub(crate) mod live;
pub(crate) mod openapi;
pub(crate) mod prepared;
pub(crate) mod program_info;
pub(crate) mod refusals;
pub(crate) mod respond;
pub(crate) mod router;
pub(crate) mod routes;
pub(crate) mod state;
pub(crate) mod tickets;
pub(crate) mod views;
