//! Serving: the listener (which drains the kernel's queue at shutdown), the connections it
//! hands to hyper, and the order of shutdown.

mod draining_listener;
mod shutdown;
mod unread;

pub(crate) use shutdown::{Drain, serve_until, signal};
