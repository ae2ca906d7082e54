//! The effects: each action goes through its control and reports before/after figures.

use std::sync::Arc;

use perfkit_control::{CacheFigures, ConnectionCounts, ControlError, ControlKind, MemoryUsage};

use crate::{
    ActionKind, ActionResult, Controls, Figures, OptimizerConfig, OptimizerError, Recommendation,
};

/// Whether the host provides the control `action` needs.
pub(crate) fn has_control(action: ActionKind, controls: &Controls) -> bool {
    match action {
        ActionKind::OptimizeCache => controls.cache.is_some(),
        ActionKind::CloseIdleConnections => controls.connections.is_some(),
        ActionKind::ReleaseMemory => controls.memory.is_some(),
        ActionKind::ReportSlowQueries => true,
        ActionKind::ScaleWorkers => controls.queue.is_some(),
        ActionKind::ResizeDatabasePool | ActionKind::RotateOutLaggingReplicas => {
            controls.pool.is_some()
        }
    }
}

/// Performs `rec` through its control.
pub(crate) async fn perform(
    rec: &Recommendation,
    controls: &Controls,
    config: &OptimizerConfig,
) -> Result<ActionResult, OptimizerError> {
    match rec.action {
        ActionKind::OptimizeCache => {
            optimize_cache(rec, need(&controls.cache, ControlKind::Cache)?, config).await
        }
        ActionKind::CloseIdleConnections => {
            close_idle(need(&controls.connections, ControlKind::Connections)?, config).await
        }
        ActionKind::ReleaseMemory => {
            release_memory(need(&controls.memory, ControlKind::Memory)?).await
        }
        ActionKind::ReportSlowQueries => Ok(report_slow_queries(rec)),
        ActionKind::ScaleWorkers => {
            scale_workers(rec, need(&controls.queue, ControlKind::Queue)?).await
        }
        ActionKind::ResizeDatabasePool => {
            resize_pool(rec, need(&controls.pool, ControlKind::Pool)?).await
        }
        ActionKind::RotateOutLaggingReplicas => {
            rotate_out_lagging(rec, need(&controls.pool, ControlKind::Pool)?, config).await
        }
    }
}

fn need<T: ?Sized>(control: &Option<Arc<T>>, kind: ControlKind) -> Result<&Arc<T>, ControlError> {
    control.as_ref().ok_or(ControlError::Missing(kind))
}

#[allow(clippy::cast_precision_loss)] // byte and key counts are far below 2^52
fn cache_figures(stats: CacheFigures) -> Figures {
    let mut figures =
        Figures::new().with("keys", stats.keys as f64).with("bytes", stats.bytes as f64);
    if let Some(hit_rate) = stats.hit_rate {
        figures.insert("hitRate", hit_rate);
    }
    figures
}

async fn optimize_cache(
    rec: &Recommendation,
    cache: &Arc<dyn perfkit_control::CacheControl>,
    config: &OptimizerConfig,
) -> Result<ActionResult, OptimizerError> {
    let before = cache.stats().await?;
    cache.optimize().await?;
    let mut evicted = 0;
    // Prefix eviction frees memory at the price of hits: only when memory is what triggered.
    if rec.figures.get("memoryUsage").is_some() {
        for prefix in &config.cache_optimization.evict_prefixes {
            evicted += cache.evict_prefix(prefix).await?;
        }
    }
    let after = cache.stats().await?;
    #[allow(clippy::cast_precision_loss)]
    let after_figures = cache_figures(after).with("evictedKeys", evicted as f64);
    Ok(ActionResult {
        summary: format!(
            "optimized the cache: {} -> {} keys, {} -> {} bytes",
            before.keys, after.keys, before.bytes, after.bytes
        ),
        before: cache_figures(before),
        after: after_figures,
    })
}

#[allow(clippy::cast_precision_loss)]
fn connection_figures(counts: ConnectionCounts) -> Figures {
    Figures::new().with("open", counts.open as f64).with("idle", counts.idle as f64)
}

async fn close_idle(
    connections: &Arc<dyn perfkit_control::ConnectionControl>,
    config: &OptimizerConfig,
) -> Result<ActionResult, OptimizerError> {
    let idle_after = config.connection_optimization.idle_timeout;
    let before = connections.counts(idle_after).await?;
    let closed = connections.close_idle(idle_after).await?;
    let after = connections.counts(idle_after).await?;
    #[allow(clippy::cast_precision_loss)]
    let after_figures = connection_figures(after).with("closed", closed as f64);
    Ok(ActionResult {
        summary: format!(
            "closed {closed} connections idle for over {} s: {} -> {} open",
            idle_after.as_secs(),
            before.open,
            after.open
        ),
        before: connection_figures(before),
        after: after_figures,
    })
}

