//! perfkit: the orchestrator and facade of the toolkit.
//!
//! This crate wires the others together: it owns what the optimizer acts on and adapts it to
//! the optimizer's control traits. Today it provides the host's job queue
//! ([`jobs::WorkerPool`], a [`QueueControl`](perfkit_optimizer::QueueControl)) and the registry
//! of live client connections ([`connections::ConnectionRegistry`], a
//! [`ConnectionControl`](perfkit_optimizer::ConnectionControl)), so queue scaling and idle
//! connection cleanup work out of the box. The crates below are re-exported as modules, so an
//! application depends on `perfkit` alone.
//!
//! ```
//! use std::sync::Arc;
//! use perfkit::connections::{ConnectionRegistry, ConnectionRegistryConfig};
//! use perfkit::core::SystemClock;
//! use perfkit::jobs::{WorkerPool, WorkerPoolConfig};
//! use perfkit::optimizer::Controls;
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let pool = WorkerPool::new(WorkerPoolConfig { workers: 2, ..WorkerPoolConfig::default() });
//! let registry = ConnectionRegistry::new(ConnectionRegistryConfig::default(), Arc::new(SystemClock));
//!
//! // What the optimizer may act on.
//! let controls = Controls {
//!     queue: Some(Arc::new(pool.clone())),
//!     connections: Some(Arc::new(registry.clone())),
//!     ..Controls::default()
//! };
//! assert!(controls.queue.is_some());
//! pool.shutdown().await;
//! # });
//! ```

pub mod connections;
mod error;
pub mod jobs;

pub use error::PerfkitError;
pub use perfkit_core as core;
pub use perfkit_optimizer as optimizer;
