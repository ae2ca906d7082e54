//! SLO burn-rate rules on synthetic error series, with the SRE workbook's numbers: a 99.9 %
//! SLO (0.1 % error budget), paging at 14.4x over 1 h and 5 min, and at 6x over 6 h and 30 min;
//! and on a business success/failure pair (checkouts that succeeded and failed).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use perfkit_alerting::{
    AlertEngine, AlertEventKind, AlertRule, BurnRateCondition, BurnWindow, Condition, EngineConfig,
    OutcomePair, RuleSet,
};
use perfkit_core::{BusinessSeries, ManualClock, MetricsSnapshot, SeriesKind, Severity, Timestamp};
use support::START;

const STEP: Duration = Duration::from_secs(30);
const REQUESTS_PER_STEP: f64 = 1000.0;

fn burn_rule(min_requests: u64) -> AlertRule {
    AlertRule {
        name: "error_budget_burn".to_owned(),
        severity: Severity::Critical,
        condition: Condition::BurnRate(BurnRateCondition {
            min_requests,
            ..BurnRateCondition::paging(0.999)
        }),
        for_duration: Duration::ZERO,
        keep_firing_for: Duration::ZERO,
        labels: Default::default(),
        annotations: [("summary".to_owned(), "burning the error budget {{ value }}x".to_owned())]
            .into(),
    }
}

/// Feeds snapshots every 30 s; returns the fired and resolved times, relative to `START`.
struct Feed {
    engine: AlertEngine,
    /// The engine's clock, kept at `now`.
    clock: Arc<ManualClock>,
    now: Timestamp,
    fired: Vec<Duration>,
    resolved: Vec<Duration>,
}

impl Feed {
    fn new(min_requests: u64) -> Self {
        let rules = RuleSet { rules: vec![burn_rule(min_requests)] };
        let clock = Arc::new(ManualClock::new(START));
        Feed {
            engine: AlertEngine::new(rules, EngineConfig::default(), clock.clone()).unwrap(),
            clock,
            now: START,
            fired: Vec::new(),
            resolved: Vec::new(),
        }
    }

    fn run(&mut self, duration: Duration, requests: f64, error_ratio: f64) {
        for _ in 0..(duration.as_secs() / STEP.as_secs()) {
            self.now = self.now + STEP;
            self.clock.set(self.now);
            let mut snapshot = MetricsSnapshot::empty(self.now);
            snapshot.request_count = Some(requests);
            snapshot.error_rate = Some(error_ratio);
            for event in self.engine.evaluate(&snapshot) {
                let elapsed = self.now.duration_since(START);
                match event.kind {
                    AlertEventKind::Fired => self.fired.push(elapsed),
                    AlertEventKind::Resolved => self.resolved.push(elapsed),
                    _ => {}
                }
            }
        }
    }
}

fn hours(h: u64) -> Duration {
    Duration::from_secs(h * 3600)
}

fn minutes(m: u64) -> Duration {
    Duration::from_secs(m * 60)
}

#[test]
fn a_one_x_burn_never_pages() {
    let mut feed = Feed::new(100);
    // Spending the budget exactly as fast as the SLO allows, for longer than every window.
    feed.run(hours(7), REQUESTS_PER_STEP, 0.001);
    assert!(feed.fired.is_empty(), "{:?}", feed.fired);
}

#[test]
fn a_full_outage_pages_within_the_workbooks_detection_time() {
    let mut feed = Feed::new(100);
    feed.run(hours(6), REQUESTS_PER_STEP, 0.001);
    feed.run(minutes(5), REQUESTS_PER_STEP, 1.0);
    // Workbook: 100 % errors against a 14.4x / 1 h alert are detected in 0.864 min.
    let fired = feed.fired.first().copied().expect("an outage pages");
    let after = fired - hours(6);
    // 52 s, rounded up to the next 30 s evaluation.
    assert!(after <= Duration::from_secs(60), "fired {after:?} into the outage");
}

