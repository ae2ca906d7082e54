//! Serving: the listener (which drains the kernel's queue at shutdown), the connections it
//! hands to hyper with their timeouts and cap, and the order of shutdown.

mod activity;
mod connections;
mod draining_listener;
mod figures;
mod limits;
mod shutdown;
mod unread;

pub(crate) use connections::Serving;
pub(crate) use figures::{ConnectionCollector, ConnectionFigures};
pub(crate) use limits::{
    ConnectionLimits, DEFAULT_HEADER_READ_TIMEOUT, DEFAULT_KEEP_ALIVE_TIMEOUT,
    DEFAULT_MAX_CONNECTIONS,
};
pub(crate) use shutdown::{Drain, serve_until, signal};
