//! The one timestamp type: UTC milliseconds since the epoch, `Copy` and cheap to compare,
//! serialized as RFC 3339 like every timestamp of the HTTP API.

use std::fmt;
use std::ops::{Add, Sub};
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A point in wall-clock time with millisecond resolution, in UTC.
///
/// Stored as milliseconds since the Unix epoch, so it is `Copy`, ordered and cheap to do
/// arithmetic with; it serializes as an RFC 3339 string (`2026-11-25T18:49:35.123Z`), the
/// format every timestamp of the HTTP API uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(
    feature = "openapi",
    derive(utoipa::ToSchema),
    schema(value_type = String, format = DateTime, example = "2026-11-25T18:49:35.123Z")
)]
pub struct Timestamp(i64);

impl Timestamp {
    /// The Unix epoch, 1970-01-01T00:00:00Z.
    pub const UNIX_EPOCH: Timestamp = Timestamp(0);

    /// A timestamp `millis` milliseconds after the Unix epoch (negative: before it).
    #[must_use]
    pub const fn from_unix_millis(millis: i64) -> Self {
        Timestamp(millis)
    }

    /// Milliseconds since the Unix epoch.
    #[must_use]
    pub const fn as_unix_millis(self) -> i64 {
        self.0
    }

    /// Converts from [`SystemTime`], truncating to whole milliseconds.
    #[must_use]
    pub fn from_system_time(time: SystemTime) -> Self {
        match time.duration_since(UNIX_EPOCH) {
            Ok(after) => Timestamp(i64::try_from(after.as_millis()).unwrap_or(i64::MAX)),
            Err(before) => {
                Timestamp(i64::try_from(before.duration().as_millis()).map_or(i64::MIN, |m| -m))
            }
        }
    }

    /// Converts to [`SystemTime`].
    #[must_use]
    pub fn to_system_time(self) -> SystemTime {
        let magnitude = Duration::from_millis(self.0.unsigned_abs());
        if self.0 >= 0 { UNIX_EPOCH + magnitude } else { UNIX_EPOCH - magnitude }
    }

    /// Time elapsed from `earlier` to `self`; zero when `earlier` is later (clocks can step
    /// backwards, and a negative age is never useful to a caller).
    #[must_use]
    pub fn duration_since(self, earlier: Timestamp) -> Duration {
        Duration::from_millis(u64::try_from(self.0.saturating_sub(earlier.0)).unwrap_or(0))
    }

    /// Seconds since the Unix epoch as a float: the x axis of trend regressions.
    #[must_use]
    #[allow(clippy::cast_precision_loss)] // exact up to year 287396 at millisecond resolution
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1000.0
    }
}

fn millis_of(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

impl Add<Duration> for Timestamp {
    type Output = Timestamp;
    fn add(self, rhs: Duration) -> Timestamp {
        Timestamp(self.0.saturating_add(millis_of(rhs)))
    }
}

impl Sub<Duration> for Timestamp {
    type Output = Timestamp;
    fn sub(self, rhs: Duration) -> Timestamp {
        Timestamp(self.0.saturating_sub(millis_of(rhs)))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 < 0 {
            // RFC 3339 through humantime covers 1970 onwards; earlier instants never occur in
            // measurements, so they print as the epoch rather than fail.
            return f.write_str("1970-01-01T00:00:00.000Z");
        }
        write!(f, "{}", humantime::format_rfc3339_millis(self.to_system_time()))
    }
}

/// The text was not an RFC 3339 UTC timestamp.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid RFC 3339 timestamp {input:?}: {reason}")]
pub struct ParseTimestampError {
    input: String,
    reason: String,
}

impl FromStr for Timestamp {
    type Err = ParseTimestampError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        humantime::parse_rfc3339_weak(s)
            .map(Timestamp::from_system_time)
            .map_err(|e| ParseTimestampError { input: s.to_owned(), reason: e.to_string() })
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_as_rfc3339_utc_with_millis() {
        let t = Timestamp::from_unix_millis(1_764_096_575_123);
        assert_eq!(t.to_string(), "2025-11-25T18:49:35.123Z");
    }

    #[test]
    fn round_trips_through_json() {
        let t = Timestamp::from_unix_millis(1_764_096_575_123);
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(json, "\"2025-11-25T18:49:35.123Z\"");
        assert_eq!(serde_json::from_str::<Timestamp>(&json).unwrap(), t);
    }

    #[test]
    fn rejects_garbage() {
        assert!("yesterday".parse::<Timestamp>().is_err());
        assert!(serde_json::from_str::<Timestamp>("42").is_err());
    }

    #[test]
    fn arithmetic_saturates_instead_of_overflowing() {
        let late = Timestamp::from_unix_millis(i64::MAX - 1);
        assert_eq!((late + Duration::from_secs(10)).as_unix_millis(), i64::MAX);
        let early = Timestamp::from_unix_millis(5);
        assert_eq!(early.duration_since(late), Duration::ZERO);
        assert_eq!(late.duration_since(early), Duration::from_millis((i64::MAX - 6) as u64));
    }

    #[test]
    fn converts_to_and_from_system_time() {
        let t = Timestamp::from_unix_millis(1_000_123);
        assert_eq!(Timestamp::from_system_time(t.to_system_time()), t);
        let before = Timestamp::from_unix_millis(-2500);
        assert_eq!(Timestamp::from_system_time(before.to_system_time()), before);
    }
}
