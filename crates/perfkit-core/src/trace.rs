//! The words perfkit's tracing parts share without depending on each other: an
//! instrumentation's decision to keep a trace, carried in the OpenTelemetry context; trace and
//! span ids, the exemplars that carry them, the hook that reports the current sampled span,
//! and the URL template that links a trace id to a tracing backend.

use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::Timestamp;

/// An instrumentation has decided to keep the span it starts: its head sample said yes, or a
/// tail rule (a server error, a slow request) asked for it afterwards.
///
/// perfkit-axum's request layer takes the sampling decision itself, before any span exists,
/// so that an unsampled request costs almost nothing. It puts this value into the
/// OpenTelemetry context it hands down as the span's parent (`Context::with_value`), and
/// perfkit-otel's sampler honours it; no other value means anything to that sampler. A type
/// of the vocabulary crate, so neither crate depends on the other.
///
/// ```
/// use perfkit_core::KeepTrace;
///
/// let decision = KeepTrace::HeadSampled;
/// assert_eq!(decision.as_str(), "head");
/// assert_eq!(KeepTrace::Slow.as_str(), "slow");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeepTrace {
    /// The request was sampled when it started (its caller's flag, or the ratio).
    HeadSampled,
    /// Not sampled, but it ended in a server error: its span is written afterwards.
    Errored,
    /// Not sampled, but it took longer than the configured threshold.
    Slow,
}

impl KeepTrace {
    /// `"head"`, `"error"` or `"slow"`: why the span was kept.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            KeepTrace::HeadSampled => "head",
            KeepTrace::Errored => "error",
            KeepTrace::Slow => "slow",
        }
    }
}

/// A trace's id: 16 bytes, written as 32 lower-case hex digits, as W3C trace context and
/// every tracing backend (Jaeger, Tempo, Zipkin) spell it.
///
/// perfkit-metrics keeps these in its exemplars and perfkit-axum reads them from the
/// OpenTelemetry context: a type of the vocabulary crate, so the metrics crate needs no
/// OpenTelemetry crate to hold one.
///
/// ```
/// use perfkit_core::TraceId;
///
/// let id: TraceId = "4bf92f3577b34da6a3ce929d0e0e4736".parse().unwrap();
/// assert_eq!(id.to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
/// assert_eq!(TraceId::from_u128(id.to_u128()), id);
/// assert!("4BF9".parse::<TraceId>().is_err());
/// assert!(!TraceId::from_u128(0).is_valid());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct TraceId([u8; 16]);

/// A span's id: 8 bytes, written as 16 lower-case hex digits.
///
/// ```
/// use perfkit_core::SpanId;
///
/// let id: SpanId = "00f067aa0ba902b7".parse().unwrap();
/// assert_eq!(id.to_u64(), 0x00f0_67aa_0ba9_02b7);
/// assert_eq!(id.to_string(), "00f067aa0ba902b7");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct SpanId([u8; 8]);

/// Why a trace or span id did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} id {text:?} is not {digits} lower-case hex digits")]
pub struct ParseIdError {
    kind: &'static str,
    digits: usize,
    text: String,
}

