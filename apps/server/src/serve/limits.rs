//! How long a connection may hold the server without using it, and how many may be open at
//! once: what nginx calls `client_header_timeout`, `keepalive_timeout` and
//! `worker_connections`, with nginx's defaults for the two timeouts.

use std::time::Duration;

/// The connection limits the listener enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ConnectionLimits {
    /// Longest time from accepting a connection, or from the first byte of a later request,
    /// to the end of that request's head. A client that sends half a head and stops is
    /// closed after it.
    pub(crate) header_read_timeout: Duration,
    /// Longest time a kept-alive connection may wait, with no request in flight, for its next
    /// request to begin.
    pub(crate) keep_alive_timeout: Duration,
    /// Most connections open at once, WebSockets included; one more is accepted and closed
    /// at once, and counted.
    pub(crate) max_connections: usize,
}

/// nginx's `client_header_timeout`.
pub(crate) const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(60);
/// nginx's `keepalive_timeout`.
pub(crate) const DEFAULT_KEEP_ALIVE_TIMEOUT: Duration = Duration::from_secs(75);
/// Ten thousand: well past what one server's clients hold (a browser keeps six per origin, a
/// load balancer a pool), and, with the server's own descriptors (Redis, the database, logs),
/// within the descriptor limit a service is usually given (systemd's `LimitNOFILE`, a
/// container's `ulimit -n` of 65 536 or more). Below a limit of 1 024 the cap is never
/// reached: accepting fails first, and the listener waits a second between tries.
pub(crate) const DEFAULT_MAX_CONNECTIONS: usize = 10_000;

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            keep_alive_timeout: DEFAULT_KEEP_ALIVE_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
        }
    }
}
