//! The OpenTelemetry layer's filter: spans and events at a level and above, and none under
//! an unsampled parent.
//!
//! A child of an unsampled request would be built by tracing-opentelemetry and then dropped
//! by the sampler: a few hundred nanoseconds and several allocations for nothing, per span.
//! perfkit-axum's layer makes the unsampled parent current (as does any span the sampler
//! dropped), so this filter turns such spans away before the layer sees them. Every sampler
//! perfkit-otel builds agrees: parent-based ones follow the parent, and the trace-id ratio
//! gives a child the same answer as the parent it shares its trace id with.

use opentelemetry::Context;
use opentelemetry::trace::TraceContextExt as _;
use tracing::{Level, Metadata};
use tracing_subscriber::layer::{Context as LayerContext, Filter};

/// Spans and events at `level` or more severe, outside unsampled traces.
#[derive(Debug, Clone, Copy)]
pub struct SampledSpans {
    level: Level,
}

impl SampledSpans {
    /// Spans and events at `level` and above (INFO: every perfkit span, libraries' DEBUG
    /// spans left out).
    #[must_use]
    pub fn at(level: Level) -> Self {
        SampledSpans { level }
    }
}

impl<S> Filter<S> for SampledSpans {
    fn enabled(&self, metadata: &Metadata<'_>, _: &LayerContext<'_, S>) -> bool {
        *metadata.level() <= self.level && !under_unsampled_parent()
    }

    fn callsite_enabled(
        &self,
        metadata: &'static Metadata<'static>,
    ) -> tracing::subscriber::Interest {
        if *metadata.level() <= self.level {
            // Asked again at each span: the answer depends on the context current then.
            tracing::subscriber::Interest::sometimes()
        } else {
            tracing::subscriber::Interest::never()
        }
    }

    fn max_level_hint(&self) -> Option<tracing::level_filters::LevelFilter> {
        Some(tracing::level_filters::LevelFilter::from_level(self.level))
    }
}

/// Whether the current OpenTelemetry context's span is a valid one that is not sampled.
fn under_unsampled_parent() -> bool {
    Context::map_current(|current| {
        let span = current.span();
        let context = span.span_context();
        context.is_valid() && !context.is_sampled()
    })
}

#[cfg(test)]
mod tests {
    use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};

    use super::*;

    fn parent(flags: TraceFlags) -> Context {
        let span = SpanContext::new(
            TraceId::from(5_u128),
            SpanId::from(6_u64),
            flags,
            true,
            TraceState::NONE,
        );
        Context::new().with_remote_span_context(span)
    }

    #[test]
    fn only_an_unsampled_current_span_turns_spans_away() {
        assert!(!under_unsampled_parent());
        {
            let _unsampled = parent(TraceFlags::default()).attach();
            assert!(under_unsampled_parent());
        }
        let _sampled = parent(TraceFlags::SAMPLED).attach();
        assert!(!under_unsampled_parent());
    }
}
