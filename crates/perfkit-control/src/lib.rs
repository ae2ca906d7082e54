//! perfkit-control: the vocabulary between perfkit and the host it watches.
//!
//! Small traits, each naming only what perfkit needs of one part of a host: the optimizer
//! acts through them, and the collector reads figures through them.
//!
//! | trait | what it reaches | figures |
//! |---|---|---|
//! | [`CacheControl`] | a cache: compact, evict a prefix | [`CacheFigures`], [`CachePrefixFigures`] |
//! | [`ConnectionControl`] | client connections: count, close idle ones | [`ConnectionCounts`] |
//! | [`MemoryControl`] | the process's memory: measure, release | [`MemoryUsage`] |
//! | [`QueueControl`] | a job queue: length, resize its workers | |
//! | [`PoolControl`] | a database pool: its size, resize where it can | [`PoolFigures`] |
//! | [`StatementSource`] | the measured database statements | [`StatementSummary`] |
//!
//! [`Controls`] bundles them for the optimizer; an absent one means its actions are skipped.
//! A control that cannot do what was asked answers a [`ControlError`] naming itself
//! ([`ControlKind`]).
//!
//! This crate is small and stable on purpose, as `tower-service` is to tower: a host
//! implements the traits (perfkit-host's worker pool and connection registry, perfkit-sqlx's
//! pool, the orchestrator's adapters) without depending on the optimizer, and the optimizer
//! acts on a host without depending on any cache, socket, allocator or database. It depends
//! on `perfkit-core` alone.
//!
//! # Features
//!
//! - `mock`: mockall mocks of every trait (`MockCacheControl`, `MockConnectionControl`,
//!   `MockMemoryControl`, `MockQueueControl`, `MockPoolControl`, `MockStatementSource`).
//! - `openapi`: `utoipa::ToSchema` on [`StatementSummary`], which the HTTP API serves.
//!
//! # Example
//!
//! A host's job queue as a [`QueueControl`], handed over in [`Controls`]:
//!
//! ```
//! use std::sync::Arc;
//! use std::sync::atomic::{AtomicU32, Ordering};
//! use async_trait::async_trait;
//! use perfkit_control::{ControlError, ControlKind, Controls, QueueControl};
//!
//! struct Workers(AtomicU32);
//!
//! #[async_trait]
//! impl QueueControl for Workers {
//!     async fn length(&self) -> Result<u64, ControlError> {
//!         Ok(0)
//!     }
//!     async fn workers(&self) -> Result<u32, ControlError> {
//!         Ok(self.0.load(Ordering::Relaxed))
//!     }
//!     async fn scale_to(&self, workers: u32) -> Result<u32, ControlError> {
//!         if workers == 0 {
//!             return Err(ControlError::failed(ControlKind::Queue, "at least one worker"));
//!         }
//!         self.0.store(workers, Ordering::Relaxed);
//!         Ok(workers)
//!     }
//! }
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let queue: Arc<dyn QueueControl> = Arc::new(Workers(AtomicU32::new(2)));
//! let controls = Controls { queue: Some(Arc::clone(&queue)), ..Controls::default() };
//! assert_eq!(queue.scale_to(4).await?, 4);
//! assert_eq!(queue.workers().await?, 4);
//! let refused = queue.scale_to(0).await.unwrap_err();
//! assert_eq!(refused.to_string(), "queue control failed: at least one worker");
//! assert!(controls.cache.is_none());
//! # Ok::<(), ControlError>(())
//! # }).unwrap();
//! ```

mod cache;
mod connections;
mod controls;
mod error;
mod heap;
mod memory;
mod pool;
mod queue;
mod statements;

pub use cache::{CacheControl, CacheFigures, CachePrefixFigures};
pub use connections::{ConnectionControl, ConnectionCounts};
pub use controls::Controls;
pub use error::{ControlError, ControlKind};
pub use heap::{HeapAllocator, HeapFigures};
pub use memory::{MemoryControl, MemoryUsage};
pub use pool::{PoolControl, PoolFigures, ReplicationFigures};
pub use queue::QueueControl;
pub use statements::{StatementSource, StatementSummary};

#[cfg(any(test, feature = "mock"))]
pub use cache::MockCacheControl;
#[cfg(any(test, feature = "mock"))]
pub use connections::MockConnectionControl;
#[cfg(any(test, feature = "mock"))]
pub use memory::MockMemoryControl;
#[cfg(any(test, feature = "mock"))]
pub use pool::MockPoolControl;
#[cfg(any(test, feature = "mock"))]
pub use queue::MockQueueControl;
#[cfg(any(test, feature = "mock"))]
pub use statements::MockStatementSource;
