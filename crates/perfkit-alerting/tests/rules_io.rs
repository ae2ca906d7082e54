//! Rule sets in JSON and TOML: round trips of every rule kind, invalid sets refused whole
//! with every problem listed, and the operations guide's example rules read as written.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use perfkit_alerting::{
    AlertRule, AlertingError, BurnRateCondition, Comparison, Condition, PredictiveCondition,
    RuleSet,
};
use perfkit_core::{Metric, Severity};

fn every_kind() -> RuleSet {
    let mut set = RuleSet::default();
    set.rules[0].keep_firing_for = Duration::from_secs(120);
    set.rules[0].labels.insert("team".to_owned(), "api".to_owned());
    set.rules.push(AlertRule {
        name: "error_budget_burn".to_owned(),
        severity: Severity::Critical,
        condition: Condition::BurnRate(BurnRateCondition::paging(0.999)),
        for_duration: Duration::ZERO,
        keep_firing_for: Duration::ZERO,
        labels: Default::default(),
        annotations: Default::default(),
    });
    set.rules.push(AlertRule {
        name: "memory_full_within_1h".to_owned(),
        severity: Severity::High,
        condition: Condition::Predictive(PredictiveCondition {
            watched: Metric::MemoryUsage.into(),
            comparison: Comparison::Above,
            threshold: Some(1.0),
            growth_factor: None,
            horizon: Duration::from_secs(3600),
            lookback: Duration::from_secs(1800),
            min_points: 10,
        }),
        for_duration: Duration::from_secs(300),
        keep_firing_for: Duration::ZERO,
        labels: Default::default(),
        annotations: [("summary".to_owned(), "memory predicted at {{ value }} in 1h".to_owned())]
            .into(),
    });
    set
}

#[test]
fn every_rule_kind_round_trips_through_json_and_toml() {
    let set = every_kind();
    let json = set.to_json().unwrap();
    assert_eq!(RuleSet::from_json(&json).unwrap(), set);
    let toml = set.to_toml().unwrap();
    assert_eq!(RuleSet::from_toml(&toml).unwrap(), set, "{toml}");
    assert!(json.contains(r#""kind": "burnRate""#) && json.contains(r#""for": "1m""#), "{json}");
}

#[test]
fn hand_written_toml_reads() {
    let set = RuleSet::from_toml(
        r#"
        [[rules]]
        name = "queue_doubling"
        severity = "medium"
        kind = "predictive"
        metric = "queueLength"
        comparison = "above"
        growthFactor = 2
        horizon = "10m"
        lookback = "15m"
        minPoints = 5

        [[rules]]
        name = "budget"
        severity = "critical"
        kind = "burnRate"
        slo = 0.995
        minRequests = 50
        [[rules.windows]]
        long = "1h"
        short = "5m"
        factor = 14.4
        "#,
    )
    .unwrap();
    assert_eq!(set.rules.len(), 2);
    let Condition::BurnRate(burn) = &set.rules[1].condition else { panic!() };
    assert_eq!((burn.windows.len(), burn.min_requests), (1, 50));
}

#[test]
fn an_invalid_set_is_refused_whole_with_every_problem() {
    let text = r#"{"rules": [
        {"name": "ok", "severity": "low", "kind": "threshold", "metric": "p95",
         "comparison": "above", "threshold": 500},
        {"name": "typo", "severity": "low", "kind": "threshold", "metric": "latency",
         "comparison": "above", "threshold": 500},
        {"name": "ok", "severity": "high", "kind": "threshold", "metric": "p99",
         "comparison": "below", "threshold": 0.5, "recoveryThreshold": 0.4, "for": "8 days",
         "labels": {"alertname": "x", "bad-name": "y"},
         "annotations": {"summary": "{{ nope }}"}},
        {"name": "burn", "severity": "critical", "kind": "burnRate", "slo": 1.5,
         "windows": [{"long": "12h", "short": "1h", "factor": 6}]},
        {"name": "predict", "severity": "low", "kind": "predictive", "metric": "queueLength",
         "comparison": "above", "horizon": "1h", "lookback": "30m", "minPoints": 1}
    ]}"#;
    let Err(AlertingError::InvalidRules { problems }) = RuleSet::from_json(text) else { panic!() };
    let listed: Vec<String> = problems.iter().map(ToString::to_string).collect();
    let expect = [
        "rule typo: cannot read rule: unknown variant `latency`",
        "rule ok field name: duplicate rule name",
        "rule ok field for: for must be at most 7 days",
        "rule ok field recoveryThreshold: recovery threshold 0.4 is on the bad side",
        "rule ok field labels: label \"alertname\" is set by the engine",
        "rule ok field labels: \"bad-name\" is not a valid label name",
        "rule ok field annotations: annotation \"summary\": unknown placeholder {{ nope }}",
        "rule burn field slo: slo 1.5 must be strictly between 0 and 1",
        "rule burn field windows: pair 0: long window 12h exceeds the 6h",
        "rule predict field threshold: give exactly one of threshold",
        "rule predict field minPoints: min points 1 must be between 2",
    ];
    for expected in expect {
        assert!(
            listed.iter().any(|l| l.starts_with(expected)),
            "missing {expected:?} in {listed:#?}"
        );
    }
    assert_eq!(listed.len(), expect.len(), "{listed:#?}");
    let message = AlertingError::InvalidRules { problems }.to_string();
    assert!(message.starts_with("invalid rule set: 11 problem(s); rule typo"), "{message}");
}

