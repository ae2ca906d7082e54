//! Whether the server grew: the first loaded sample after the warm-up against the last
//! loaded one (a leak under load shows here), and the quiet sample after the load against
//! the quiet baseline taken after the warm-up (what the load left behind shows here).

use std::fmt;

use anyhow::{Result, bail};

use super::sample::{Phase, Sample};

/// The largest growth that passes, in either comparison.
pub(crate) const GROWTH_LIMIT: f64 = 0.05;

/// Which two samples a verdict compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Check {
    /// First loaded sample → last loaded sample.
    UnderLoad,
    /// Quiet baseline → quiet after.
    BackToBaseline,
}

/// One series' growth between the two samples of a check.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Verdict {
    pub(crate) check: Check,
    pub(crate) series: &'static str,
    pub(crate) from: f64,
    pub(crate) to: f64,
    /// `(to - from) / from`.
    pub(crate) ratio: f64,
}

impl Verdict {
    pub(crate) fn passed(&self) -> bool {
        self.ratio <= GROWTH_LIMIT
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let check = match self.check {
            Check::UnderLoad => "under load",
            Check::BackToBaseline => "quiet after vs baseline",
        };
        write!(
            f,
            "{} {check}: {:.1} → {:.1} ({:+.1} %)",
            self.series,
            self.from,
            self.to,
            self.ratio * 100.0
        )
    }
}

/// Both checks for every series. An error when a phase has no sample: a soak that could
/// not compare must not pass.
pub(crate) fn verdicts(samples: &[Sample]) -> Result<Vec<Verdict>> {
    let in_phase = |phase: Phase| samples.iter().filter(move |s| s.phase == phase);
    let (Some(first_loaded), Some(last_loaded)) =
        (in_phase(Phase::Loaded).next(), in_phase(Phase::Loaded).next_back())
    else {
        bail!("no sample was taken under load after the warm-up");
    };
    if std::ptr::eq(first_loaded, last_loaded) {
        bail!("only one sample was taken under load after the warm-up: nothing to compare");
    }
    let (Some(baseline), Some(after)) =
        (in_phase(Phase::QuietBaseline).next_back(), in_phase(Phase::QuietAfter).next_back())
    else {
        bail!("the quiet baseline or the quiet sample after the load is missing");
    };
    let mut verdicts = compare(Check::UnderLoad, first_loaded, last_loaded);
    verdicts.extend(compare(Check::BackToBaseline, baseline, after));
    Ok(verdicts)
}

fn compare(check: Check, from: &Sample, to: &Sample) -> Vec<Verdict> {
    from.values()
        .iter()
        .zip(to.values())
        .map(|(&(series, from), (_, to))| Verdict {
            check,
            series,
            from,
            to,
            ratio: (to - from) / from.max(f64::MIN_POSITIVE),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn sample(seconds: u64, phase: Phase, rss_mib: u64, fds: u64, tasks: u64) -> Sample {
        Sample {
            at: Duration::from_secs(seconds),
            phase,
            rss_kib: rss_mib * 1024,
            open_fds: fds,
            tasks,
        }
    }

    /// The run docs/RELIABILITY.md recorded before this check existed: descriptors and
    /// tasks steady under load, lower once the load's connections closed.
    fn healthy() -> Vec<Sample> {
        vec![
            sample(0, Phase::Start, 24, 24, 27),
            sample(10, Phase::WarmUp, 62, 87, 77),
            sample(125, Phase::QuietBaseline, 66, 37, 27),
            sample(140, Phase::Loaded, 66, 87, 77),
            sample(590, Phase::Loaded, 67, 88, 77),
            sample(605, Phase::QuietAfter, 67, 37, 27),
        ]
    }

    #[test]
    fn a_steady_server_passes_both_checks() {
        let verdicts = verdicts(&healthy()).unwrap();
        assert_eq!(verdicts.len(), 6);
        assert!(verdicts.iter().all(Verdict::passed), "{verdicts:?}");
    }

    /// One descriptor kept per stream client (about one a second): the old check, last
    /// sample after the load against the first after warm-up, saw 87 → 37 and passed.
    #[test]
    fn a_descriptor_leak_fails_under_load_and_after() {
        let mut samples = healthy();
        samples[4].open_fds += 450;
        samples[5].open_fds += 460;
        let failed: Vec<(Check, &str)> = verdicts(&samples)
            .unwrap()
            .into_iter()
            .filter(|v| !v.passed())
            .map(|v| (v.check, v.series))
            .collect();
        assert_eq!(
            failed,
            [(Check::UnderLoad, "open descriptors"), (Check::BackToBaseline, "open descriptors")]
        );
    }

    #[test]
    fn tasks_left_behind_fail_back_to_baseline_alone() {
        let mut samples = healthy();
        samples[5].tasks = 40;
        let failed: Vec<String> = verdicts(&samples)
            .unwrap()
            .iter()
            .filter(|v| !v.passed())
            .map(Verdict::to_string)
            .collect();
        assert_eq!(failed, ["tokio tasks quiet after vs baseline: 27.0 → 40.0 (+48.1 %)"]);
    }

    #[test]
    fn a_soak_without_the_samples_to_compare_fails() {
        let samples = healthy();
        assert!(verdicts(&samples[..3]).is_err());
        let one_loaded: Vec<Sample> =
            samples.iter().filter(|s| s.at.as_secs() != 590).cloned().collect();
        assert!(verdicts(&one_loaded).is_err());
        assert!(verdicts(&samples[..5]).is_err());
    }
}
