//! `[tracing]`: request spans and perfkit's own, sent to an OpenTelemetry collector over
//! OTLP/HTTP. The standard `OTEL_*` variables are the environment layer; flags beat them,
//! and they beat the file.
//!
//! ```toml
//! [tracing]
//! enabled = true                  # on by itself when an endpoint is given anywhere
//! endpoint = "http://collector:4318"   # OTLP/HTTP base URL; /v1/traces is added
//! serviceName = "perfkit-server"
//! resourceAttributes = { "deployment.environment.name" = "prod" }
//! sampler = "parentbased_traceidratio" # OTEL_TRACES_SAMPLER's names
//! samplerArg = 0.1
//! keepErrors = true               # an unsampled request that ends in a 5xx is kept
//! keepSlowerThan = "500ms"        # and one slower than this
//! maxKeptPerSecond = 100
//! queueCapacity = 2048            # spans waiting for export; more are dropped, counted
//! exportTimeout = "2s"            # longest one export, and the flush at shutdown, may take
//! exportInterval = "1s"
//! traceUrl = "http://jaeger:16686/trace/{traceId}"  # where the dashboard and alerts link a trace id
//! ```

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use perfkit::core::TraceUrl;
use perfkit_axum::RequestTracing;
use perfkit_otel::{
    DEFAULT_ENDPOINT, DEFAULT_MAX_BATCH, SamplerSetting, StandardEnv, TraceSettings,
};
use serde::Deserialize;

/// The resource's `service.name` unless told otherwise.
pub(crate) const DEFAULT_SERVICE_NAME: &str = "perfkit-server";
/// Most unsampled requests kept in one second, at most.
const MAX_KEPT_PER_SECOND: u32 = 100_000;

/// `[tracing]` as written.
#[derive(Debug, Deserialize)]
#[serde(remote = "Self", rename_all = "camelCase", default, deny_unknown_fields)]
pub(super) struct TracingSection {
    enabled: Option<bool>,
    endpoint: Option<String>,
    service_name: Option<String>,
    resource_attributes: Option<BTreeMap<String, String>>,
    sampler: Option<String>,
    sampler_arg: Option<f64>,
    keep_errors: bool,
    #[serde(with = "perfkit::core::duration::option")]
    keep_slower_than: Option<Duration>,
    max_kept_per_second: u32,
    queue_capacity: usize,
    #[serde(with = "perfkit::core::duration")]
    export_timeout: Duration,
    #[serde(with = "perfkit::core::duration")]
    export_interval: Duration,
    /// Read as text and checked by [`trace_url`], so the error names the setting.
    trace_url: Option<String>,
}

perfkit::core::maps_only!(TracingSection);

impl Default for TracingSection {
    fn default() -> Self {
        let defaults = TraceSettings::new(DEFAULT_SERVICE_NAME);
        TracingSection {
            enabled: None,
            endpoint: None,
            service_name: None,
            resource_attributes: None,
            sampler: None,
            sampler_arg: None,
            keep_errors: true,
            keep_slower_than: None,
            max_kept_per_second: perfkit_axum::DEFAULT_MAX_KEPT_PER_SECOND,
            queue_capacity: defaults.queue_capacity,
            export_timeout: defaults.export_timeout,
            export_interval: defaults.export_interval,
            trace_url: None,
        }
    }
}

/// `tracing.traceUrl`, checked: an http(s) URL template with `{traceId}` in it. It is read
/// whether or not this server traces (its exemplars may come from spans another layer of the
/// host traces, and the link is harmless without any).
pub(super) fn trace_url(file: &TracingSection) -> Result<Option<TraceUrl>> {
    file.trace_url
        .as_deref()
        .map(|text| text.parse::<TraceUrl>().context("tracing.traceUrl"))
        .transpose()
}

/// The tracing settings of one layer (flags, environment, file); `None` leaves the choice to
/// the layers below.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct TracingLayer {
    pub(crate) enabled: Option<bool>,
    /// The full traces URL (`…/v1/traces`).
    pub(crate) endpoint: Option<String>,
    pub(crate) service_name: Option<String>,
    pub(crate) resource_attributes: Option<Vec<(String, String)>>,
    pub(crate) sampler: Option<String>,
    pub(crate) sampler_arg: Option<String>,
    pub(crate) keep_slower_than: Option<Duration>,
}

impl TracingLayer {
    /// The flags.
    pub(crate) fn from_cli(cli: &crate::cli::Cli) -> Self {
        TracingLayer {
            enabled: cli.tracing,
            endpoint: cli.otlp_endpoint.as_deref().map(perfkit_otel::traces_endpoint),
            service_name: None,
            resource_attributes: None,
            sampler: cli.traces_sampler.clone(),
            sampler_arg: cli.traces_sampler_arg.map(|ratio| ratio.to_string()),
            keep_slower_than: cli.trace_keep_slower_than,
        }
    }

