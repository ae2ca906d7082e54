//! Health of what the host depends on, like Spring Boot Actuator's health indicators: a host
//! registers named async checks (a database ping, an upstream API), each with a timeout and a
//! criticality. The service runs them on its own schedule, off the request path, and keeps the
//! latest reading of each; `/health` shows them and readiness fails on the critical ones.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::FutureExt;
use perfkit_core::{Clock, Timestamp};
use serde::Serialize;

use crate::PerfkitError;

/// Most indicators one service holds.
pub const MAX_INDICATORS: usize = 32;
/// Longest timeout an indicator may have.
const MAX_TIMEOUT: Duration = Duration::from_secs(60);
/// Longest detail kept from a check's answer.
const MAX_DETAIL_LEN: usize = 512;
/// Names the service's own components use in the health report.
const RESERVED: [&str; 4] = ["collector", "cache", "probe", "alertNotifier"];

/// One check of something the host depends on.
///
/// Any `Fn() -> impl Future<Output = Result<String, String>>` closure is one:
///
/// ```
/// use std::time::Duration;
/// use perfkit::{HealthCheckOptions, PerformanceService};
///
/// let service = PerformanceService::builder()
///     .health_indicator("upstream", HealthCheckOptions::critical(Duration::from_secs(2)), || async {
///         Ok::<_, String>("answered 200".to_owned()) // e.g. GET https://upstream/health
///     })
///     .build()?;
/// # Ok::<(), perfkit::PerfkitError>(())
/// ```
#[async_trait]
pub trait HealthIndicator: Send + Sync {
    /// Checks once: `Ok(detail)` when up, `Err(why)` when down. The service bounds it by the
    /// indicator's timeout and catches a panic, which reads as down.
    async fn check(&self) -> Result<String, String>;
}

#[async_trait]
impl<F, Fut> HealthIndicator for F
where
    F: Fn() -> Fut + Send + Sync,
    Fut: Future<Output = Result<String, String>> + Send,
{
    async fn check(&self) -> Result<String, String> {
        (self)().await
    }
}

/// How an indicator is judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HealthCheckOptions {
    /// Longest a check may take; past it, it reads as down.
    pub timeout: Duration,
    /// Down makes the service unhealthy and not ready; a non-critical one only degrades it.
    pub critical: bool,
}

impl HealthCheckOptions {
    /// A critical check with `timeout`.
    #[must_use]
    pub fn critical(timeout: Duration) -> Self {
        HealthCheckOptions { timeout, critical: true }
    }

    /// A non-critical check with `timeout`.
    #[must_use]
    pub fn non_critical(timeout: Duration) -> Self {
        HealthCheckOptions { timeout, critical: false }
    }
}

/// A registered indicator.
#[derive(Clone)]
pub(crate) struct Indicator {
    pub(crate) name: String,
    pub(crate) options: HealthCheckOptions,
    pub(crate) check: Arc<dyn HealthIndicator>,
}

/// The latest result of one indicator.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct IndicatorReading {
    /// Whether it was up.
    pub up: bool,
    /// What it answered, or why it was down.
    pub detail: String,
    /// When the check ended.
    pub checked_at: Timestamp,
    /// How long it took, in milliseconds.
    pub took_ms: u64,
}

/// Checks the registrations: names unique, 1 to 64 of `A-Za-z0-9_.-`, not a component's;
/// timeouts in (0, 60 s]; at most [`MAX_INDICATORS`].
pub(crate) fn validate(indicators: &[Indicator]) -> Result<(), PerfkitError> {
    let mut problems = Vec::new();
    if indicators.len() > MAX_INDICATORS {
        problems
            .push(format!("at most {MAX_INDICATORS} health indicators, got {}", indicators.len()));
    }
    for (index, indicator) in indicators.iter().enumerate() {
        let name = &indicator.name;
        let valid = !name.is_empty()
            && name.len() <= 64
            && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if !valid {
            problems.push(format!(
                "health indicator name {name:?} must be 1 to 64 of A-Z a-z 0-9 - _ ."
            ));
        } else if RESERVED.contains(&name.as_str()) {
            problems.push(format!("health indicator name {name:?} is a component's own"));
        } else if indicators[..index].iter().any(|other| other.name == *name) {
            problems.push(format!("health indicator name {name:?} is registered twice"));
        }
        let timeout = indicator.options.timeout;
        if timeout.is_zero() || timeout > MAX_TIMEOUT {
            problems.push(format!("health indicator {name:?}: timeout must be in (0s, 60s]"));
        }
    }
    if problems.is_empty() { Ok(()) } else { Err(PerfkitError::InvalidConfig(problems)) }
}

