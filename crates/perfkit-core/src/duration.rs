//! Durations in configuration, one form everywhere: humantime text (`"30s"`, `"5m"`,
//! `"1h 30m"`, `"250ms"`), the form Prometheus and Alertmanager configurations use.
//!
//! Written as text; read as text or as whole milliseconds, the guide's form, so a config that
//! says `collectInterval = 30000` still means 30 s. Anything else (a negative number, a
//! fraction, a number too large, an unknown unit) is refused with a message that shows the
//! accepted forms.
//!
//! ```
//! use std::time::Duration;
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Debug, Serialize, Deserialize)]
//! struct Schedule {
//!     #[serde(with = "perfkit_core::duration")]
//!     every: Duration,
//! }
//!
//! let text: Schedule = serde_json::from_str(r#"{"every": "1h 30m"}"#).unwrap();
//! assert_eq!(text.every, Duration::from_secs(90 * 60));
//! let millis: Schedule = serde_json::from_str(r#"{"every": 30000}"#).unwrap();
//! assert_eq!(millis.every, Duration::from_secs(30));
//! assert_eq!(serde_json::to_string(&millis).unwrap(), r#"{"every":"30s"}"#);
//!
//! let error = serde_json::from_str::<Schedule>(r#"{"every": "soon"}"#).unwrap_err();
//! assert!(error.to_string().contains(r#"expected a duration such as "30s" or integer milliseconds"#));
//! ```

use std::fmt;
use std::time::Duration;

use serde::de::{self, Unexpected, Visitor};
use serde::{Deserializer, Serializer};

/// What every refusal says the accepted forms are.
const EXPECTED: &str = "a duration such as \"30s\" or integer milliseconds";

/// Writes `duration` as humantime text (`"30s"`, `"1h 30m"`, `"250ms"`, `"0s"`).
///
/// # Errors
/// Only the serializer's own.
pub fn serialize<S: Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(&humantime::format_duration(*duration))
}

/// `duration` in the text [`serialize`] writes, for messages about a setting (`"7days"`,
/// `"1h 30m"`).
///
/// ```
/// use std::time::Duration;
///
/// assert_eq!(perfkit_core::duration::display(Duration::from_secs(90)).to_string(), "1m 30s");
/// ```
pub fn display(duration: Duration) -> impl fmt::Display {
    humantime::format_duration(duration)
}

/// Reads humantime text (`"30s"`, `"5m"`, `"1h 30m"`) or a whole, non-negative number of
/// milliseconds.
///
/// # Errors
/// The deserializer's error, with a message naming the accepted forms, for anything else.
pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
    deserializer.deserialize_any(DurationVisitor)
}

#[cfg(feature = "openapi")]
pub mod schema;

/// [`serialize`] and [`deserialize`] for `Option<Duration>`: `None` is an absent or null
/// value.
///
/// ```
/// use std::time::Duration;
/// use serde::Deserialize;
///
/// #[derive(Deserialize)]
/// struct Cache {
///     #[serde(default, with = "perfkit_core::duration::option")]
///     ttl: Option<Duration>,
/// }
///
/// let set: Cache = serde_json::from_str(r#"{"ttl": "5m"}"#).unwrap();
/// assert_eq!(set.ttl, Some(Duration::from_secs(300)));
/// let unset: Cache = serde_json::from_str(r#"{"ttl": null}"#).unwrap();
/// assert_eq!(unset.ttl, None);
/// ```
pub mod option {
    use std::fmt;
    use std::time::Duration;

    use serde::de::{self, Visitor};
    use serde::{Deserializer, Serializer};

    /// Writes `Some` as humantime text and `None` as the format's "none" (JSON `null`).
    ///
    /// # Errors
    /// Only the serializer's own.
    pub fn serialize<S: Serializer>(
        duration: &Option<Duration>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match duration {
            Some(duration) => super::serialize(duration, serializer),
            None => serializer.serialize_none(),
        }
    }

