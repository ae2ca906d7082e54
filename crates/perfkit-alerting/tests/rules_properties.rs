//! Rule parsing under any input: a rule set mutated at random (any field of any rule set to
//! any JSON value, unknown fields, rules added or removed) is read into a valid set or
//! refused with its problems, never a panic; whatever is accepted is valid and survives
//! writing and reading back in JSON and TOML. The cargo-fuzz target `alert_rules` drives the
//! same parsers with raw bytes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use perfkit_alerting::{AlertingError, RuleSet};
use proptest::prelude::*;
use serde_json::{Value, json};

/// Any JSON value a client might send in a field, the awkward ones included.
fn any_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        Just(json!(0)),
        Just(json!(-1)),
        Just(json!(1e308)),
        "\\PC{0,12}".prop_map(Value::String),
        prop_oneof![
            Just("1m"),
            Just("0s"),
            Just("-5s"),
            Just("above"),
            Just("below"),
            Just("critical"),
            Just("threshold"),
            Just("burnRate"),
            Just("errorRate"),
            Just("memoryUsage"),
            Just("99999999999h")
        ]
        .prop_map(|s| Value::String(s.to_owned())),
    ];
    leaf.prop_recursive(2, 8, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map("[a-zA-Z]{1,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// One change to a rule document.
#[derive(Debug, Clone)]
enum Mutation {
    SetField { rule: usize, field: usize, value: Value },
    UnknownField { rule: usize, name: String, value: Value },
    RemoveField { rule: usize, field: usize },
    DuplicateRule(usize),
    RemoveRule(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<usize>(), any_value())
            .prop_map(|(rule, field, value)| Mutation::SetField { rule, field, value }),
        (any::<usize>(), "[a-zA-Z]{1,10}", any_value())
            .prop_map(|(rule, name, value)| Mutation::UnknownField { rule, name, value }),
        (any::<usize>(), any::<usize>())
            .prop_map(|(rule, field)| Mutation::RemoveField { rule, field }),
        any::<usize>().prop_map(Mutation::DuplicateRule),
        any::<usize>().prop_map(Mutation::RemoveRule),
    ]
}

fn apply(document: &mut Value, change: &Mutation) {
    let rules = document["rules"].as_array_mut().unwrap();
    if rules.is_empty() {
        return;
    }
    let count = rules.len();
    let pick = |object: &serde_json::Map<String, Value>, field: usize| {
        object.keys().nth(field % object.len().max(1)).cloned()
    };
    match change {
        Mutation::SetField { rule, field, value } => {
            let object = rules[rule % count].as_object_mut().unwrap();
            if let Some(key) = pick(object, *field) {
                object.insert(key, value.clone());
            }
        }
        Mutation::UnknownField { rule, name, value } => {
            rules[rule % count].as_object_mut().unwrap().insert(name.clone(), value.clone());
        }
        Mutation::RemoveField { rule, field } => {
            let object = rules[rule % count].as_object_mut().unwrap();
            if let Some(key) = pick(object, *field) {
                object.remove(&key);
            }
        }
        Mutation::DuplicateRule(rule) => {
            let copy = rules[rule % count].clone();
            rules.push(copy);
        }
        Mutation::RemoveRule(rule) => {
            rules.remove(rule % count);
        }
    }
}

/// Accepted means valid, and the same set after writing and reading in both formats.
fn check(parsed: Result<RuleSet, AlertingError>) -> Result<(), TestCaseError> {
    match parsed {
        Ok(set) => {
            prop_assert!(set.validate().is_ok());
            let json = set.to_json().unwrap();
            prop_assert_eq!(&RuleSet::from_json(&json).unwrap(), &set);
            if let Ok(toml) = set.to_toml() {
                prop_assert_eq!(&RuleSet::from_toml(&toml).unwrap(), &set);
            }
        }
        Err(AlertingError::InvalidRules { problems }) => prop_assert!(!problems.is_empty()),
        Err(AlertingError::Parse { .. }) => {}
        Err(other) => prop_assert!(false, "unexpected error {other}"),
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn mutated_rule_sets_are_read_or_refused_never_a_panic(
        changes in proptest::collection::vec(mutation(), 1..6),
    ) {
        let mut document: Value = serde_json::from_str(&RuleSet::default().to_json().unwrap()).unwrap();
        for change in &changes {
            apply(&mut document, change);
        }
        let text = document.to_string();
        check(RuleSet::from_json(&text))?;
        // The same document as TOML, where TOML can hold it (no nulls).
        if let Ok(toml) = toml::to_string(&document) {
            check(RuleSet::from_toml(&toml))?;
        }
    }

    #[test]
    fn arbitrary_text_is_never_a_panic(text in "\\PC{0,256}") {
        check(RuleSet::from_json(&text))?;
        check(RuleSet::from_toml(&text))?;
    }
}

/// Every crash input `cargo xtask fuzz` kept for the `alert_rules` target parses safely now.
#[test]
fn fuzz_regressions_replay() {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/regressions/alert_rules");
    for entry in std::fs::read_dir(dir).into_iter().flatten() {
        let input = std::fs::read(entry.unwrap().path()).unwrap();
        let text = String::from_utf8_lossy(&input);
        check(RuleSet::from_json(&text)).unwrap();
        check(RuleSet::from_toml(&text)).unwrap();
    }
}

/// Found by the property test above: a tiny threshold came back from JSON one unit in the last
/// place off, until serde_json parsed floats exactly (`float_roundtrip`).
#[test]
fn a_tiny_threshold_round_trips_through_json_to_the_last_bit() {
    let mut document: Value = serde_json::from_str(&RuleSet::default().to_json().unwrap()).unwrap();
    let rule = &mut document["rules"][0];
    assert!(rule["recoveryThreshold"].is_number(), "{rule}");
    rule["recoveryThreshold"] = json!(-5.746605342829347e-181);
    let parsed = RuleSet::from_json(&document.to_string());
    check(parsed).unwrap();
}