    /// The standard `OTEL_*` variables and `PERFKIT_TRACING`,
    /// `PERFKIT_TRACE_KEEP_SLOWER_THAN`. `OTEL_SDK_DISABLED=true` or
    /// `OTEL_TRACES_EXPORTER=none` turn tracing off.
    pub(crate) fn from_env(var: &dyn Fn(&str) -> Option<String>) -> Result<Self> {
        let get = |name: &str| var(name).filter(|value| !value.trim().is_empty());
        let standard = StandardEnv::read(var)?;
        let enabled = match get("PERFKIT_TRACING") {
            _ if standard.disabled => Some(false),
            Some(value) => Some(
                super::parse_bool(&value)
                    .with_context(|| format!("PERFKIT_TRACING={value:?} is not a boolean"))?,
            ),
            None => None,
        };
        let keep_slower_than = get("PERFKIT_TRACE_KEEP_SLOWER_THAN")
            .map(|value| {
                crate::cli::parse_duration(&value).map_err(|why| {
                    anyhow::anyhow!(
                        "PERFKIT_TRACE_KEEP_SLOWER_THAN={value:?} is not a duration: {why}"
                    )
                })
            })
            .transpose()?;
        Ok(TracingLayer {
            enabled,
            endpoint: standard.endpoint,
            service_name: standard.service_name,
            resource_attributes: (!standard.resource_attributes.is_empty())
                .then_some(standard.resource_attributes),
            sampler: get("OTEL_TRACES_SAMPLER"),
            sampler_arg: get("OTEL_TRACES_SAMPLER_ARG"),
            keep_slower_than,
        })
    }

    pub(super) fn from_file(file: &TracingSection) -> Self {
        TracingLayer {
            enabled: file.enabled,
            endpoint: file.endpoint.as_deref().map(perfkit_otel::traces_endpoint),
            service_name: file.service_name.clone(),
            resource_attributes: file
                .resource_attributes
                .as_ref()
                .map(|attributes| attributes.clone().into_iter().collect()),
            sampler: file.sampler.clone(),
            sampler_arg: file.sampler_arg.map(|ratio| ratio.to_string()),
            keep_slower_than: file.keep_slower_than,
        }
    }

    /// This layer over `below`.
    #[must_use]
    pub(crate) fn over(self, below: TracingLayer) -> TracingLayer {
        TracingLayer {
            enabled: self.enabled.or(below.enabled),
            endpoint: self.endpoint.or(below.endpoint),
            service_name: self.service_name.or(below.service_name),
            resource_attributes: self.resource_attributes.or(below.resource_attributes),
            sampler: self.sampler.or(below.sampler),
            sampler_arg: self.sampler_arg.or(below.sampler_arg),
            keep_slower_than: self.keep_slower_than.or(below.keep_slower_than),
        }
    }
}

/// Tracing as the layers chose it; `None` when off.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TracingSettings {
    /// The pipeline's settings.
    pub(crate) export: TraceSettings,
    pub(crate) keep_errors: bool,
    pub(crate) keep_slower_than: Option<Duration>,
    pub(crate) max_kept_per_second: u32,
}

impl TracingSettings {
    /// The request layer's sampling: the pipeline's rule, and the tail rules.
    pub(crate) fn request_tracing(&self) -> RequestTracing {
        let sampler = self.export.sampler;
        let mut tracing = RequestTracing::ratio(sampler.ratio())
            .parent_based(sampler.is_parent_based())
            .keep_errors(self.keep_errors)
            .max_kept_per_second(self.max_kept_per_second);
        if let Some(threshold) = self.keep_slower_than {
            tracing = tracing.keep_slower_than(threshold);
        }
        tracing
    }
}

/// Where each setting can come from, for messages.
const SAMPLER_SOURCES: &str = "the traces sampler (--traces-sampler/--traces-sampler-arg, OTEL_TRACES_SAMPLER(_ARG), tracing.sampler/samplerArg)";

/// Tracing on or off and, when on, its settings: on when asked (`--tracing`,
/// `PERFKIT_TRACING`, `tracing.enabled`) or when an endpoint is given anywhere.
pub(super) fn resolve(
    chosen: TracingLayer,
    file: &TracingSection,
) -> Result<Option<TracingSettings>> {
    if !chosen.enabled.unwrap_or(chosen.endpoint.is_some()) {
        return Ok(None);
    }
    let mut export =
        TraceSettings::new(chosen.service_name.unwrap_or_else(|| DEFAULT_SERVICE_NAME.to_owned()));
    export.endpoint = chosen.endpoint.unwrap_or_else(|| DEFAULT_ENDPOINT.to_owned());
    export.resource_attributes = chosen.resource_attributes.unwrap_or_default();
    export.sampler = match (chosen.sampler.as_deref(), chosen.sampler_arg.as_deref()) {
        (None, None) => SamplerSetting::default(),
        (None, Some(arg)) => {
            SamplerSetting::parse("sampler", "parentbased_traceidratio", Some(arg))
                .context(SAMPLER_SOURCES)?
        }
        (Some(name), arg) => {
            SamplerSetting::parse("sampler", name, arg).context(SAMPLER_SOURCES)?
        }
    };
    export.queue_capacity = file.queue_capacity;
    export.max_batch = DEFAULT_MAX_BATCH.min(file.queue_capacity.max(1));
    export.export_timeout = file.export_timeout;
    export.export_interval = file.export_interval;
    export.validate().context(
        "section [tracing] (with --otlp-endpoint, OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_SERVICE_NAME, \
         OTEL_RESOURCE_ATTRIBUTES)",
    )?;
    if file.max_kept_per_second > MAX_KEPT_PER_SECOND {
        bail!(
            "tracing.maxKeptPerSecond must be at most {MAX_KEPT_PER_SECOND}, got {}",
            file.max_kept_per_second
        );
    }
    Ok(Some(TracingSettings {
        export,
        keep_errors: file.keep_errors,
        keep_slower_than: chosen.keep_slower_than,
        max_kept_per_second: file.max_kept_per_second,
    }))
}
