//! The optimizer's configuration in the guide's camelCase shape. Every section has defaults and
//! refuses unknown fields, so `{}` is a valid config and a typo never passes silently.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::ActionKind;

/// The optimizer's configuration, in the guide's camelCase shape.
///
/// Durations are humantime text (`"5m"`, `"1h"`) through [`perfkit_core::duration`], which
/// also reads the guide's whole milliseconds (`300000`). Every section has defaults, so `{}` is a valid config and a
/// partial JSON document fills the rest from [`Default`]; unknown fields are refused, so a
/// typo never passes silently. Every section reads from an object only: serde's derive would
/// also read a struct from an array, and `[]` would then be the whole default config. [`OptimizerConfig::validate`] lists every problem at once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(remote = "Self", rename_all = "camelCase", default, deny_unknown_fields)]
pub struct OptimizerConfig {
    /// Automation switches.
    pub mode: ModeConfig,
    /// When and how to optimize the cache.
    pub cache_optimization: CacheOptimizationConfig,
    /// When to close idle connections.
    pub connection_optimization: ConnectionOptimizationConfig,
    /// When to release memory.
    pub memory_optimization: MemoryOptimizationConfig,
    /// When to report slow queries.
    pub query_optimization: QueryOptimizationConfig,
    /// How to scale the job queue's workers.
    pub queue_scaling: QueueScalingConfig,
    /// How to size the database connection pool.
    pub database_pool: DatabasePoolConfig,
    /// The least time between two runs of each action.
    pub cooldowns: Cooldowns,
    /// The limits that keep automation from acting on noise.
    pub guardrails: GuardrailsConfig,
}

perfkit_core::maps_only!(OptimizerConfig);

/// Automation switches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(remote = "Self", rename_all = "camelCase", default, deny_unknown_fields)]
pub struct ModeConfig {
    /// Whether scheduled checks act by themselves.
    pub auto: bool,
    /// Record every decision but perform no effect.
    pub dry_run: bool,
}

perfkit_core::maps_only!(ModeConfig);

impl Default for ModeConfig {
    fn default() -> Self {
        ModeConfig { auto: true, dry_run: false }
    }
}

/// `cacheOptimization`: the cache is optimized when its hit rate is low or memory is high.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(remote = "Self", rename_all = "camelCase", default, deny_unknown_fields)]
pub struct CacheOptimizationConfig {
    /// Whether the rule may recommend anything.
    pub enabled: bool,
    /// Optimize when the hit rate is below this ratio.
    #[cfg_attr(feature = "openapi", schema(minimum = 0.0, maximum = 1.0))]
    pub hit_rate_threshold: f64,
    /// Optimize when memory usage is above this ratio.
    #[cfg_attr(feature = "openapi", schema(minimum = 0.01, maximum = 1.0))]
    pub memory_threshold: f64,
    /// Key prefixes evicted when the trigger is high memory (none by default).
    #[cfg_attr(feature = "openapi", schema(max_items = 64, inline, value_type = Vec<EvictPrefix>))]
    pub evict_prefixes: Vec<String>,
}

perfkit_core::maps_only!(CacheOptimizationConfig);

/// The schema of one evicted prefix: text with something besides whitespace, since an
/// empty prefix would evict every key.
#[cfg(feature = "openapi")]
#[derive(utoipa::ToSchema)]
#[schema(value_type = String, pattern = r"\S", example = "session:")]
#[allow(dead_code)] // a schema only, never built
struct EvictPrefix(String);

impl Default for CacheOptimizationConfig {
    fn default() -> Self {
        CacheOptimizationConfig {
            enabled: true,
            hit_rate_threshold: 0.7,
            memory_threshold: 0.8,
            evict_prefixes: Vec::new(),
        }
    }
}

/// `connectionOptimization`: idle connections are closed when there are too many.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(remote = "Self", rename_all = "camelCase", default, deny_unknown_fields)]
pub struct ConnectionOptimizationConfig {
    /// Whether the rule may recommend anything.
    pub enabled: bool,
    /// Close idle connections when more than this many are open.
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 10_000_000))]
    pub max_connections: u64,
    /// A connection without activity for this long is idle.
    #[serde(with = "perfkit_core::duration")]
    #[cfg_attr(feature = "openapi", schema(value_type = perfkit_core::duration::schema::SecondToWeek))]
    pub idle_timeout: Duration,
    /// Close idle connections when at least this share of the open ones is idle.
    #[cfg_attr(feature = "openapi", schema(minimum = 0.01, maximum = 1.0))]
    pub idle_ratio_threshold: f64,
}

perfkit_core::maps_only!(ConnectionOptimizationConfig);

impl Default for ConnectionOptimizationConfig {
    fn default() -> Self {
        ConnectionOptimizationConfig {
            enabled: true,
            max_connections: 500,
            idle_timeout: Duration::from_secs(5 * 60),
            idle_ratio_threshold: 0.5,
        }
    }
}

