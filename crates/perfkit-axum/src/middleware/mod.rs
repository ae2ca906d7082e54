//! The layers [`router`](crate::router) puts around its own routes that are perfkit's own:
//! each a tower `Layer` + `Service` with a concrete future that does nothing on the
//! ordinary path (no box, no timer, no state cloned), so a cheap endpoint such as
//! `/health/live` costs about what it costs in a plain axum app. They are public so a host
//! can put the same behaviour around its own routes, and so the bench can measure them.

mod json_errors;
mod timeout;

pub use json_errors::{JsonErrors, JsonErrorsFuture, JsonErrorsLayer};
pub use timeout::{RequestTimeout, RequestTimeoutFuture, RequestTimeoutLayer};
