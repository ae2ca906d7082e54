//! W3C Trace Context (`traceparent`, `tracestate`; <https://www.w3.org/TR/trace-context/>):
//! reading a caller's, writing ours. Written here rather than taken from the SDK's
//! propagator: the layer reads it on every request, before anything else, and needs only
//! the API crate.

use std::str::FromStr;

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};

/// The header names, lower case as HTTP/2 and the spec write them; made once, so a lookup
/// does not parse the name.
pub(crate) static TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");
pub(crate) static TRACESTATE: HeaderName = HeaderName::from_static("tracestate");

/// Longest `tracestate` taken from a caller (the spec asks to pass on at least 512
/// characters); a longer one is dropped and the parent kept.
const MAX_TRACESTATE_LEN: usize = 512;

/// The caller's span context from `headers`: a valid `traceparent` (its `tracestate` with
/// it when that parses); `None` for a missing or malformed one, which starts a new trace.
pub(crate) fn caller(headers: &HeaderMap) -> Option<SpanContext> {
    let parent = headers.get(&TRACEPARENT)?;
    let (trace_id, span_id, flags) = parse_traceparent(parent.as_bytes())?;
    let state = trace_state(headers).unwrap_or_default();
    Some(SpanContext::new(trace_id, span_id, flags, true, state))
}

/// The `tracestate` entries, several headers joined as one list.
fn trace_state(headers: &HeaderMap) -> Option<TraceState> {
    let mut joined = String::new();
    for value in headers.get_all(&TRACESTATE) {
        let text = value.to_str().ok()?;
        if !joined.is_empty() {
            joined.push(',');
        }
        joined.push_str(text);
        if joined.len() > MAX_TRACESTATE_LEN {
            return None;
        }
    }
    if joined.is_empty() {
        return None;
    }
    TraceState::from_str(&joined).ok()
}

/// `00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>`. A later version is read by the
/// same four fields when what follows them starts with `-`, as the spec asks; version `ff`,
/// upper-case hex and all-zero ids are refused.
pub(crate) fn parse_traceparent(value: &[u8]) -> Option<(TraceId, SpanId, TraceFlags)> {
    if value.len() < 55 {
        return None;
    }
    let version = hex_u8(&value[0..2])?;
    if version == 0xff || (version == 0 && value.len() != 55) {
        return None;
    }
    if value.len() > 55 && value[55] != b'-' {
        return None;
    }
    if value[2] != b'-' || value[35] != b'-' || value[52] != b'-' {
        return None;
    }
    let trace_id = u128::from_str_radix(lower_hex(&value[3..35])?, 16).ok()?;
    let span_id = u64::from_str_radix(lower_hex(&value[36..52])?, 16).ok()?;
    let flags = hex_u8(&value[53..55])?;
    if trace_id == 0 || span_id == 0 {
        return None;
    }
    // Only the sampled bit is defined; the others are not passed on.
    let flags = TraceFlags::new(flags & TraceFlags::SAMPLED.to_u8());
    Some((TraceId::from(trace_id), SpanId::from(span_id), flags))
}

/// The text of `bytes` when every one is a lower-case hex digit.
fn lower_hex(bytes: &[u8]) -> Option<&str> {
    if bytes.iter().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b)) {
        std::str::from_utf8(bytes).ok()
    } else {
        None
    }
}

fn hex_u8(bytes: &[u8]) -> Option<u8> {
    u8::from_str_radix(lower_hex(bytes)?, 16).ok()
}

/// The `traceparent` of `context`, for an outgoing request.
pub(crate) fn format_traceparent(context: &SpanContext) -> Option<HeaderValue> {
    let text = format!(
        "00-{}-{}-{:02x}",
        context.trace_id(),
        context.span_id(),
        context.trace_flags().to_u8() & TraceFlags::SAMPLED.to_u8()
    );
    HeaderValue::from_str(&text).ok()
}

/// The `tracestate` of `context`, when it has entries.
pub(crate) fn format_tracestate(context: &SpanContext) -> Option<HeaderValue> {
    let text = context.trace_state().header();
    if text.is_empty() { None } else { HeaderValue::from_str(&text).ok() }
}

/// Whether a trace-id ratio sampler keeps `trace_id` at `ratio`: the same rule as the
/// OpenTelemetry SDK's `TraceIdRatioBased` (the id's last 8 bytes, shifted right once,
/// below `ratio` × 2^63), so every service on that rule agrees on a trace.
pub(crate) fn ratio_keeps(trace_id: TraceId, ratio: f64) -> bool {
    if ratio >= 1.0 {
        return true;
    }
    let bytes = trace_id.to_bytes();
    let mut low = [0_u8; 8];
    low.copy_from_slice(&bytes[8..16]);
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, clippy::cast_precision_loss)]
    let bound = (ratio.max(0.0) * (1_u64 << 63) as f64) as u64;
    (u64::from_be_bytes(low) >> 1) < bound
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const SAMPLE: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn reads_the_specs_example() {
        let (trace_id, span_id, flags) = parse_traceparent(SAMPLE.as_bytes()).unwrap();
        assert_eq!(trace_id.to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(span_id.to_string(), "00f067aa0ba902b7");
        assert!(flags.is_sampled());
    }

    #[test]
    fn refuses_what_the_spec_refuses() {
        for bad in [
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "",
        ] {
            assert!(parse_traceparent(bad.as_bytes()).is_none(), "{bad}");
        }
        // A later version with more fields is read by its first four.
        let later = "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00-what-comes";
        assert!(!parse_traceparent(later.as_bytes()).unwrap().2.is_sampled());
    }

    #[test]
    fn a_caller_comes_with_its_tracestate_and_a_bad_one_is_left_out() {
        let mut headers = HeaderMap::new();
        headers.insert(&TRACEPARENT, HeaderValue::from_static(SAMPLE));
        headers.append(&TRACESTATE, HeaderValue::from_static("vendor=one"));
        headers.append(&TRACESTATE, HeaderValue::from_static("other=two"));
        let caller = caller(&headers).unwrap();
        assert!(caller.is_remote());
        assert_eq!(caller.trace_state().get("other"), Some("two"));
        assert_eq!(format_tracestate(&caller).unwrap(), "vendor=one,other=two");

        headers.insert(&TRACESTATE, HeaderValue::from_static("not a list"));
        assert_eq!(super::caller(&headers).unwrap().trace_state().header(), "");
    }

    #[test]
    fn the_ratio_rule_is_the_sdks() {
        let low = TraceId::from(1_u128);
        let high = TraceId::from(u128::MAX);
        assert!(ratio_keeps(low, 0.5));
        assert!(!ratio_keeps(high, 0.5));
        assert!(ratio_keeps(high, 1.0));
        assert!(!ratio_keeps(low, 0.0));
    }

    proptest! {
        #[test]
        fn any_bytes_read_as_a_context_or_nothing(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
            let _ = parse_traceparent(&bytes);
        }

        #[test]
        fn what_is_written_reads_back(trace in 1_u128.., span in 1_u64.., sampled: bool) {
            let flags = if sampled { TraceFlags::SAMPLED } else { TraceFlags::default() };
            let context = SpanContext::new(
                TraceId::from(trace), SpanId::from(span), flags, false, TraceState::default(),
            );
            let header = format_traceparent(&context).unwrap();
            let read = parse_traceparent(header.as_bytes()).unwrap();
            prop_assert_eq!(read, (TraceId::from(trace), SpanId::from(span), flags));
        }
    }
}