/// `memoryOptimization`: memory is released when usage is high.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(remote = "Self", rename_all = "camelCase", default, deny_unknown_fields)]
pub struct MemoryOptimizationConfig {
    /// Whether the rule may recommend anything.
    pub enabled: bool,
    /// Release memory when usage is above this ratio.
    #[cfg_attr(feature = "openapi", schema(minimum = 0.01, maximum = 1.0))]
    pub gc_threshold: f64,
}

perfkit_core::maps_only!(MemoryOptimizationConfig);

impl Default for MemoryOptimizationConfig {
    fn default() -> Self {
        MemoryOptimizationConfig { enabled: true, gc_threshold: 0.8 }
    }
}

/// `queryOptimization`: slow database queries are reported.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(remote = "Self", rename_all = "camelCase", default, deny_unknown_fields)]
pub struct QueryOptimizationConfig {
    /// Whether the rule may recommend anything.
    pub enabled: bool,
    /// Report when the P95 database query time is above this, ms.
    #[cfg_attr(feature = "openapi", schema(minimum = 1.0, maximum = 3_600_000.0))]
    pub slow_query_ms: f64,
}

perfkit_core::maps_only!(QueryOptimizationConfig);

impl Default for QueryOptimizationConfig {
    fn default() -> Self {
        QueryOptimizationConfig { enabled: true, slow_query_ms: 1000.0 }
    }
}

/// `queueScaling`: workers follow the queue length like a Kubernetes HPA follows its metric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(remote = "Self", rename_all = "camelCase", default, deny_unknown_fields)]
pub struct QueueScalingConfig {
    /// Whether the rule may recommend anything.
    pub enabled: bool,
    /// Queued jobs per worker the scaling aims at.
    #[cfg_attr(feature = "openapi", schema(minimum = 0.001, maximum = 1_000_000.0))]
    pub target_per_worker: f64,
    /// Never fewer workers than this.
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 1024))]
    pub min_workers: u32,
    /// Never more workers than this.
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 1024))]
    pub max_workers: u32,
    /// No change while queue per worker is within this ratio of the target (HPA: 0.1).
    #[cfg_attr(feature = "openapi", schema(minimum = 0.0, maximum = 0.9))]
    pub tolerance: f64,
}

perfkit_core::maps_only!(QueueScalingConfig);

impl Default for QueueScalingConfig {
    fn default() -> Self {
        QueueScalingConfig {
            enabled: true,
            target_per_worker: 10.0,
            min_workers: 1,
            max_workers: 16,
            tolerance: 0.1,
        }
    }
}

/// `databasePool`: the database pool's size follows measured demand (connections in use
/// plus tasks waiting for one) at a target utilisation. Acted on where the pool can be
/// resized at run time, reported where it cannot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(remote = "Self", rename_all = "camelCase", default, deny_unknown_fields)]
pub struct DatabasePoolConfig {
    /// Whether the rule may recommend anything.
    pub enabled: bool,
    /// The share of the pool that demand should use; the size asked for is demand over this.
    #[cfg_attr(feature = "openapi", schema(minimum = 0.05, maximum = 1.0))]
    pub target_utilization: f64,
    /// Tasks waiting longer than this for a connection (acquire P95, ms) ask for a larger pool.
    #[cfg_attr(feature = "openapi", schema(minimum = 0.1, maximum = 600_000.0))]
    pub max_acquire_wait_ms: f64,
    /// Never recommend fewer connections than this.
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 10_000))]
    pub min_connections: u32,
    /// Never recommend more connections than this (the database's own limit is the bound to
    /// respect).
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 10_000))]
    pub max_connections: u32,
    /// A read replica further behind its primary than this (ms) is taken out of rotation
    /// until it catches up; its reads go to the primary.
    #[cfg_attr(feature = "openapi", schema(minimum = 100.0, maximum = 86_400_000.0))]
    pub max_replica_lag_ms: f64,
}

perfkit_core::maps_only!(DatabasePoolConfig);

impl Default for DatabasePoolConfig {
    fn default() -> Self {
        DatabasePoolConfig {
            enabled: true,
            target_utilization: 0.7,
            max_acquire_wait_ms: 50.0,
            min_connections: 2,
            max_connections: 64,
            max_replica_lag_ms: 10_000.0,
        }
    }
}

