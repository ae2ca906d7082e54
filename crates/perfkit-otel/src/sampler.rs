//! The sampler: a head decision already taken by an instrumentation (perfkit-axum's layer
//! puts [`KeepTrace`] in the parent context) is kept; anything else is sampled by the
//! configured standard rule.

use opentelemetry::trace::{Link, SpanKind, TraceContextExt as _, TraceId};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::trace::{Sampler, SamplingDecision, SamplingResult, ShouldSample};
use perfkit_core::KeepTrace;

use crate::SamplerSetting;

/// [`ShouldSample`] that keeps a span whose parent context carries [`KeepTrace`], and
/// otherwise samples by a [`SamplerSetting`] (the SDK's own samplers).
///
/// ```
/// use opentelemetry::Context;
/// use opentelemetry::trace::{SpanKind, TraceId};
/// use opentelemetry_sdk::trace::{SamplingDecision, ShouldSample};
/// use perfkit_core::KeepTrace;
/// use perfkit_otel::{KeepTraceSampler, SamplerSetting};
///
/// let sampler = KeepTraceSampler::new(SamplerSetting::AlwaysOff);
/// let kept = Context::new().with_value(KeepTrace::HeadSampled);
/// let decide = |parent: &Context| {
///     sampler.should_sample(Some(parent), TraceId::from(7_u128), "GET /", &SpanKind::Server, &[], &[]).decision
/// };
/// assert_eq!(decide(&kept), SamplingDecision::RecordAndSample);
/// assert_eq!(decide(&Context::new()), SamplingDecision::Drop);
/// ```
#[derive(Debug, Clone)]
pub struct KeepTraceSampler {
    rule: Sampler,
}

impl KeepTraceSampler {
    /// Keeps what an instrumentation kept; samples the rest by `setting`.
    #[must_use]
    pub fn new(setting: SamplerSetting) -> Self {
        let ratio = |r: f64| Sampler::TraceIdRatioBased(r);
        let rule = match setting {
            SamplerSetting::AlwaysOn => Sampler::AlwaysOn,
            SamplerSetting::AlwaysOff => Sampler::AlwaysOff,
            SamplerSetting::TraceIdRatio(r) => ratio(r),
            SamplerSetting::ParentBasedAlwaysOn => {
                Sampler::ParentBased(Box::new(Sampler::AlwaysOn))
            }
            SamplerSetting::ParentBasedAlwaysOff => {
                Sampler::ParentBased(Box::new(Sampler::AlwaysOff))
            }
            SamplerSetting::ParentBasedTraceIdRatio(r) => Sampler::ParentBased(Box::new(ratio(r))),
        };
        KeepTraceSampler { rule }
    }
}

impl ShouldSample for KeepTraceSampler {
    fn should_sample(
        &self,
        parent_context: Option<&Context>,
        trace_id: TraceId,
        name: &str,
        span_kind: &SpanKind,
        attributes: &[KeyValue],
        links: &[Link],
    ) -> SamplingResult {
        if let Some(parent) = parent_context
            && parent.get::<KeepTrace>().is_some()
        {
            return SamplingResult {
                decision: SamplingDecision::RecordAndSample,
                attributes: Vec::new(),
                trace_state: parent.span().span_context().trace_state().clone(),
            };
        }
        self.rule.should_sample(parent_context, trace_id, name, span_kind, attributes, links)
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceState};

    use super::*;

    fn decide(sampler: &KeepTraceSampler, parent: &Context) -> SamplingDecision {
        sampler
            .should_sample(
                Some(parent),
                TraceId::from(u128::MAX),
                "span",
                &SpanKind::Internal,
                &[],
                &[],
            )
            .decision
    }

    fn remote(sampled: bool) -> Context {
        let flags = if sampled { TraceFlags::SAMPLED } else { TraceFlags::default() };
        let span = SpanContext::new(
            TraceId::from(9_u128),
            SpanId::from(3_u64),
            flags,
            true,
            TraceState::NONE,
        );
        Context::new().with_remote_span_context(span)
    }

    #[test]
    fn a_kept_parent_wins_over_an_unsampled_caller_and_any_rule() {
        let sampler = KeepTraceSampler::new(SamplerSetting::ParentBasedAlwaysOff);
        assert_eq!(
            decide(&sampler, &remote(false).with_value(KeepTrace::Errored)),
            SamplingDecision::RecordAndSample
        );
        assert_eq!(decide(&sampler, &remote(false)), SamplingDecision::Drop);
        assert_eq!(decide(&sampler, &remote(true)), SamplingDecision::RecordAndSample);
    }

    #[test]
    fn without_a_mark_the_standard_rules_apply() {
        let ratio = KeepTraceSampler::new(SamplerSetting::TraceIdRatio(0.5));
        // The SDK's rule by trace id: the highest id is above any ratio below 1.
        assert_eq!(decide(&ratio, &Context::new()), SamplingDecision::Drop);
        let on = KeepTraceSampler::new(SamplerSetting::ParentBasedAlwaysOn);
        assert_eq!(decide(&on, &Context::new()), SamplingDecision::RecordAndSample);
        assert_eq!(decide(&on, &remote(false)), SamplingDecision::Drop);
    }
}
