//! The error type of every cache operation: bad configuration, backend failures and timeouts, the
//! open breaker, corrupt frames, reserved keys, (de)serialization and a caller's failed compute.

use std::time::Duration;

/// A boxed error from a caller's compute function.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything that can go wrong in a cache operation.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    /// The configuration cannot work (a malformed URL, a `rediss://` URL without TLS support).
    #[error("invalid cache configuration: {0}")]
    InvalidConfig(String),
    /// Redis answered with an error or the connection failed.
    #[error("redis command {command} failed: {message}")]
    Backend {
        /// The command that failed (`GET`, `SET`, ...).
        command: &'static str,
        /// What the client or server said.
        message: String,
    },
    /// Redis did not answer within the configured command timeout.
    #[error("redis command {command} got no answer within {timeout:?}")]
    Timeout {
        /// The command that timed out.
        command: &'static str,
        /// The configured command timeout.
        timeout: Duration,
    },
    /// The circuit breaker is open after consecutive failures: the call was not attempted.
    #[error("redis is skipped while the circuit breaker is open after repeated failures")]
    CircuitOpen,
    /// A stored value claims to be compressed but does not decompress.
    #[error("cached value at {key:?} is a corrupt frame: {reason}")]
    CorruptFrame {
        /// The key read (without the namespace).
        key: String,
        /// Why the frame was rejected.
        reason: String,
    },
    /// An application key starts with [`RESERVED_PREFIX`](crate::RESERVED_PREFIX), where
    /// perfkit keeps its own keys.
    #[error(
        "key {key:?} starts with the reserved prefix \"~perfkit:\", where perfkit keeps its own keys; choose another key"
    )]
    ReservedKey {
        /// The refused key.
        key: String,
    },
    /// `increment` found a value that is not a decimal integer.
    #[error("value at {key:?} is not an integer, so it cannot be incremented")]
    NotAnInteger {
        /// The key (without the namespace).
        key: String,
    },
    /// A typed value could not be serialized.
    #[error("could not serialize the value for {key:?}: {source}")]
    Serialize {
        /// The key being written.
        key: String,
        /// The serializer's error.
        source: serde_json::Error,
    },
    /// A cached value could not be deserialized into the requested type.
    #[error("cached value at {key:?} does not deserialize into the requested type: {source}")]
    Deserialize {
        /// The key read.
        key: String,
        /// The deserializer's error.
        source: serde_json::Error,
    },
    /// The caller's compute function failed; nothing was cached.
    #[error("computing the value for {key:?} failed: {source}")]
    Compute {
        /// The key being computed.
        key: String,
        /// The compute function's error.
        source: BoxError,
    },
    /// An instance id or lock name is not 1 to 64 plain characters (letters, digits,
    /// `- _ . :`).
    #[error("{what} name {name:?} must be 1 to 64 letters, digits or - _ . :")]
    InvalidName {
        /// What the name names (instance, lock, owner).
        what: &'static str,
        /// The refused name (its first 64 characters).
        name: String,
    },
    /// A bounded table of the coordination is full.
    #[error("too many {what}: at most {max}")]
    Full {
        /// What is full.
        what: &'static str,
        /// Its bound.
        max: usize,
    },
    /// The operating system gave no randomness for a lock token.
    #[error("no randomness for a lock token: {0}")]
    Random(String),
    /// Another owner still held the lock after the wait; the work did not start.
    #[error("lock {lock:?} is held by {}", .holder.as_deref().unwrap_or("another instance"))]
    LockBusy {
        /// The lock.
        lock: String,
        /// Its holder, when known.
        holder: Option<String>,
    },
    /// The lock was lost while held (it expired, or renewals failed for its whole TTL); the
    /// work was stopped.
    #[error("lock {lock:?} was lost while held; the work was stopped")]
    LockLost {
        /// The lock.
        lock: String,
    },
}