/// The least time between two runs of each action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(remote = "Self", rename_all = "camelCase", default, deny_unknown_fields)]
pub struct Cooldowns {
    /// After `optimizeCache`.
    #[serde(with = "perfkit_core::duration")]
    #[cfg_attr(feature = "openapi", schema(value_type = perfkit_core::duration::schema::UpToWeek))]
    pub optimize_cache: Duration,
    /// After `closeIdleConnections`.
    #[serde(with = "perfkit_core::duration")]
    #[cfg_attr(feature = "openapi", schema(value_type = perfkit_core::duration::schema::UpToWeek))]
    pub close_idle_connections: Duration,
    /// After `releaseMemory`.
    #[serde(with = "perfkit_core::duration")]
    #[cfg_attr(feature = "openapi", schema(value_type = perfkit_core::duration::schema::UpToWeek))]
    pub release_memory: Duration,
    /// After `reportSlowQueries`.
    #[serde(with = "perfkit_core::duration")]
    #[cfg_attr(feature = "openapi", schema(value_type = perfkit_core::duration::schema::UpToWeek))]
    pub report_slow_queries: Duration,
    /// After `scaleWorkers`.
    #[serde(with = "perfkit_core::duration")]
    #[cfg_attr(feature = "openapi", schema(value_type = perfkit_core::duration::schema::UpToWeek))]
    pub scale_workers: Duration,
    /// After `resizeDatabasePool`.
    #[serde(with = "perfkit_core::duration")]
    #[cfg_attr(feature = "openapi", schema(value_type = perfkit_core::duration::schema::UpToWeek))]
    pub resize_database_pool: Duration,
    /// After `rotateOutLaggingReplicas`.
    #[serde(with = "perfkit_core::duration")]
    #[cfg_attr(feature = "openapi", schema(value_type = perfkit_core::duration::schema::UpToWeek))]
    pub rotate_out_lagging_replicas: Duration,
}

perfkit_core::maps_only!(Cooldowns);

impl Cooldowns {
    /// The cooldown of one action.
    #[must_use]
    pub fn of(&self, action: ActionKind) -> Duration {
        match action {
            ActionKind::OptimizeCache => self.optimize_cache,
            ActionKind::CloseIdleConnections => self.close_idle_connections,
            ActionKind::ReleaseMemory => self.release_memory,
            ActionKind::ReportSlowQueries => self.report_slow_queries,
            ActionKind::ScaleWorkers => self.scale_workers,
            ActionKind::ResizeDatabasePool => self.resize_database_pool,
            ActionKind::RotateOutLaggingReplicas => self.rotate_out_lagging_replicas,
        }
    }
}

impl Default for Cooldowns {
    fn default() -> Self {
        Cooldowns {
            optimize_cache: Duration::from_secs(10 * 60),
            close_idle_connections: Duration::from_secs(5 * 60),
            release_memory: Duration::from_secs(10 * 60),
            report_slow_queries: Duration::from_secs(15 * 60),
            scale_workers: Duration::from_secs(3 * 60),
            resize_database_pool: Duration::from_secs(5 * 60),
            rotate_out_lagging_replicas: Duration::from_secs(60),
        }
    }
}

/// The limits that keep automation from acting on noise.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(remote = "Self", rename_all = "camelCase", default, deny_unknown_fields)]
pub struct GuardrailsConfig {
    /// A trigger must hold for this many consecutive checks before a scheduled check acts on
    /// it (scale-up is exempt; a manual run acts on a trigger that fires now); it is also the
    /// window whose highest worker count a scheduled scale-down takes.
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 100))]
    pub stabilization_checks: u32,
    /// A snapshot older than this is missing data.
    #[serde(with = "perfkit_core::duration")]
    #[cfg_attr(feature = "openapi", schema(value_type = perfkit_core::duration::schema::SecondToWeek))]
    pub max_snapshot_age: Duration,
    /// A goal metric that moves the wrong way by more than this ratio counts as worse.
    #[cfg_attr(feature = "openapi", schema(minimum = 0.0, maximum = 10.0))]
    pub worsening_margin: f64,
    /// Automation stops after this many reversals of direction within the window.
    #[cfg_attr(feature = "openapi", schema(minimum = 2, maximum = 1000))]
    pub max_flip_flops: u32,
    /// The window in which reversals are counted.
    #[serde(with = "perfkit_core::duration")]
    #[cfg_attr(feature = "openapi", schema(value_type = perfkit_core::duration::schema::SecondToWeek))]
    pub flip_flop_window: Duration,
    /// How many runs the history keeps.
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 100_000))]
    pub history_capacity: usize,
}

perfkit_core::maps_only!(GuardrailsConfig);

impl Default for GuardrailsConfig {
    fn default() -> Self {
        GuardrailsConfig {
            stabilization_checks: 3,
            max_snapshot_age: Duration::from_secs(5 * 60),
            worsening_margin: 0.2,
            max_flip_flops: 4,
            flip_flop_window: Duration::from_secs(3600),
            history_capacity: 1000,
        }
    }
}

/// One thing wrong with a configuration: which field, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ConfigProblem {
    /// The camelCase path of the field, e.g. `queueScaling.maxWorkers`.
    pub field: String,
    /// What is wrong with it.
    pub problem: String,
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.problem)
    }
}