macro_rules! hex_id {
    ($name:ident, $bytes:literal, $int:ty, $kind:literal, $from:ident, $to:ident) => {
        impl $name {
            /// The id of these bytes (big-endian, as W3C trace context writes them).
            #[must_use]
            pub const fn from_bytes(bytes: [u8; $bytes]) -> Self {
                $name(bytes)
            }

            /// The id's bytes.
            #[must_use]
            pub const fn to_bytes(self) -> [u8; $bytes] {
                self.0
            }

            /// The id of this number (its big-endian bytes).
            #[must_use]
            pub const fn $from(value: $int) -> Self {
                $name(value.to_be_bytes())
            }

            /// The id as a number.
            #[must_use]
            pub const fn $to(self) -> $int {
                <$int>::from_be_bytes(self.0)
            }

            /// Whether the id is valid: not all zeros, which W3C trace context forbids.
            #[must_use]
            pub const fn is_valid(self) -> bool {
                self.$to() != 0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                for byte in self.0 {
                    write!(f, "{byte:02x}")?;
                }
                Ok(())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self)
            }
        }

        impl FromStr for $name {
            type Err = ParseIdError;

            fn from_str(text: &str) -> Result<Self, ParseIdError> {
                let refuse = || ParseIdError {
                    kind: $kind,
                    digits: $bytes * 2,
                    text: text.chars().take(64).collect(),
                };
                let lower_hex = |b: u8| b.is_ascii_digit() || (b'a'..=b'f').contains(&b);
                if text.len() != $bytes * 2 || !text.bytes().all(lower_hex) {
                    return Err(refuse());
                }
                <$int>::from_str_radix(text, 16).map($name::$from).map_err(|_| refuse())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

hex_id!(TraceId, 16, u128, "trace", from_u128, to_u128);
hex_id!(SpanId, 8, u64, "span", from_u64, to_u64);

/// The ids of a sampled span: what an exemplar points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SampledSpan {
    /// The span's trace.
    pub trace_id: TraceId,
    /// The span itself.
    pub span_id: SpanId,
}

/// One observation that stands for its bucket: the value, when it was recorded, and the
/// sampled span it was recorded under (OpenMetrics' exemplar).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Exemplar {
    /// The span the observation was recorded under.
    pub span: SampledSpan,
    /// The observed value, in the series' unit (seconds for request durations).
    pub value: f64,
    /// When it was recorded.
    pub timestamp: Timestamp,
}

/// What reports the span current on this thread, if it is sampled (installed once).
static CURRENT_SPAN: OnceLock<fn() -> Option<SampledSpan>> = OnceLock::new();

/// Installs the function [`current_sampled_span`] asks: the one part that knows about
/// OpenTelemetry contexts (perfkit-axum's `otel` feature) installs it, so that the metrics
/// crate can give a business histogram's observation an exemplar without depending on
/// OpenTelemetry. The first install wins; `false` when one was installed before.
pub fn set_current_span_source(source: fn() -> Option<SampledSpan>) -> bool {
    CURRENT_SPAN.set(source).is_ok()
}

/// The sampled span current on this thread, where a source is installed
/// ([`set_current_span_source`]). Without one it costs one atomic load and says `None`.
///
/// ```
/// // Nothing installed in this doc test: no span, whatever runs.
/// assert_eq!(perfkit_core::current_sampled_span(), None);
/// ```
#[inline]
#[must_use]
pub fn current_sampled_span() -> Option<SampledSpan> {
    CURRENT_SPAN.get().and_then(|source| source())
}

/// Where a trace can be seen: an http(s) URL template with `{traceId}` in it
/// (`http://jaeger:16686/trace/{traceId}`), each `{traceId}` replaced by the 32 hex digits.
///
/// ```
/// use perfkit_core::{TraceId, TraceUrl};
///
/// let url: TraceUrl = "http://jaeger:16686/trace/{traceId}".parse().unwrap();
/// let id = TraceId::from_u128(0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736);
/// assert_eq!(url.link(id), "http://jaeger:16686/trace/4bf92f3577b34da6a3ce929d0e0e4736");
/// assert!("ftp://x/{traceId}".parse::<TraceUrl>().is_err());
/// assert!("http://jaeger:16686/trace/".parse::<TraceUrl>().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TraceUrl(String);

/// The placeholder a [`TraceUrl`] must contain.
pub const TRACE_ID_PLACEHOLDER: &str = "{traceId}";

/// Longest [`TraceUrl`] accepted, in bytes.
const MAX_TRACE_URL_LEN: usize = 2048;

/// Why a trace URL template was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{text:?} is not an http(s) URL template containing {{traceId}}: {reason}")]
pub struct ParseTraceUrlError {
    text: String,
    reason: &'static str,
}

impl TraceUrl {
    /// The template as given.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The template with every `{traceId}` replaced by `trace`.
    #[must_use]
    pub fn link(&self, trace: TraceId) -> String {
        self.0.replace(TRACE_ID_PLACEHOLDER, &trace.to_string())
    }
}

impl FromStr for TraceUrl {
    type Err = ParseTraceUrlError;

    fn from_str(text: &str) -> Result<Self, ParseTraceUrlError> {
        let refuse = |reason| ParseTraceUrlError { text: text.chars().take(80).collect(), reason };
        if text.len() > MAX_TRACE_URL_LEN {
            return Err(refuse("longer than 2048 bytes"));
        }
        let Some(rest) = text.strip_prefix("http://").or_else(|| text.strip_prefix("https://"))
        else {
            return Err(refuse("it does not start with http:// or https://"));
        };
        if text.chars().any(|c| c.is_whitespace() || c.is_control() || c == '"' || c == '<') {
            return Err(refuse("it holds a space, a control character, `\"` or `<`"));
        }
        let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
        if host.is_empty() || host.contains(TRACE_ID_PLACEHOLDER) {
            return Err(refuse("it names no host (the host cannot be the trace id)"));
        }
        if !text.contains(TRACE_ID_PLACEHOLDER) {
            return Err(refuse("{traceId} is missing"));
        }
        Ok(TraceUrl(text.to_owned()))
    }
}

impl fmt::Display for TraceUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for TraceUrl {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for TraceUrl {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_lower_hex_of_their_bytes_and_read_back() {
        let trace = TraceId::from_u128(1);
        assert_eq!(trace.to_string(), format!("{}1", "0".repeat(31)));
        assert_eq!(trace.to_bytes()[15], 1);
        assert_eq!(format!("{trace:?}"), format!("TraceId({trace})"));
        let json = serde_json::to_string(&trace).unwrap();
        assert_eq!(serde_json::from_str::<TraceId>(&json).unwrap(), trace);
        for bad in [
            "",
            "0",
            &"g".repeat(32),
            &"A".repeat(32),
            &"0".repeat(33),
            "+0000000000000000000000000000000",
        ] {
            assert!(bad.parse::<TraceId>().is_err(), "{bad:?}");
        }
        assert!("+00000000000000f".parse::<SpanId>().is_err());
        assert_eq!(SpanId::from_u64(0xab).to_string(), "00000000000000ab");
    }

    #[test]
    fn trace_urls_are_http_with_a_host_and_the_placeholder() {
        let url: TraceUrl =
            "https://tempo.example/explore?trace={traceId}&x={traceId}".parse().unwrap();
        assert_eq!(url.link(TraceId::from_u128(2)).matches("0000000000000002").count(), 2);
        for (bad, why) in [
            ("jaeger:16686/trace/{traceId}", "http:// or https://"),
            ("http:///trace/{traceId}", "no host"),
            ("http://{traceId}/", "no host"),
            ("http://jaeger/trace", "missing"),
            ("http://jaeger/trace/{traceId} x", "space"),
            ("javascript:alert(1)//{traceId}", "http:// or https://"),
        ] {
            let error = bad.parse::<TraceUrl>().unwrap_err().to_string();
            assert!(error.contains(why), "{bad:?}: {error}");
        }
        let long = format!("http://h/{}{{traceId}}", "a".repeat(MAX_TRACE_URL_LEN));
        assert!(long.parse::<TraceUrl>().is_err());
        assert!(serde_json::from_str::<TraceUrl>("\"http://h/{traceId}\"").is_ok());
        assert!(serde_json::from_str::<TraceUrl>("\"http://h/\"").is_err());
    }
}
