//! The config file under any input: a complete valid file mutated at random (any key of any
//! section set to any TOML value, removed, or joined by an unknown one) is resolved into
//! settings that hold every invariant, or refused with a message; never a panic. The
//! cargo-fuzz target `config_toml` drives the library sections' parsers with raw bytes.

use proptest::prelude::*;

use super::*;

/// A file that sets every section, valid as it stands.
const VALID: &str = r#"
[server]
bind = "127.0.0.1:8080"
logFormat = "json"
shutdownGrace = "2s"
corsOrigins = ["https://dash.example.com"]
[cache]
redisUrl = "redis://127.0.0.1:7000/1"
namespace = "app:"
redisPoolSize = 8
connectTimeout = "1s"
commandTimeout = "250ms"
defaultTtl = "5m"
memoryMaxBytes = 1048576
[api]
protectReads = true
bodyLimit = 1024
requestTimeout = "5s"
[demo]
enabled = true
acquireTimeout = "1s"
pageTtl = "1s"
userPostsTtl = "1s"
[service]
collectInterval = "1s"
[optimizer]
mode = { auto = false, dryRun = true }
[tracing]
enabled = true
endpoint = "http://127.0.0.1:4318"
serviceName = "blog"
resourceAttributes = { team = "blue" }
sampler = "parentbased_traceidratio"
samplerArg = 0.25
keepSlowerThan = "500ms"
queueCapacity = 64
exportTimeout = "1s"
[[alerts.rules]]
name = "slow"
severity = "high"
kind = "threshold"
metric = "p95"
comparison = "above"
threshold = 500
"#;

fn any_value() -> impl Strategy<Value = toml::Value> {
    let leaf = prop_oneof![
        any::<bool>().prop_map(toml::Value::Boolean),
        any::<i64>().prop_map(toml::Value::Integer),
        Just(toml::Value::Integer(0)),
        Just(toml::Value::Integer(-1)),
        any::<f64>().prop_map(toml::Value::Float),
        "\\PC{0,16}".prop_map(toml::Value::String),
        prop_oneof![
            Just("0s"),
            Just("1ms"),
            Just("999999999999h"),
            Just("http://nope"),
            Just(""),
            Just("0.0.0.0:80"),
            Just("rediss://h:1"),
            Just("redis://"),
            Just("*"),
            Just("json")
        ]
        .prop_map(|s| toml::Value::String(s.to_owned())),
    ];
    leaf.prop_recursive(2, 6, 3, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..3).prop_map(toml::Value::Array),
            proptest::collection::btree_map("[a-zA-Z]{1,8}", inner, 0..3)
                .prop_map(|m| toml::Value::Table(m.into_iter().collect())),
        ]
    })
}

#[derive(Debug, Clone)]
enum Mutation {
    Set { section: usize, key: usize, value: toml::Value },
    Remove { section: usize, key: usize },
    Unknown { section: usize, name: String, value: toml::Value },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<usize>(), any_value())
            .prop_map(|(section, key, value)| Mutation::Set { section, key, value }),
        (any::<usize>(), any::<usize>())
            .prop_map(|(section, key)| Mutation::Remove { section, key }),
        (any::<usize>(), "[a-zA-Z]{1,10}", any_value())
            .prop_map(|(section, name, value)| Mutation::Unknown { section, name, value }),
    ]
}

fn apply(document: &mut toml::Table, change: &Mutation) {
    let sections: Vec<String> = document.keys().cloned().collect();
    let (section, change_key) = match change {
        Mutation::Set { section, key, .. } | Mutation::Remove { section, key } => (*section, *key),
        Mutation::Unknown { section, .. } => (*section, 0),
    };
    let name = &sections[section % sections.len()];
    let Some(toml::Value::Table(table)) = document.get_mut(name) else { return };
    let key = table.keys().nth(change_key % table.len().max(1)).cloned();
    match (change, key) {
        (Mutation::Set { value, .. }, Some(key)) => {
            table.insert(key, value.clone());
        }
        (Mutation::Remove { .. }, Some(key)) => {
            table.remove(&key);
        }
        (Mutation::Unknown { name, value, .. }, _) => {
            table.insert(name.clone(), value.clone());
        }
        _ => {}
    }
}

/// What any accepted settings must hold, whatever the file said.
fn invariants(settings: &Settings) -> Result<(), TestCaseError> {
    prop_assert!(settings.bind.ip().is_loopback() || settings.admin_token.is_some());
    prop_assert!(settings.api.body_limit > 0);
    prop_assert!(!settings.api.request_timeout.is_zero());
    prop_assert!(settings.service.validate().is_ok());
    prop_assert!(settings.optimizer.validate().is_ok());
    prop_assert!(settings.alert_rules.validate().is_ok());
    if let Some(tracing) = &settings.tracing {
        prop_assert!(tracing.export.validate().is_ok());
        prop_assert!(tracing.export.max_batch <= tracing.export.queue_capacity);
    }
    if let CacheSettings::Redis { redis, .. } = &settings.cache {
        prop_assert!(!redis.namespace.is_empty() && redis.namespace.len() <= MAX_NAMESPACE_LEN);
        prop_assert!(redis.validate().is_ok());
        prop_assert!((1..=256).contains(&redis.pool_size));
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn mutated_config_files_resolve_to_valid_settings_or_a_message(
        changes in proptest::collection::vec(mutation(), 1..5),
    ) {
        let mut document: toml::Table = toml::from_str(VALID).unwrap();
        for change in &changes {
            apply(&mut document, change);
        }
        let text = toml::to_string(&document).unwrap();
        match FileConfig::parse(&text).and_then(|file| resolve(Layer::default(), Layer::default(), file)) {
            Ok(settings) => invariants(&settings)?,
            Err(error) => {
                let message = format!("{error:#}");
                prop_assert!(!message.is_empty() && !message.contains("panicked"));
            }
        }
    }

    #[test]
    fn arbitrary_text_is_a_config_or_a_message(text in "\\PC{0,200}") {
        if let Ok(settings) = FileConfig::parse(&text).and_then(|file| resolve(Layer::default(), Layer::default(), file)) {
            invariants(&settings)?;
        }
    }
}

#[test]
fn the_valid_file_is_valid() {
    let file = FileConfig::parse(VALID).unwrap();
    let settings = resolve(Layer::default(), Layer::default(), file).unwrap();
    invariants(&settings).unwrap();
}