#[test]
fn a_fifteen_x_burn_pages_through_the_one_hour_pair_when_the_long_window_crosses() {
    let mut feed = Feed::new(100);
    feed.run(hours(6), REQUESTS_PER_STEP, 0.0);
    // 1.5 % errors is a 15x burn: the 1 h ratio passes 14.4x after 14.4/15 h = 57.6 min.
    feed.run(minutes(70), REQUESTS_PER_STEP, 0.015);
    let fired = feed.fired.first().copied().expect("a 15x burn pages") - hours(6);
    assert!(fired > minutes(57) && fired <= minutes(58), "{fired:?}");
    let alert = &feed.engine.active_alerts()[0];
    assert!(alert.value.unwrap() > 14.4);
    assert_eq!(alert.labels["metric"], "errorRate");
}

#[test]
fn a_burst_that_stopped_resolves_within_the_five_minute_window() {
    let mut feed = Feed::new(100);
    // The 1 h / 5 min pair alone: the 6 h / 30 min pair would (rightly) keep paging for the
    // 30 minutes of its own short window.
    let mut rule = burn_rule(100);
    if let Condition::BurnRate(c) = &mut rule.condition {
        c.windows.truncate(1);
    }
    feed.engine.replace_rules(RuleSet { rules: vec![rule] }).unwrap();
    feed.run(hours(6), REQUESTS_PER_STEP, 0.0);
    feed.run(minutes(10), REQUESTS_PER_STEP, 1.0);
    assert_eq!(feed.fired.len(), 1);
    feed.run(minutes(10), REQUESTS_PER_STEP, 0.0);
    // The 1 h window is still far past 14.4x, but the 5 min window has cleared: the short
    // window is what makes the alert reset quickly.
    let resolved =
        feed.resolved.first().copied().expect("resolves after the burst") - hours(6) - minutes(10);
    assert!(resolved <= minutes(5), "{resolved:?}");
}

#[test]
fn a_seven_x_burn_pages_only_through_the_six_hour_pair() {
    let mut feed = Feed::new(100);
    feed.run(hours(6), REQUESTS_PER_STEP, 0.0);
    feed.run(hours(4), REQUESTS_PER_STEP, 0.007);
    assert!(feed.fired.is_empty(), "7x never reaches 14.4x, and 6 h at 7x takes 5.1 h to pass 6x");
    feed.run(hours(2), REQUESTS_PER_STEP, 0.007);
    // 6 h ratio passes 6x after 6/7 x 6 h = 5 h 8.6 min.
    let fired = feed.fired.first().copied().expect("6x pair pages") - hours(6);
    assert!(fired > minutes(308) && fired <= minutes(309), "{fired:?}");
}

#[test]
fn a_quiet_service_does_not_page_on_one_error() {
    for (min_requests, pages) in [(100, false), (0, true)] {
        let mut feed = Feed::new(min_requests);
        feed.run(hours(1), 0.0, 0.0);
        feed.run(STEP, 1.0, 1.0); // one request, failed
        feed.run(minutes(2), 0.0, 0.0);
        assert_eq!(!feed.fired.is_empty(), pages, "min_requests {min_requests}");
    }
}

#[test]
fn snapshots_without_request_counts_mean_no_data() {
    let mut feed = Feed::new(100);
    feed.run(minutes(1), REQUESTS_PER_STEP, 0.0);
    let mut empty = MetricsSnapshot::empty(feed.now);
    let mut kinds = Vec::new();
    for _ in 0..2 {
        feed.now = feed.now + STEP;
        empty.timestamp = feed.now;
        kinds.extend(feed.engine.evaluate(&empty).into_iter().map(|e| e.kind));
    }
    assert_eq!(kinds, [AlertEventKind::NoData]);
}

/// A 99 % SLO on checkouts (`checkouts_ok` / `checkouts_failed` counters), one pair: 10x over
/// 10 min and 1 min.
fn checkout_rule(min_requests: u64) -> AlertRule {
    let condition = BurnRateCondition {
        slo: 0.99,
        windows: vec![BurnWindow { long: minutes(10), short: minutes(1), factor: 10.0 }],
        min_requests,
        outcomes: None,
    }
    .with_outcomes(OutcomePair::new("checkouts_ok", "checkouts_failed"));
    AlertRule {
        name: "checkout_budget_burn".to_owned(),
        condition: Condition::BurnRate(condition),
        ..burn_rule(min_requests)
    }
}