    /// Reads `null` as `None`, anything else as [`super::deserialize`] does.
    ///
    /// # Errors
    /// As [`super::deserialize`].
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Duration>, D::Error> {
        deserializer.deserialize_option(OptionVisitor)
    }

    struct OptionVisitor;

    impl<'de> Visitor<'de> for OptionVisitor {
        type Value = Option<Duration>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "{} or null", super::EXPECTED)
        }

        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_some<D: Deserializer<'de>>(
            self,
            deserializer: D,
        ) -> Result<Self::Value, D::Error> {
            super::deserialize(deserializer).map(Some)
        }
    }
}

struct DurationVisitor;

impl<'de> Visitor<'de> for DurationVisitor {
    type Value = Duration;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(EXPECTED)
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Duration, E> {
        // Digits in a string are text, not the guide's number: "30000" has no unit, and
        // guessing one is how a config ends up a thousand times off.
        humantime::parse_duration(text.trim()).map_err(|why| {
            E::custom(format_args!("invalid duration {text:?}: {why}; expected {EXPECTED}"))
        })
    }

    fn visit_u64<E: de::Error>(self, millis: u64) -> Result<Duration, E> {
        Ok(Duration::from_millis(millis))
    }

    fn visit_i64<E: de::Error>(self, millis: i64) -> Result<Duration, E> {
        u64::try_from(millis).map(Duration::from_millis).map_err(|_| {
            E::custom(format_args!(
                "invalid duration {millis}: a duration cannot be negative; expected {EXPECTED}"
            ))
        })
    }

    fn visit_u128<E: de::Error>(self, millis: u128) -> Result<Duration, E> {
        u64::try_from(millis).map(Duration::from_millis).map_err(|_| {
            E::custom(format_args!("invalid duration {millis}: too large; expected {EXPECTED}"))
        })
    }