/// Runs every indicator at once, each bounded by its timeout; a panic reads as down.
pub(crate) async fn check_all(
    indicators: &[Indicator],
    clock: &dyn Clock,
) -> Vec<Option<IndicatorReading>> {
    let checks = indicators.iter().map(|indicator| async move {
        let started = clock.now();
        let guarded = AssertUnwindSafe(indicator.check.check()).catch_unwind();
        let outcome = match tokio::time::timeout(indicator.options.timeout, guarded).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(_)) => Err("the check panicked".to_owned()),
            Err(_) => Err(format!(
                "no answer within {} ms",
                indicator.options.timeout.as_millis()
            )),
        };
        let checked_at = clock.now();
        let (up, mut detail) = match outcome {
            Ok(detail) => (true, detail),
            Err(why) => (false, why),
        };
        if detail.len() > MAX_DETAIL_LEN {
            let mut end = MAX_DETAIL_LEN;
            while !detail.is_char_boundary(end) {
                end -= 1;
            }
            detail.truncate(end);
        }
        if !up {
            tracing::warn!(indicator = %indicator.name, critical = indicator.options.critical, %detail, "health check down");
        }
        let took_ms = u64::try_from(checked_at.duration_since(started).as_millis()).unwrap_or(u64::MAX);
        Some(IndicatorReading { up, detail, checked_at, took_ms })
    });
    futures::future::join_all(checks).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn boom() -> Result<String, String> {
        panic!("boom")
    }

    fn indicator(name: &str, check: Arc<dyn HealthIndicator>, timeout_ms: u64) -> Indicator {
        Indicator {
            name: name.to_owned(),
            options: HealthCheckOptions::critical(Duration::from_millis(timeout_ms)),
            check,
        }
    }

    #[test]
    fn refuses_bad_and_duplicate_names_and_timeouts() {
        let up: Arc<dyn HealthIndicator> = Arc::new(|| async { Ok::<_, String>(String::new()) });
        let list = [
            indicator("db", Arc::clone(&up), 100),
            indicator("db", Arc::clone(&up), 100),
            indicator("cache", Arc::clone(&up), 100),
            indicator("a b", Arc::clone(&up), 100),
            indicator("slow", up, 0),
        ];
        let Err(PerfkitError::InvalidConfig(problems)) = validate(&list) else { panic!() };
        assert_eq!(problems.len(), 4, "{problems:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn up_down_timeout_and_panic_each_read_as_they_should() {
        let clock = crate::TokioClock::default();
        let list = [
            indicator("up", Arc::new(|| async { Ok::<_, String>("pong".to_owned()) }), 100),
            indicator("down", Arc::new(|| async { Err::<String, _>("refused".to_owned()) }), 100),
            indicator(
                "hangs",
                Arc::new(|| async {
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                    Ok::<_, String>(String::new())
                }),
                250,
            ),
            indicator("panics", Arc::new(|| async { boom() }), 100),
        ];
        let readings: Vec<_> = check_all(&list, &clock).await.into_iter().flatten().collect();
        let summary: Vec<_> = readings.iter().map(|r| (r.up, r.detail.as_str())).collect();
        assert_eq!(
            summary,
            [
                (true, "pong"),
                (false, "refused"),
                (false, "no answer within 250 ms"),
                (false, "the check panicked")
            ]
        );
        assert_eq!(readings[2].took_ms, 250);
    }
}