fn checkout_counter(name: &str, increase: f64) -> BusinessSeries {
    BusinessSeries {
        name: name.to_owned(),
        labels: Default::default(),
        kind: SeriesKind::Counter,
        value: increase,
        increase: Some(increase),
        rate_per_second: Some(increase / STEP.as_secs_f64()),
        sum: None,
        p50: None,
        p95: None,
        p99: None,
    }
}

impl Feed {
    /// Runs `duration` of snapshots carrying only the checkout counters (no request counts):
    /// `ok` and `failed` each interval, `None` for a counter not registered yet.
    fn run_checkouts(&mut self, duration: Duration, ok: Option<f64>, failed: Option<f64>) {
        for _ in 0..(duration.as_secs() / STEP.as_secs()) {
            self.now = self.now + STEP;
            self.clock.set(self.now);
            let mut snapshot = MetricsSnapshot::empty(self.now);
            snapshot.business.extend(ok.map(|n| checkout_counter("checkouts_ok", n)));
            snapshot.business.extend(failed.map(|n| checkout_counter("checkouts_failed", n)));
            for event in self.engine.evaluate(&snapshot) {
                let elapsed = self.now.duration_since(START);
                match event.kind {
                    AlertEventKind::Fired => self.fired.push(elapsed),
                    AlertEventKind::Resolved => self.resolved.push(elapsed),
                    _ => {}
                }
            }
        }
    }

    fn on_checkouts(min_requests: u64) -> Self {
        let feed = Feed::new(min_requests);
        feed.engine.replace_rules(RuleSet { rules: vec![checkout_rule(min_requests)] }).unwrap();
        feed
    }
}

#[test]
fn failed_checkouts_burn_the_budget_and_page_then_resolve() {
    let mut feed = Feed::on_checkouts(100);
    // No failure yet, so its counter is not registered: that is zero errors, not no data.
    feed.run_checkouts(minutes(10), Some(100.0), None);
    assert!(feed.fired.is_empty());
    assert_eq!(feed.engine.rule_statuses()[0].value, Some(0.0));
    // 30 % failed is a 30x burn: the 10 min ratio (1.5 points a step) passes 10x at the 7th.
    feed.run_checkouts(minutes(5), Some(70.0), Some(30.0));
    assert_eq!(feed.fired, [minutes(10) + STEP * 7]);
    let alert = &feed.engine.active_alerts()[0];
    assert_eq!(alert.labels["metric"], "checkouts_failed/(checkouts_ok+checkouts_failed)");
    assert!(alert.value.unwrap() > 10.0, "{alert:?}");
    // Failures stop: the 1 min window clears within two steps, and the alert resolves.
    feed.run_checkouts(minutes(2), Some(100.0), Some(0.0));
    assert_eq!(feed.resolved, [minutes(15) + STEP * 2]);
}

#[test]
fn min_requests_counts_good_and_bad_events() {
    // One good and one bad checkout a step: 50 % failed, 40 events in the 10 min window.
    for (min_requests, pages) in [(100, false), (30, true)] {
        let mut feed = Feed::on_checkouts(min_requests);
        feed.run_checkouts(minutes(10), Some(1.0), Some(1.0));
        assert_eq!(!feed.fired.is_empty(), pages, "min_requests {min_requests}");
    }
}

#[test]
fn without_either_checkout_series_there_is_no_data() {
    let mut feed = Feed::on_checkouts(100);
    let mut kinds = Vec::new();
    for _ in 0..3 {
        feed.now = feed.now + STEP;
        let mut snapshot = MetricsSnapshot::empty(feed.now);
        // Request counts are there, but this rule does not read them.
        snapshot.request_count = Some(REQUESTS_PER_STEP);
        snapshot.error_rate = Some(1.0);
        kinds.extend(feed.engine.evaluate(&snapshot).into_iter().map(|e| e.kind));
    }
    assert_eq!(kinds, [AlertEventKind::NoData]);
}