    fn visit_i128<E: de::Error>(self, millis: i128) -> Result<Duration, E> {
        if millis < 0 {
            return Err(E::custom(format_args!(
                "invalid duration {millis}: a duration cannot be negative; expected {EXPECTED}"
            )));
        }
        self.visit_u128(millis.unsigned_abs())
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Duration, E> {
        // `271.0` is an integer to JSON Schema (and so to the OpenAPI document), so a whole
        // number written with a fraction is read; anything that is not exactly a whole
        // number of milliseconds below 2^53 is refused.
        const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
        if value.is_finite() && value >= 0.0 && value.fract() == 0.0 && value < EXACT {
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // checked above
            return Ok(Duration::from_millis(value as u64));
        }
        // JSON numbers past u64::MAX arrive here too, so the message covers both.
        Err(E::custom(format_args!(
            "invalid duration {value}: milliseconds must be a whole number no larger than {}; \
             expected {EXPECTED}",
            u64::MAX
        )))
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<Duration, E> {
        Err(E::invalid_type(Unexpected::Bool(value), &self))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde::{Deserialize, Serialize};

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Holder {
        #[serde(with = "crate::duration")]
        every: Duration,
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct MaybeHolder {
        #[serde(
            default,
            with = "crate::duration::option",
            skip_serializing_if = "Option::is_none"
        )]
        every: Option<Duration>,
    }

    fn read(json: &str) -> Result<Duration, String> {
        let text = format!(r#"{{"every": {json}}}"#);
        serde_json::from_str::<Holder>(&text).map(|h| h.every).map_err(|e| e.to_string())
    }

    fn written(duration: Duration) -> String {
        serde_json::to_value(Holder { every: duration }).unwrap()["every"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    #[test]
    fn writes_humantime_text() {
        assert_eq!(written(Duration::from_secs(30)), "30s");
        assert_eq!(written(Duration::from_secs(300)), "5m");
        assert_eq!(written(Duration::from_secs(5400)), "1h 30m");
        assert_eq!(written(Duration::from_millis(250)), "250ms");
        assert_eq!(written(Duration::ZERO), "0s");
    }

    #[test]
    fn reads_humantime_text_and_whole_milliseconds() {
        assert_eq!(read(r#""30s""#), Ok(Duration::from_secs(30)));
        assert_eq!(read(r#""1h 30m""#), Ok(Duration::from_secs(5400)));
        assert_eq!(read(r#"" 250ms ""#), Ok(Duration::from_millis(250)));
        assert_eq!(read("30000"), Ok(Duration::from_secs(30)));
        assert_eq!(read("0"), Ok(Duration::ZERO));
        assert_eq!(read(&u64::MAX.to_string()), Ok(Duration::from_millis(u64::MAX)));
    }

    #[test]
    fn every_written_duration_reads_back() {
        for millis in [0, 1, 999, 1000, 61_000, 5_400_000, 86_400_001, u64::from(u32::MAX)] {
            let duration = Duration::from_millis(millis);
            assert_eq!(read(&format!("{:?}", written(duration))), Ok(duration));
        }
    }

    #[test]
    fn refuses_anything_else_naming_the_accepted_forms() {
        for (json, why) in [
            (r#""soon""#, "invalid duration \"soon\""),
            (r#""30""#, "invalid duration \"30\""),
            (r#""5 parsecs""#, "unknown time unit"),
            (r#""""#, "invalid duration \"\""),
            (r#""-5s""#, "invalid duration \"-5s\""),
            (r#""99999999999999999999999s""#, "too large"),
            ("-5", "cannot be negative"),
            ("1.5", "whole number"),
            ("-2.0", "whole number"),
            ("1e30", "whole number"),
            ("18446744073709551616", "whole number"),
            ("true", "invalid type: boolean"),
            ("null", "invalid type: null"),
            ("[]", "invalid type: sequence"),
        ] {
            let error = read(json).unwrap_err();
            assert!(error.contains(why), "{json}: {error}");
            assert!(
                error.contains(r#"expected a duration such as "30s" or integer milliseconds"#),
                "{json}: {error}"
            );
        }
    }

    #[test]
    fn reads_toml_integers_and_text() {
        let millis: Holder = toml::from_str("every = 30000").unwrap();
        assert_eq!(millis.every, Duration::from_secs(30));
        let text: Holder = toml::from_str(r#"every = "5m""#).unwrap();
        assert_eq!(text.every, Duration::from_secs(300));
        let negative = toml::from_str::<Holder>("every = -1").unwrap_err().to_string();
        assert!(negative.contains("cannot be negative"), "{negative}");
        let float = toml::from_str::<Holder>("every = 2.5").unwrap_err().to_string();
        assert!(float.contains("whole number"), "{float}");
        let whole: Holder = toml::from_str("every = 2000.0").unwrap();
        assert_eq!(whole.every, Duration::from_secs(2));
    }

    #[test]
    fn reads_whole_numbers_written_with_a_fraction() {
        // JSON Schema's integers include 271.0; the document says integer milliseconds.
        assert_eq!(read("271.0").unwrap(), Duration::from_millis(271));
        assert_eq!(read("6039165.0").unwrap(), Duration::from_millis(6_039_165));
    }

    #[test]
    fn option_reads_null_and_absence_as_none() {
        let none: MaybeHolder = serde_json::from_str("{}").unwrap();
        assert_eq!(none.every, None);
        let null: MaybeHolder = serde_json::from_str(r#"{"every": null}"#).unwrap();
        assert_eq!(null.every, None);
        let some: MaybeHolder = serde_json::from_str(r#"{"every": 1500}"#).unwrap();
        assert_eq!(some.every, Some(Duration::from_millis(1500)));
        assert_eq!(serde_json::to_string(&some).unwrap(), r#"{"every":"1s 500ms"}"#);
        let bad = serde_json::from_str::<MaybeHolder>(r#"{"every": "x"}"#).unwrap_err();
        assert!(bad.to_string().contains("expected a duration such as"), "{bad}");
    }
}
