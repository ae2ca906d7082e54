//! The ids of the sampled span current on this thread, for log lines: what a JSON log line
//! carries as `trace_id` and `span_id`, and what perfkit-core's `current_sampled_span` answers
//! once a pipeline is installed (perfkit-metrics' slow-operation line reads it there).

use opentelemetry::Context;
use opentelemetry::trace::{SpanId, TraceContextExt as _, TraceId};

/// The trace and span ids of the span current on this thread, when it is sampled (its spans
/// are exported, unless the export queue is full and they are dropped and counted); `None`
/// outside any span, and inside an unsampled one.
///
/// A `tracing` span turned into an OpenTelemetry span by [`TracePipeline::layer`] is current
/// while it is entered; perfkit-axum's request layer enters a sampled request's span on
/// every poll, so any line its handler logs has the request's ids (or a child span's). An
/// unsampled request has none, not even one a tail rule keeps afterwards: that decision is
/// taken at its end.
///
/// [`TracePipeline::layer`]: crate::TracePipeline::layer
///
/// ```
/// assert_eq!(perfkit_otel::current_span_ids(), None); // no span current
/// ```
#[must_use]
pub fn current_span_ids() -> Option<(TraceId, SpanId)> {
    Context::map_current(|context| {
        let span = context.span();
        let span = span.span_context();
        (span.is_valid() && span.is_sampled()).then(|| (span.trace_id(), span.span_id()))
    })
}

/// perfkit-core's current-span source, installed with the pipeline.
pub(crate) fn current_sampled_span() -> Option<perfkit_core::SampledSpan> {
    current_span_ids().map(|(trace, span)| perfkit_core::SampledSpan {
        trace_id: perfkit_core::TraceId::from_u128(u128::from_be_bytes(trace.to_bytes())),
        span_id: perfkit_core::SpanId::from_u64(u64::from_be_bytes(span.to_bytes())),
    })
}

#[cfg(test)]
mod tests {
    use opentelemetry::trace::{SpanContext, TraceFlags, TraceState};

    use super::*;

    fn remote(flags: TraceFlags) -> Context {
        Context::new().with_remote_span_context(SpanContext::new(
            TraceId::from(0x0af7651916cd43dd8448eb211c80319c_u128),
            SpanId::from(0xb7ad6b7169203331_u64),
            flags,
            true,
            TraceState::NONE,
        ))
    }

    #[test]
    fn a_sampled_span_has_ids_and_an_unsampled_one_none() {
        {
            let _current = remote(TraceFlags::SAMPLED).attach();
            let (trace, span) = current_span_ids().unwrap();
            assert_eq!(trace.to_string(), "0af7651916cd43dd8448eb211c80319c");
            assert_eq!(span.to_string(), "b7ad6b7169203331");
            assert_eq!(
                current_sampled_span().map(|s| s.trace_id.to_u128()),
                Some(u128::from_be_bytes(trace.to_bytes()))
            );
        }
        let _current = remote(TraceFlags::default()).attach();
        assert_eq!(current_span_ids(), None);
    }
}
