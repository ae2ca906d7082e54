//! Durations in configuration are humantime text (`"30s"`, `"5m"`, `"1h 30m"`), the form
//! Prometheus and Alertmanager configurations use.

use std::time::Duration;

use serde::{Deserialize, Deserializer, Serializer};

pub(crate) fn serialize<S: Serializer>(
    duration: &Duration,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_str(&humantime::format_duration(*duration))
}

pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Duration, D::Error> {
    let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
    humantime::parse_duration(&text).map_err(|e| {
        serde::de::Error::custom(format!(
            "invalid duration {text:?}: {e} (examples: \"30s\", \"5m\", \"1h\")"
        ))
    })
}

pub(crate) fn is_zero(duration: &Duration) -> bool {
    duration.is_zero()
}