#[test]
fn unreadable_documents_are_parse_errors() {
    assert!(matches!(
        RuleSet::from_json("[1, 2]"),
        Err(AlertingError::Parse { format: "json", .. })
    ));
    assert!(matches!(
        RuleSet::from_toml("rules = 3"),
        Err(AlertingError::Parse { format: "toml", .. })
    ));
    assert!(matches!(RuleSet::from_toml("= nope"), Err(AlertingError::Parse { .. })));
}

#[test]
fn durations_read_as_text_or_whole_milliseconds_and_write_as_text() {
    let json = r#"{"rules": [
        {"name": "slow", "severity": "high", "kind": "threshold", "metric": "p95",
         "comparison": "above", "threshold": 500, "for": 90000, "keepFiringFor": "2m"}
    ]}"#;
    let set = RuleSet::from_json(json).unwrap();
    assert_eq!(set.rules[0].for_duration, Duration::from_secs(90));
    assert_eq!(set.rules[0].keep_firing_for, Duration::from_secs(120));
    let back = set.to_json().unwrap();
    assert!(back.contains(r#""for": "1m 30s""#) && back.contains(r#""keepFiringFor": "2m""#));

    let bad = r#"{"rules": [
        {"name": "slow", "severity": "high", "kind": "threshold", "metric": "p95",
         "comparison": "above", "threshold": 500, "for": -5}
    ]}"#;
    let Err(AlertingError::InvalidRules { problems }) = RuleSet::from_json(bad) else { panic!() };
    assert!(problems[0].to_string().contains("cannot be negative"), "{problems:?}");
}

/// serde's derive reads a struct from a sequence of its fields; a rule set, a rule or a burn
/// window written as an array must be refused, not read positionally.
#[test]
fn rule_types_read_from_objects_only() {
    for json in ["[]", "[[]]", r#"[[{"name": "x"}]]"#] {
        let error = serde_json::from_str::<RuleSet>(json).unwrap_err().to_string();
        assert!(error.contains("invalid type: sequence"), "{json}: {error}");
    }
    let positional = r#"["slow", "high", "threshold"]"#;
    assert!(serde_json::from_str::<AlertRule>(positional).is_err());
    let window = r#"{"rules": [{"name": "burn", "severity": "critical", "kind": "burnRate",
        "slo": 0.999, "windows": [["1h", "5m", 14.4]]}]}"#;
    let Err(AlertingError::InvalidRules { problems }) = RuleSet::from_json(window) else {
        panic!()
    };
    assert!(problems[0].to_string().contains("invalid type: sequence"), "{problems:?}");
}

#[test]
fn the_operations_guides_series_and_outcome_rules_read() {
    let guide = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/OPERATIONS.md"),
    )
    .unwrap();
    let section = &guide[guide.find("### Alert rules").expect("an alert rules section")..];
    let start = section.find("```toml\n").expect("a TOML example") + "```toml\n".len();
    let example = &section[start..start + section[start..].find("```").unwrap()];
    // The server reads `[alerts]` as a rule set document.
    let set = RuleSet::from_toml(&example.replace("[[alerts.rules]]", "[[rules]]")).unwrap();
    assert_eq!(set.rules.len(), 2);
    assert_eq!(set.rules[0].condition.subject().to_string(), r#"demo_posts_created{page="1"}"#);
    assert_eq!(set.rules[0].condition.subject().unit(), "ratePerMinute");
    assert_eq!(
        set.rules[1].condition.subject().to_string(),
        "checkouts_failed/(checkouts_ok+checkouts_failed)"
    );
}
