//! The layers the router (feature `api`) puts around its own routes that are perfkit's own:
//! each a tower `Layer` + `Service` with a concrete future that does nothing on the
//! ordinary path (no box, no timer, no state cloned), so a cheap endpoint such as
//! `/health/live` costs about what it costs in a plain axum app. They are public so a host
//! can put the same behaviour around its own routes, and so the bench can measure them.

mod json_errors;
mod own_traffic;
mod timeout;

pub use json_errors::{JsonErrors, JsonErrorsFuture, JsonErrorsLayer};
pub use own_traffic::{MarkOwnTraffic, MarkOwnTrafficFuture, MarkOwnTrafficLayer, OwnTrafficMark};
pub use timeout::{RequestTimeout, RequestTimeoutFuture, RequestTimeoutLayer};

/// The Content-Security-Policy of every response that does not set its own: JSON and text
/// load nothing, run nothing and may not be framed. The dashboard page sets a policy of its
/// own (its scripts and styles from this origin), which this one does not replace.
pub const RESTRICTIVE_CSP: &str =
    "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";
