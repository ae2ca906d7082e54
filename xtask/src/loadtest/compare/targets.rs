//! What `--compare` loads: each target's row name, its key for `--only`, where it is served,
//! the path and script it is loaded with, the row it is measured against, and the issue's
//! target for it.

use anyhow::{Result, bail};

/// Where a target's answer comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    /// A `perfkit-loadtest-targets` app, by its subcommand.
    App(&'static str),
    /// The same app exporting traces to the run's sink.
    TracedApp(&'static str),
    /// `perfkit-loadtest-targets pages=BYTES`, BYTES being the demo's mean page.
    Pages,
    /// The release perfkit-server, no demo.
    Server,
    /// The release perfkit-server's demo on its memory cache.
    DemoMemory,
    /// The same on a private Redis, the near cache on (its default there).
    DemoRedisNear,
}

/// The wrk script a target is loaded with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Script {
    /// wrk's own request for the path, every time.
    Fixed,
    /// The demo's pages and users by Zipf rank.
    DemoPages,
}

/// What a target must reach, as a ratio to its baseline.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Goal {
    /// Server CPU per completed request at most this many times the baseline's.
    CpuAtMost(f64),
    /// Throughput at least this many times the baseline's.
    ThroughputAtLeast(f64),
}

/// One compared target.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Target {
    pub(crate) name: &'static str,
    pub(crate) key: &'static str,
    pub(crate) source: Source,
    pub(crate) path: &'static str,
    pub(crate) script: Script,
    /// The key of the target its ratios are to: the same work done by plain axum.
    pub(crate) baseline: &'static str,
    pub(crate) goal: Option<Goal>,
}

/// The baseline of every cheap answer: plain axum's 16-byte JSON handler.
const PLAIN: &str = "plain";
/// The baseline of the demo: plain axum serving pages of its size from a map.
const PAGES: &str = "pages";

/// What is compared, each baseline before the rows measured against it.
pub(crate) const TARGETS: [Target; 9] = [
    Target {
        name: "plain axum JSON handler (16 bytes)",
        key: PLAIN,
        source: Source::App("plain"),
        path: "/api/hello",
        script: Script::Fixed,
        baseline: PLAIN,
        goal: None,
    },
    Target {
        name: "plain axum on the demo's routes, pages of its mean size from a map",
        key: PAGES,
        source: Source::Pages,
        path: "/api/posts",
        script: Script::DemoPages,
        baseline: PLAIN,
        goal: None,
    },
    Target {
        name: "+ perfkit router and RequestMetricsLayer",
        key: "perfkit",
        source: Source::App("perfkit"),
        path: "/api/hello",
        script: Script::Fixed,
        baseline: PLAIN,
        goal: Some(Goal::CpuAtMost(1.05)),
    },
    Target {
        name: "+ perfkit router and RequestMetricsLayer, traced at 1 % (OTLP/HTTP to a local sink)",
        key: "perfkit-traced",
        source: Source::TracedApp("perfkit-traced"),
        path: "/api/hello",
        script: Script::Fixed,
        baseline: PLAIN,
        goal: Some(Goal::ThroughputAtLeast(0.9)),
    },
    Target {
        name: "+ axum-prometheus layer",
        key: "axum-prometheus",
        source: Source::App("axum-prometheus"),
        path: "/api/hello",
        script: Script::Fixed,
        baseline: PLAIN,
        goal: None,
    },
    Target {
        name: "perfkit-server /api/performance/health/live",
        key: "server-live",
        source: Source::Server,
        path: "/api/performance/health/live",
        script: Script::Fixed,
        baseline: PLAIN,
        goal: Some(Goal::CpuAtMost(1.15)),
    },
    Target {
        name: "perfkit-server /api/performance/summary",
        key: "server-summary",
        source: Source::Server,
        path: "/api/performance/summary",
        script: Script::Fixed,
        baseline: PLAIN,
        goal: Some(Goal::CpuAtMost(1.15)),
    },
    Target {
        name: "perfkit-server --demo, memory cache",
        key: "demo-memory",
        source: Source::DemoMemory,
        path: "/api/posts",
        script: Script::DemoPages,
        baseline: PAGES,
        goal: Some(Goal::CpuAtMost(1.15)),
    },
    Target {
        name: "perfkit-server --demo, Redis with the near cache",
        key: "demo-redis-near",
        source: Source::DemoRedisNear,
        path: "/api/posts",
        script: Script::DemoPages,
        baseline: PAGES,
        goal: Some(Goal::CpuAtMost(1.15)),
    },
];

/// The targets `only` names (their keys) with the baselines they are measured against, in
/// [`TARGETS`]' order; every one when `only` is empty.
pub(crate) fn chosen(only: &[String]) -> Result<Vec<Target>> {
    if let Some(unknown) = only.iter().find(|key| !TARGETS.iter().any(|t| t.key == key.as_str())) {
        let keys: Vec<&str> = TARGETS.iter().map(|t| t.key).collect();
        bail!("--only: unknown target {unknown:?}; the targets: {}", keys.join(", "));
    }
    let named = |key: &str| only.is_empty() || only.iter().any(|named| named == key);
    let wanted: Vec<&Target> = TARGETS.iter().filter(|t| named(t.key)).collect();
    // A baseline's own baseline is plain, so two steps reach every row's.
    let needed = |key: &str| {
        key == PLAIN
            || wanted.iter().any(|t| t.key == key || t.baseline == key)
            || wanted
                .iter()
                .any(|t| TARGETS.iter().any(|b| b.key == t.baseline && b.baseline == key))
    };
    Ok(TARGETS.iter().filter(|t| needed(t.key)).copied().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(only: &[&str]) -> Vec<&'static str> {
        let only: Vec<String> = only.iter().map(|k| (*k).to_owned()).collect();
        chosen(&only).unwrap().iter().map(|t| t.key).collect()
    }

    #[test]
    fn only_keeps_the_targets_named_and_their_baselines() {
        assert_eq!(keys(&["perfkit-traced"]), ["plain", "perfkit-traced"]);
        assert_eq!(keys(&["demo-memory"]), ["plain", "pages", "demo-memory"]);
        assert_eq!(keys(&["pages"]), ["plain", "pages"]);
        assert_eq!(keys(&[]).len(), TARGETS.len());
        assert!(chosen(&["perfkit-melted".to_owned()]).is_err());
    }

    #[test]
    fn every_baseline_is_a_target_listed_before_the_rows_measured_against_it() {
        for (at, target) in TARGETS.iter().enumerate() {
            let baseline = TARGETS.iter().position(|t| t.key == target.baseline);
            assert!(baseline.is_some_and(|b| b <= at), "{}", target.key);
        }
    }
}
