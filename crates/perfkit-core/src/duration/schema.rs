//! How a duration looks in the OpenAPI document: the humantime text the server writes, or
//! the whole milliseconds it also reads, with the bounds a field's validation enforces.
//!
//! A field names one of these as its `value_type`:
//!
//! ```
//! # #[cfg(feature = "openapi")] {
//! use std::time::Duration;
//! use utoipa::PartialSchema;
//!
//! #[derive(serde::Serialize, utoipa::ToSchema)]
//! struct Schedule {
//!     #[serde(with = "perfkit_core::duration")]
//!     #[schema(value_type = perfkit_core::duration::schema::Any)]
//!     every: Duration,
//! }
//! let json = serde_json::to_value(perfkit_core::duration::schema::Any::schema()).unwrap();
//! assert_eq!(json["oneOf"][0]["type"], "string");
//! assert_eq!(json["oneOf"][1]["minimum"], 0);
//! # }
//! ```

use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Schema, Type};

/// The humantime text the server reads and writes: whole numbers with units, separated by a
/// space (`"30s"`, `"1h 30m"`, `"250ms"`, `"7days"`). Nine digits and six parts at most,
/// which keeps every match far from overflowing.
pub const TEXT_PATTERN: &str = "^[0-9]{1,9}(nsec|ns|usec|us|msec|millis|ms|seconds|second|sec|s|minutes|minute|min|m|hours|hour|hr|h|days|day|d|weeks|week|w|months|month|M|years|year|y)( [0-9]{1,9}(nsec|ns|usec|us|msec|millis|ms|seconds|second|sec|s|minutes|minute|min|m|hours|hour|hr|h|days|day|d|weeks|week|w|months|month|M|years|year|y)){0,5}$";

/// One week in milliseconds: the longest cooldown, timeout or window a config accepts.
pub const WEEK_MILLIS: u64 = 7 * 24 * 3600 * 1000;

/// `oneOf [humantime text, whole milliseconds in min..=max]`.
fn text_or_millis(min_millis: u64, max_millis: Option<u64>, description: &str) -> RefOr<Schema> {
    let text = ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(TEXT_PATTERN))
        .examples(["30s"]);
    let millis = ObjectBuilder::new()
        .schema_type(Type::Integer)
        .minimum(Some(min_millis))
        .maximum(max_millis)
        .examples([30_000]);
    OneOfBuilder::new().description(Some(description)).item(text).item(millis).into()
}

macro_rules! duration_schema {
    ($(#[$doc:meta])* $name:ident, $min:expr, $max:expr, $description:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy)]
        pub struct $name;

        impl utoipa::PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                text_or_millis($min, $max, $description)
            }
        }

        impl utoipa::ToSchema for $name {
            fn name() -> std::borrow::Cow<'static, str> {
                std::borrow::Cow::Borrowed(concat!("Duration", stringify!($name)))
            }
        }
    };
}

duration_schema!(
    /// Any duration: humantime text, or whole milliseconds.
    Any,
    0,
    None,
    "A duration: humantime text such as \"30s\" or \"1h 30m\" (what the server writes), or \
     whole milliseconds"
);

duration_schema!(
    /// A duration of at most a week (cooldowns).
    UpToWeek,
    0,
    Some(WEEK_MILLIS),
    "A duration of at most a week: humantime text such as \"5m\", or whole milliseconds"
);

duration_schema!(
    /// A duration from a second to a week (timeouts, ages, windows).
    SecondToWeek,
    1000,
    Some(WEEK_MILLIS),
    "A duration from 1s to a week: humantime text such as \"5m\", or whole milliseconds"
);