#[allow(clippy::cast_precision_loss)]
fn memory_figures(memory: MemoryUsage) -> Figures {
    let mut figures = Figures::new().with("usedBytes", memory.used_bytes as f64);
    if let Some(usage) = memory.usage {
        figures.insert("memoryUsage", usage);
    }
    figures
}

async fn release_memory(
    memory: &Arc<dyn perfkit_control::MemoryControl>,
) -> Result<ActionResult, OptimizerError> {
    let before = memory.usage().await?;
    memory.release().await?;
    let after = memory.usage().await?;
    let freed = before.used_bytes.saturating_sub(after.used_bytes);
    #[allow(clippy::cast_precision_loss)]
    let after_figures = memory_figures(after).with("freedBytes", freed as f64);
    Ok(ActionResult {
        summary: format!(
            "released memory: {} -> {} bytes held ({freed} freed)",
            before.used_bytes, after.used_bytes
        ),
        before: memory_figures(before),
        after: after_figures,
    })
}

fn report_slow_queries(rec: &Recommendation) -> ActionResult {
    let mut summary = format!("reported slow queries: {}", rec.reason);
    if !rec.details.is_empty() {
        summary.push_str("; measured: ");
        summary.push_str(&rec.details.join("; "));
    }
    tracing::warn!(target: "perfkit_optimizer", "{summary}");
    ActionResult { summary, before: rec.figures.clone(), after: Figures::new() }
}

async fn scale_workers(
    rec: &Recommendation,
    queue: &Arc<dyn perfkit_control::QueueControl>,
) -> Result<ActionResult, OptimizerError> {
    let Some(scale) = rec.scale else {
        return Err(OptimizerError::IncompleteRecommendation {
            action: rec.action,
            missing: "the current and target worker counts",
        });
    };
    let now = queue.scale_to(scale.target).await?;
    Ok(scaled(scale.current, now))
}

/// Keeps replicas lagging past `databasePool.maxReplicaLagMs` out of the pool's rotation.
async fn rotate_out_lagging(
    rec: &Recommendation,
    pool: &Arc<dyn perfkit_control::PoolControl>,
    config: &OptimizerConfig,
) -> Result<ActionResult, OptimizerError> {
    let max_lag =
        std::time::Duration::from_secs_f64(config.database_pool.max_replica_lag_ms / 1000.0);
    let out = pool.rotate_out_lagging(max_lag).await?;
    let lag = rec.figures.get("dbReplicaLag").unwrap_or_default();
    Ok(ActionResult {
        summary: format!(
            "{out} replica(s) lagging past {max_lag:?} out of rotation until they catch up; {}",
            rec.reason
        ),
        before: Figures::new().with("dbReplicaLag", lag),
        after: Figures::new().with("replicasOutOfRotation", f64::from(out)),
    })
}

/// Resizes a pool that can be resized; for one that cannot, reports the size to set.
async fn resize_pool(
    rec: &Recommendation,
    pool: &Arc<dyn perfkit_control::PoolControl>,
) -> Result<ActionResult, OptimizerError> {
    let Some(target) = rec.figures.get("targetConnections") else {
        return Err(OptimizerError::IncompleteRecommendation {
            action: rec.action,
            missing: "the target connections",
        });
    };
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // a small whole count
    let target = target as u32;
    let before = pool.figures().await?;
    let figures = |max: u32| Figures::new().with("maxConnections", f64::from(max));
    if !before.resizable {
        let summary = format!(
            "reported: set the database pool's maximum from {} to {target} connections (it \
             cannot be resized at run time); {}",
            before.max, rec.reason
        );
        tracing::warn!(target: "perfkit_optimizer", "{summary}");
        return Ok(ActionResult {
            summary,
            before: figures(before.max),
            after: figures(before.max),
        });
    }
    let after = pool.resize(target).await?;
    Ok(ActionResult {
        summary: format!("resized the database pool from {} to {after} connections", before.max),
        before: figures(before.max),
        after: figures(after).with("resized", 1.0),
    })
}

/// The result of moving the workers from `from` to `to`.
pub(crate) fn scaled(from: u32, to: u32) -> ActionResult {
    ActionResult {
        summary: format!("scaled workers from {from} to {to}"),
        before: Figures::new().with("workers", f64::from(from)),
        after: Figures::new().with("workers", f64::from(to)),
    }
}
