//! The soak's record as markdown: the samples (thinned to a readable number; the chart has
//! them all), the verdicts and the work done.

use std::fmt::Write as _;

use super::activity::Counts;
use super::sample::{Phase, Sample};
use super::verdict::{GROWTH_LIMIT, Verdict};

/// The most sample rows a table shows; every sample outside the load is always shown.
const MAX_ROWS: usize = 40;

/// The samples, the verdicts and what the run did.
pub(crate) fn table(samples: &[Sample], verdicts: &[Verdict], counts: &Counts) -> String {
    let mut text = String::from(
        "| at | phase | RSS | open descriptors | tokio tasks |\n|---|---|---|---|---|\n",
    );
    for sample in shown(samples) {
        let _ = writeln!(
            text,
            "| {} s | {} | {:.1} MiB | {} | {} |",
            sample.at.as_secs(),
            sample.phase.name(),
            sample.rss_kib as f64 / 1024.0,
            sample.open_fds,
            sample.tasks
        );
    }
    let _ = write!(
        text,
        "\n| series and check | growth | under {:.0} % |\n|---|---|---|\n",
        GROWTH_LIMIT * 100.0
    );
    for verdict in verdicts {
        let said = if verdict.passed() { "yes" } else { "NO" };
        let _ = writeln!(text, "| {verdict} | {:+.1} % | {said} |", verdict.ratio * 100.0);
    }
    let _ = write!(text, "\nWork done: {counts}.");
    text
}

/// Every quiet and start sample, the first and last loaded and warm-up ones, and loaded
/// samples evenly spaced in between, at most [`MAX_ROWS`] in all.
fn shown(samples: &[Sample]) -> impl Iterator<Item = &Sample> {
    let loaded = samples.iter().filter(|s| s.phase == Phase::Loaded).count();
    let step = loaded.div_ceil(MAX_ROWS.saturating_sub(10).max(1)).max(1);
    let mut loaded_index = 0;
    samples
        .iter()
        .enumerate()
        .filter(move |(index, sample)| {
            let next_phase = samples.get(index + 1).map(|s| s.phase);
            let edge = *index == 0
                || samples[index - 1].phase != sample.phase
                || next_phase != Some(sample.phase);
            match sample.phase {
                Phase::Loaded => {
                    let keep = edge || loaded_index % step == 0;
                    loaded_index += 1;
                    keep
                }
                Phase::WarmUp => edge,
                Phase::Start | Phase::QuietBaseline | Phase::QuietAfter => true,
            }
        })
        .map(|(_, sample)| sample)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::soak::verdict::verdicts;

    fn sample(seconds: u64, phase: Phase) -> Sample {
        Sample {
            at: Duration::from_secs(seconds),
            phase,
            rss_kib: 40 * 1024,
            open_fds: 80,
            tasks: 70,
        }
    }

    #[test]
    fn an_hour_of_samples_fits_one_screen_with_every_quiet_sample() {
        let mut samples = vec![sample(0, Phase::Start)];
        samples.extend((1..72).map(|i| sample(i * 10, Phase::WarmUp)));
        samples.push(sample(725, Phase::QuietBaseline));
        samples.extend((73..360).map(|i| sample(i * 10, Phase::Loaded)));
        samples.push(sample(3605, Phase::QuietAfter));
        let rows: Vec<&Sample> = shown(&samples).collect();
        assert!(rows.len() <= MAX_ROWS, "{} rows", rows.len());
        for phase in [Phase::Start, Phase::QuietBaseline, Phase::QuietAfter] {
            assert!(rows.iter().any(|s| s.phase == phase), "{phase:?}");
        }
        assert_eq!(rows.iter().find(|s| s.phase == Phase::Loaded).unwrap().at.as_secs(), 730);
        assert_eq!(
            rows.iter().rev().find(|s| s.phase == Phase::Loaded).unwrap().at.as_secs(),
            3590
        );
        let table = table(&samples, &verdicts(&samples).unwrap(), &Counts::default());
        assert!(table.contains("| 725 s | quiet (baseline) | 40.0 MiB | 80 | 70 |"), "{table}");
        assert!(
            table.contains("| open descriptors under load: 80.0 → 80.0 (+0.0 %) | +0.0 % | yes |"),
            "{table}"
        );
    }
}
