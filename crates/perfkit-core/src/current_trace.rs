//! Which trace the current code runs in, for crates that must not depend on OpenTelemetry:
//! a source installed once by the crate that knows (perfkit-otel's pipeline), asked by any
//! other (perfkit-metrics' slow-operation log).

use std::sync::OnceLock;

/// Answers the id of the trace current on the calling thread, when that trace is sampled
/// (its spans will be exported); `None` otherwise.
pub type CurrentTraceSource = fn() -> Option<[u8; 16]>;

static SOURCE: OnceLock<CurrentTraceSource> = OnceLock::new();

/// Installs the process's source of the current trace id. The first call wins, so that two
/// pipelines cannot disagree about where ids come from; `false` when one was already set.
///
/// ```
/// fn fixed() -> Option<[u8; 16]> {
///     Some([7; 16])
/// }
/// perfkit_core::set_current_trace_source(fixed);
/// assert_eq!(perfkit_core::current_trace_id(), Some([7; 16]));
/// assert!(!perfkit_core::set_current_trace_source(|| None)); // the first stays
/// ```
pub fn set_current_trace_source(source: CurrentTraceSource) -> bool {
    SOURCE.set(source).is_ok()
}

/// The id of the sampled trace current on this thread, if a source is installed and there
/// is one. Without a source it costs one atomic load.
#[inline]
#[must_use]
pub fn current_trace_id() -> Option<[u8; 16]> {
    SOURCE.get().and_then(|source| source())
}

/// A trace id as W3C `traceparent` and OTLP's JSON write it: 32 lowercase hex digits.
///
/// ```
/// let mut id = [0_u8; 16];
/// id[15] = 0xab;
/// assert_eq!(perfkit_core::trace_id_hex(id), "000000000000000000000000000000ab");
/// ```
#[must_use]
pub fn trace_id_hex(id: [u8; 16]) -> String {
    use std::fmt::Write as _;
    id.iter().fold(String::with_capacity(32), |mut text, byte| {
        let _ = write!(text, "{byte:02x}");
        text
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_a_source_there_is_no_current_trace() {
        // This test binary installs none (the doc test runs in a process of its own).
        assert_eq!(current_trace_id(), None);
    }
}
