//! The SLO burn-rate condition (SRE workbook, multiwindow multi-burn-rate): it holds only when the
//! long and the short window of a pair both burn the error budget faster than the pair's factor.
//! The errors are the failed requests, or the bad events of a business success/failure pair.

use std::time::Duration;

use perfkit_core::{MetricsSnapshot, Timestamp};
use serde::{Deserialize, Serialize};

use crate::error_ledger::{ErrorLedger, MAX_WINDOW};
use crate::outcomes::OutcomePair;
use crate::rule::Verdict;
use crate::series_kinds::SeriesKinds;

/// An SLO error budget burning too fast (Google SRE workbook, multiwindow multi-burn-rate).
///
/// The burn rate over a window is the error ratio over that window divided by the error budget
/// `1 - slo`. The condition holds when, for any of the window pairs, the burn rate exceeds the
/// pair's factor over **both** the long and the short window: the long window proves the burn
/// is significant, the short one that it is still going on.
///
/// The error ratio is the requests' (failed / all) by default; with `outcomes` it is a
/// business pair's bad / (good + bad), from the increases of two series emitted through the
/// `metrics` facade (`checkouts_ok`, `checkouts_failed`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(remote = "Self", rename_all = "camelCase")]
pub struct BurnRateCondition {
    /// The availability objective, e.g. `0.999`.
    pub slo: f64,
    /// Window pairs; the workbook's paging pairs by default.
    #[serde(default = "BurnWindow::paging_defaults")]
    pub windows: Vec<BurnWindow>,
    /// Fewest requests (with `outcomes`, good + bad events) in the long window for the pair to
    /// count: a quiet service must not page on one failed request.
    #[serde(default = "default_min_requests")]
    pub min_requests: u64,
    /// The business success/failure pair the errors are counted from, instead of the requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcomes: Option<OutcomePair>,
}

perfkit_core::maps_only!(BurnRateCondition);

fn default_min_requests() -> u64 {
    100
}

/// One long/short window pair and the burn rate both must exceed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(remote = "Self", rename_all = "camelCase")]
pub struct BurnWindow {
    /// The long window (at most 6 h).
    #[serde(with = "perfkit_core::duration")]
    #[cfg_attr(feature = "openapi", schema(value_type = perfkit_core::duration::schema::Any))]
    pub long: Duration,
    /// The short window; the workbook uses a twelfth of the long one.
    #[serde(with = "perfkit_core::duration")]
    #[cfg_attr(feature = "openapi", schema(value_type = perfkit_core::duration::schema::Any))]
    pub short: Duration,
    /// The burn rate both windows must exceed.
    pub factor: f64,
}

perfkit_core::maps_only!(BurnWindow);

impl BurnWindow {
    /// The workbook's paging pairs: 14.4x over 1 h and 5 min (2 % of a 30-day budget in an
    /// hour), and 6x over 6 h and 30 min (5 % in six hours).
    #[must_use]
    pub fn paging_defaults() -> Vec<BurnWindow> {
        vec![
            BurnWindow {
                long: Duration::from_secs(3600),
                short: Duration::from_secs(300),
                factor: 14.4,
            },
            BurnWindow {
                long: Duration::from_secs(6 * 3600),
                short: Duration::from_secs(1800),
                factor: 6.0,
            },
        ]
    }
}

impl BurnRateCondition {
    /// A condition on `slo` with the workbook's paging windows and a 100-request minimum.
    #[must_use]
    pub fn paging(slo: f64) -> Self {
        BurnRateCondition {
            slo,
            windows: BurnWindow::paging_defaults(),
            min_requests: default_min_requests(),
            outcomes: None,
        }
    }

    /// The same condition counting errors from a business pair instead of the requests.
    #[must_use]
    pub fn with_outcomes(self, outcomes: OutcomePair) -> Self {
        BurnRateCondition { outcomes: Some(outcomes), ..self }
    }

    /// The burn rate over `window` ending at `now`, `None` without requests in it.
    fn burn_rate(
        &self,
        ledger: &ErrorLedger,
        now: Timestamp,
        window: Duration,
    ) -> (f64, Option<f64>) {
        let totals = ledger.totals(now, window);
        (totals.requests, totals.error_ratio().map(|ratio| ratio / (1.0 - self.slo)))
    }

    /// Judges the windows ending at the snapshot's time. `requests` is the engine's ledger of
    /// requests; a rule on outcomes keeps its own in `outcomes`, recorded here.
    pub(crate) fn evaluate(
        &self,
        snapshot: &MetricsSnapshot,
        requests: &ErrorLedger,
        outcomes: &mut Option<ErrorLedger>,
    ) -> Verdict {
        let ledger = match &self.outcomes {
            None if snapshot.get(perfkit_core::Metric::RequestCount).is_none() => {
                return Verdict::Missing;
            }
            None => requests,
            Some(pair) => {
                let ledger = outcomes.get_or_insert_with(ErrorLedger::default);
                let Some((events, errors)) = pair.read(&snapshot.business) else {
                    return Verdict::Missing;
                };
                ledger.record(snapshot.timestamp, events, errors);
                ledger
            }
        };
        self.judge(ledger, snapshot.timestamp)
    }

    fn judge(&self, ledger: &ErrorLedger, now: Timestamp) -> Verdict {
        let mut headline = None;
        for window in &self.windows {
            let (requests, long_burn) = self.burn_rate(ledger, now, window.long);
            let (_, short_burn) = self.burn_rate(ledger, now, window.short);
            headline = headline.or(long_burn);
            #[allow(clippy::cast_precision_loss)] // request minimums are far below 2^52
            let enough = requests >= self.min_requests as f64;
            if let (true, Some(long), Some(short)) = (enough, long_burn, short_burn)
                && long > window.factor
                && short > window.factor
            {
                return Verdict::Breach(long);
            }
        }
        Verdict::Clear(headline)
    }

    pub(crate) fn problems(&self) -> Vec<(&'static str, String)> {
        let mut problems = Vec::new();
        if !(self.slo > 0.0 && self.slo < 1.0) {
            problems.push((
                "slo",
                format!("slo {} must be strictly between 0 and 1 (e.g. 0.999)", self.slo),
            ));
        }
        if self.windows.is_empty() {
            problems.push(("windows", "at least one window pair is needed".to_owned()));
        }
        if self.windows.len() > 4 {
            problems.push((
                "windows",
                format!("{} window pairs given, at most 4 are allowed", self.windows.len()),
            ));
        }
        for (i, w) in self.windows.iter().enumerate() {
            if !(w.factor.is_finite() && w.factor > 0.0) {
                problems.push((
                    "windows",
                    format!("pair {i}: factor {} must be a positive number", w.factor),
                ));
            }
            if w.short.is_zero() || w.short >= w.long {
                problems.push((
                    "windows",
                    format!(
                        "pair {i}: short window must be non-zero and shorter than the long window"
                    ),
                ));
            }
            if w.long > MAX_WINDOW {
                problems.push((
                    "windows",
                    format!(
                        "pair {i}: long window {} exceeds the 6h the engine keeps",
                        humantime::format_duration(w.long)
                    ),
                ));
            }
        }
        if let Some(outcomes) = &self.outcomes {
            problems.extend(outcomes.problems());
        }
        problems
    }

    pub(crate) fn kind_problems(&self, kinds: &SeriesKinds) -> Vec<(&'static str, String)> {
        self.outcomes.as_ref().map(|o| o.kind_problems(kinds)).unwrap_or_default()
    }
}
