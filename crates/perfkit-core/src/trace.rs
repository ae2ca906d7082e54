//! The one word perfkit's tracing parts share without depending on each other: an
//! instrumentation's decision to keep a trace, carried in the OpenTelemetry context.

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
