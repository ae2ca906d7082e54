//! perfkit-host: the parts of a host service that perfkit watches and the optimizer acts on.
//!
//! - [`WorkerPool`]: background jobs in one bounded queue, served by a number of tokio
//!   workers that changes while jobs run. It implements [`QueueControl`], so the optimizer
//!   can scale it with the backlog.
//! - [`ConnectionRegistry`]: the live client connections (WebSockets, say), at most
//!   `max_connections` of them, with heartbeats and idle cleanup. It implements
//!   [`ConnectionControl`], so the optimizer can close idle connections.
//!
//! Both are bounded by their configs, which have sane defaults (a queue of 1024 jobs, 500
//! connections). What they refuse is a [`HostError`]; through the control traits it becomes
//! a [`ControlError`](perfkit_control::ControlError) naming the control.
//!
//! The control traits come from `perfkit-control`, a small crate of their own: this crate
//! implements them without depending on the optimizer that acts through them.
//!
//! [`QueueControl`]: perfkit_control::QueueControl
//! [`ConnectionControl`]: perfkit_control::ConnectionControl
//!
//! # Example
//!
//! ```
//! use std::sync::Arc;
//! use perfkit_core::SystemClock;
//! use perfkit_host::{ConnectionRegistry, ConnectionRegistryConfig, WorkerPool, WorkerPoolConfig};
//! use perfkit_control::{ConnectionControl, Controls, QueueControl};
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let pool = WorkerPool::new(WorkerPoolConfig { queue_capacity: 100, ..Default::default() })?;
//! let clock = Arc::new(SystemClock);
//! let connections = ConnectionRegistry::new(ConnectionRegistryConfig::default(), clock);
//!
//! // What the optimizer acts on: hand these to `Optimizer::new`.
//! let queue: Arc<dyn QueueControl> = Arc::new(pool.clone());
//! let idle: Arc<dyn ConnectionControl> = Arc::new(connections.clone());
//! let controls = Controls { queue: Some(Arc::clone(&queue)), connections: Some(idle), ..Controls::default() };
//!
//! pool.submit(async { /* send an e-mail */ }).await?;
//! let lease = connections.register()?; // held by the task serving the socket
//! assert_eq!(connections.len(), 1);
//! drop(lease);
//! assert!(connections.is_empty());
//!
//! // The optimizer scales the pool through the same control.
//! assert_eq!(queue.scale_to(4).await.ok(), Some(4));
//! assert_eq!(pool.workers(), 4);
//! pool.shutdown().await;
//! # drop(controls);
//! # Ok::<(), perfkit_host::HostError>(())
//! # }).unwrap();
//! ```

mod connections;
mod error;
mod worker_pool;

pub use connections::{
    CloseReason, ConnectionId, ConnectionInfo, ConnectionLease, ConnectionRegistry,
    ConnectionRegistryConfig, ConnectionSignal, HeartbeatReport,
};
pub use error::HostError;
pub use worker_pool::{Job, WorkerPool, WorkerPoolConfig, WorkerPoolStats};
