//! What a pipeline is built from, and how the standard `OTEL_*` variables read into it:
//! `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (as given) or `OTEL_EXPORTER_OTLP_ENDPOINT` (with
//! `/v1/traces` added), `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`, `OTEL_TRACES_SAMPLER`
//! and `OTEL_TRACES_SAMPLER_ARG`, `OTEL_SDK_DISABLED` and `OTEL_TRACES_EXPORTER=none`.

use std::time::Duration;

use crate::OtelError;

/// The OTLP/HTTP endpoint when none is given (a collector on this host).
pub const DEFAULT_ENDPOINT: &str = "http://localhost:4318/v1/traces";
/// Spans waiting for export, at most; more are dropped and counted.
pub const DEFAULT_QUEUE_CAPACITY: usize = 2048;
/// Most spans one export sends.
pub const DEFAULT_MAX_BATCH: usize = 512;
/// Longest a span waits in the queue before a smaller batch is sent.
pub const DEFAULT_EXPORT_INTERVAL: Duration = Duration::from_secs(1);
/// Longest one export may take before its spans are dropped (the collector hangs or is slow).
pub const DEFAULT_EXPORT_TIMEOUT: Duration = Duration::from_secs(2);

/// Bounds on the settings: a queue or batch beyond these holds more memory than any
/// collector needs, a timeout beyond a minute protects nothing.
const MAX_QUEUE_CAPACITY: usize = 1 << 20;
const MAX_RESOURCE_ATTRIBUTES: usize = 128;
const MAX_TIMEOUT: Duration = Duration::from_secs(60);

/// How root spans are sampled: `OTEL_TRACES_SAMPLER`'s values. perfkit-axum's request layer
/// takes its head decision by the same rule, and perfkit-otel's sampler keeps what it chose.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum SamplerSetting {
    /// `always_on`: every span.
    AlwaysOn,
    /// `always_off`: none.
    AlwaysOff,
    /// `traceidratio`: a ratio by trace id, whatever the parent says.
    TraceIdRatio(f64),
    /// `parentbased_always_on` (the default): the parent's decision, every root.
    #[default]
    ParentBasedAlwaysOn,
    /// `parentbased_always_off`: the parent's decision, no root.
    ParentBasedAlwaysOff,
    /// `parentbased_traceidratio`: the parent's decision, a ratio of roots.
    ParentBasedTraceIdRatio(f64),
}

impl SamplerSetting {
    /// `name` as `OTEL_TRACES_SAMPLER` spells it, with `arg` (`OTEL_TRACES_SAMPLER_ARG`, the
    /// ratio of the two ratio samplers; 1.0 when absent, as the specification says).
    /// `setting` names both in an error.
    ///
    /// # Errors
    /// An unknown name, or a ratio that is not a number in 0..=1.
    ///
    /// ```
    /// use perfkit_otel::SamplerSetting;
    ///
    /// let sampler = SamplerSetting::parse("OTEL_TRACES_SAMPLER", "parentbased_traceidratio", Some("0.25"))?;
    /// assert_eq!(sampler, SamplerSetting::ParentBasedTraceIdRatio(0.25));
    /// assert_eq!((sampler.ratio(), sampler.is_parent_based()), (0.25, true));
    /// assert!(SamplerSetting::parse("OTEL_TRACES_SAMPLER", "sometimes", None).is_err());
    /// # Ok::<(), perfkit_otel::OtelError>(())
    /// ```
    pub fn parse(setting: &str, name: &str, arg: Option<&str>) -> Result<Self, OtelError> {
        let ratio = || -> Result<f64, OtelError> {
            let Some(arg) = arg.map(str::trim).filter(|a| !a.is_empty()) else {
                return Ok(1.0);
            };
            match arg.parse::<f64>() {
                Ok(ratio) if (0.0..=1.0).contains(&ratio) => Ok(ratio),
                _ => Err(OtelError::invalid(
                    &format!("{setting} argument"),
                    format!("{arg:?} is not a ratio between 0 and 1"),
                )),
            }
        };
        Ok(match name.trim().to_ascii_lowercase().as_str() {
            "always_on" => SamplerSetting::AlwaysOn,
            "always_off" => SamplerSetting::AlwaysOff,
            "traceidratio" => SamplerSetting::TraceIdRatio(ratio()?),
            "parentbased_always_on" => SamplerSetting::ParentBasedAlwaysOn,
            "parentbased_always_off" => SamplerSetting::ParentBasedAlwaysOff,
            "parentbased_traceidratio" => SamplerSetting::ParentBasedTraceIdRatio(ratio()?),
            other => {
                return Err(OtelError::invalid(
                    setting,
                    format!(
                        "unknown sampler {other:?}; expected always_on, always_off, \
                         traceidratio, parentbased_always_on, parentbased_always_off or \
                         parentbased_traceidratio"
                    ),
                ));
            }
        })
    }

    /// The ratio of roots sampled.
    #[must_use]
    pub fn ratio(self) -> f64 {
        match self {
            SamplerSetting::AlwaysOn | SamplerSetting::ParentBasedAlwaysOn => 1.0,
            SamplerSetting::AlwaysOff | SamplerSetting::ParentBasedAlwaysOff => 0.0,
            SamplerSetting::TraceIdRatio(ratio)
            | SamplerSetting::ParentBasedTraceIdRatio(ratio) => ratio,
        }
    }

    /// Whether a parent's decision is followed.
    #[must_use]
    pub fn is_parent_based(self) -> bool {
        matches!(
            self,
            SamplerSetting::ParentBasedAlwaysOn
                | SamplerSetting::ParentBasedAlwaysOff
                | SamplerSetting::ParentBasedTraceIdRatio(_)
        )
    }

    /// The same rule with another root ratio (`OTEL_TRACES_SAMPLER_ARG` given alone, or a
    /// flag): parent-based stays parent-based.
    #[must_use]
    pub fn with_ratio(self, ratio: f64) -> Self {
        if self.is_parent_based() {
            SamplerSetting::ParentBasedTraceIdRatio(ratio)
        } else {
            SamplerSetting::TraceIdRatio(ratio)
        }
    }
}

/// Everything a [`TracePipeline`](crate::TracePipeline) is built from.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceSettings {
    /// The full URL spans are posted to (`…/v1/traces`).
    pub endpoint: String,
    /// The resource's `service.name`.
    pub service_name: String,
    /// More resource attributes (`deployment.environment.name`, `service.version`, ...).
    pub resource_attributes: Vec<(String, String)>,
    /// How roots are sampled.
    pub sampler: SamplerSetting,
    /// Most spans waiting for export; beyond it spans are dropped and counted.
    pub queue_capacity: usize,
    /// Most spans in one export.
    pub max_batch: usize,
    /// Longest a span waits before a smaller batch goes.
    pub export_interval: Duration,
    /// Longest one export may take.
    pub export_timeout: Duration,
}

impl TraceSettings {
    /// The defaults, for `service_name`.
    #[must_use]
    pub fn new(service_name: impl Into<String>) -> Self {
        TraceSettings {
            endpoint: DEFAULT_ENDPOINT.to_owned(),
            service_name: service_name.into(),
            resource_attributes: Vec::new(),
            sampler: SamplerSetting::default(),
            queue_capacity: DEFAULT_QUEUE_CAPACITY,
            max_batch: DEFAULT_MAX_BATCH,
            export_interval: DEFAULT_EXPORT_INTERVAL,
            export_timeout: DEFAULT_EXPORT_TIMEOUT,
        }
    }

    /// The defaults under the standard variables read through `var` (the process's
    /// environment: `&|name| std::env::var(name).ok()`); `default_service` names the service
    /// when neither `OTEL_SERVICE_NAME` nor `OTEL_RESOURCE_ATTRIBUTES` does.
    ///
    /// # Errors
    /// A variable that does not parse, named.
    ///
    /// ```
    /// use perfkit_otel::{SamplerSetting, TraceSettings};
    ///
    /// let env = |name: &str| match name {
    ///     "OTEL_EXPORTER_OTLP_ENDPOINT" => Some("http://collector:4318".to_owned()),
    ///     "OTEL_SERVICE_NAME" => Some("checkout".to_owned()),
    ///     "OTEL_TRACES_SAMPLER" => Some("parentbased_traceidratio".to_owned()),
    ///     "OTEL_TRACES_SAMPLER_ARG" => Some("0.01".to_owned()),
    ///     _ => None,
    /// };
    /// let settings = TraceSettings::from_env(&env, "my-app")?;
    /// assert_eq!(settings.endpoint, "http://collector:4318/v1/traces");
    /// assert_eq!(settings.service_name, "checkout");
    /// assert_eq!(settings.sampler, SamplerSetting::ParentBasedTraceIdRatio(0.01));
    /// # Ok::<(), perfkit_otel::OtelError>(())
    /// ```
    pub fn from_env(
        var: &dyn Fn(&str) -> Option<String>,
        default_service: &str,
    ) -> Result<Self, OtelError> {
        let env = StandardEnv::read(var)?;
        let mut settings =
            TraceSettings::new(env.service_name.unwrap_or_else(|| default_service.to_owned()));
        if let Some(endpoint) = env.endpoint {
            settings.endpoint = endpoint;
        }
        if let Some(sampler) = env.sampler {
            settings.sampler = sampler;
        }
        settings.resource_attributes = env.resource_attributes;
        settings.validate()?;
        Ok(settings)
    }

    /// Checks every bound, naming the setting at fault.
    ///
    /// # Errors
    /// The first setting out of bounds.
    pub fn validate(&self) -> Result<(), OtelError> {
        check_endpoint("endpoint", &self.endpoint)?;
        if self.service_name.trim().is_empty() || self.service_name.len() > 255 {
            return Err(OtelError::invalid("serviceName", "must be 1 to 255 characters"));
        }
        if !(1..=MAX_QUEUE_CAPACITY).contains(&self.queue_capacity) {
            return Err(OtelError::invalid(
                "queueCapacity",
                format!("must be in 1..={MAX_QUEUE_CAPACITY}, got {}", self.queue_capacity),
            ));
        }
        if self.max_batch == 0 || self.max_batch > self.queue_capacity {
            return Err(OtelError::invalid(
                "maxBatch",
                format!("must be in 1..=queueCapacity, got {}", self.max_batch),
            ));
        }
        for (name, value) in
            [("exportInterval", self.export_interval), ("exportTimeout", self.export_timeout)]
        {
            if value.is_zero() || value > MAX_TIMEOUT {
                return Err(OtelError::invalid(
                    name,
                    format!("must be more than 0s and at most 60s, got {value:?}"),
                ));
            }
        }
        if self.resource_attributes.len() > MAX_RESOURCE_ATTRIBUTES {
            return Err(OtelError::invalid(
                "resourceAttributes",
                format!("at most {MAX_RESOURCE_ATTRIBUTES} attributes"),
            ));
        }
        let ratio = self.sampler.ratio();
        if !(0.0..=1.0).contains(&ratio) {
            return Err(OtelError::invalid("sampler", format!("ratio {ratio} is not in 0..=1")));
        }
        Ok(())
    }
}

/// What the standard variables say, each `None` when unset.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StandardEnv {
    /// Whether `OTEL_SDK_DISABLED=true` or `OTEL_TRACES_EXPORTER=none` turned traces off.
    pub disabled: bool,
    /// The traces endpoint, `/v1/traces` added to `OTEL_EXPORTER_OTLP_ENDPOINT`.
    pub endpoint: Option<String>,
    /// `OTEL_SERVICE_NAME`, else `service.name` in `OTEL_RESOURCE_ATTRIBUTES`.
    pub service_name: Option<String>,
    /// `OTEL_RESOURCE_ATTRIBUTES` but `service.name`.
    pub resource_attributes: Vec<(String, String)>,
    /// `OTEL_TRACES_SAMPLER` with its argument; the argument alone changes the default
    /// sampler's ratio.
    pub sampler: Option<SamplerSetting>,
}

impl StandardEnv {
    /// Reads the variables through `var`; blank ones count as unset.
    ///
    /// # Errors
    /// A variable that does not parse, named.
    pub fn read(var: &dyn Fn(&str) -> Option<String>) -> Result<Self, OtelError> {
        let get = |name: &str| var(name).filter(|value| !value.trim().is_empty());
        let disabled = get("OTEL_SDK_DISABLED")
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
            || get("OTEL_TRACES_EXPORTER").is_some_and(|v| v.trim().eq_ignore_ascii_case("none"));
        if let Some(exporter) = get("OTEL_TRACES_EXPORTER") {
            let exporter = exporter.trim().to_ascii_lowercase();
            if exporter != "otlp" && exporter != "none" {
                return Err(OtelError::invalid(
                    "OTEL_TRACES_EXPORTER",
                    format!("{exporter:?} is not supported; expected otlp or none"),
                ));
            }
        }
        if let Some(protocol) =
            get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL").or_else(|| get("OTEL_EXPORTER_OTLP_PROTOCOL"))
            && protocol.trim() != "http/protobuf"
        {
            return Err(OtelError::invalid(
                "OTEL_EXPORTER_OTLP_PROTOCOL",
                format!("{protocol:?} is not supported; perfkit exports http/protobuf"),
            ));
        }
        let endpoint = match get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") {
            Some(endpoint) => {
                check_endpoint("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", endpoint.trim())?;
                Some(endpoint.trim().to_owned())
            }
            None => match get("OTEL_EXPORTER_OTLP_ENDPOINT") {
                Some(base) => {
                    let endpoint = traces_endpoint(base.trim());
                    check_endpoint("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint)?;
                    Some(endpoint)
                }
                None => None,
            },
        };
        let mut resource_attributes = match get("OTEL_RESOURCE_ATTRIBUTES") {
            Some(text) => parse_resource_attributes("OTEL_RESOURCE_ATTRIBUTES", &text)?,
            None => Vec::new(),
        };
        let from_attributes = resource_attributes
            .iter()
            .position(|(key, _)| key == "service.name")
            .map(|at| resource_attributes.remove(at).1);
        let service_name =
            get("OTEL_SERVICE_NAME").map(|s| s.trim().to_owned()).or(from_attributes);
        let arg = get("OTEL_TRACES_SAMPLER_ARG");
        let sampler = match get("OTEL_TRACES_SAMPLER") {
            Some(name) => {
                Some(SamplerSetting::parse("OTEL_TRACES_SAMPLER", &name, arg.as_deref())?)
            }
            None => match arg {
                Some(arg) => Some(SamplerSetting::parse(
                    "OTEL_TRACES_SAMPLER_ARG",
                    "parentbased_traceidratio",
                    Some(&arg),
                )?),
                None => None,
            },
        };
        Ok(StandardEnv { disabled, endpoint, service_name, resource_attributes, sampler })
    }
}

/// The traces URL under an OTLP base URL: `http://collector:4318` → `…/v1/traces`.
#[must_use]
pub fn traces_endpoint(base: &str) -> String {
    format!("{}/v1/traces", base.trim_end_matches('/'))
}

/// An `http://` URL with a host (no TLS here: a collector on the host or the private
/// network).
fn check_endpoint(setting: &str, endpoint: &str) -> Result<(), OtelError> {
    let Some(rest) = endpoint.strip_prefix("http://") else {
        let reason = if endpoint.starts_with("https://") {
            "https is not supported (no TLS is compiled in): send to a collector over http"
                .to_owned()
        } else {
            format!("{endpoint:?} is not an http:// URL")
        };
        return Err(OtelError::invalid(setting, reason));
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty() || endpoint.len() > 2048 || endpoint.contains(char::is_whitespace) {
        return Err(OtelError::invalid(setting, format!("{endpoint:?} is not a URL with a host")));
    }
    Ok(())
}

/// `key=value,key=value`, values percent-decoded, as `OTEL_RESOURCE_ATTRIBUTES` is written.
///
/// # Errors
/// An entry without `=`, an empty key, bad percent-encoding, or too many entries.
pub fn parse_resource_attributes(
    setting: &str,
    text: &str,
) -> Result<Vec<(String, String)>, OtelError> {
    let mut attributes = Vec::new();
    for entry in text.split(',').map(str::trim).filter(|entry| !entry.is_empty()) {
        let Some((key, value)) = entry.split_once('=') else {
            return Err(OtelError::invalid(setting, format!("{entry:?} is not key=value")));
        };
        let key = key.trim();
        if key.is_empty() || key.len() > 255 {
            return Err(OtelError::invalid(setting, format!("{entry:?} has no key")));
        }
        let value = percent_decode(value.trim())
            .ok_or_else(|| OtelError::invalid(setting, format!("{entry:?} is badly %-encoded")))?;
        attributes.push((key.to_owned(), value));
        if attributes.len() > MAX_RESOURCE_ATTRIBUTES {
            return Err(OtelError::invalid(
                setting,
                format!("at most {MAX_RESOURCE_ATTRIBUTES} attributes"),
            ));
        }
    }
    Ok(attributes)
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        if bytes[at] == b'%' {
            let hex = std::str::from_utf8(bytes.get(at + 1..at + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            at += 3;
        } else {
            out.push(bytes[at]);
            at += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> =
            pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        move |name| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    #[test]
    fn the_signal_endpoint_wins_and_is_taken_as_given() {
        let read = StandardEnv::read(&env(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://base:4318/"),
            ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://traces:4318/custom"),
        ]))
        .unwrap();
        assert_eq!(read.endpoint.as_deref(), Some("http://traces:4318/custom"));
        let base = StandardEnv::read(&env(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://base:4318/")]))
            .unwrap();
        assert_eq!(base.endpoint.as_deref(), Some("http://base:4318/v1/traces"));
    }

    #[test]
    fn the_service_name_comes_from_its_variable_then_the_attributes() {
        let both = StandardEnv::read(&env(&[
            ("OTEL_SERVICE_NAME", "api"),
            (
                "OTEL_RESOURCE_ATTRIBUTES",
                "service.name=other,deployment.environment.name=prod%20eu",
            ),
        ]))
        .unwrap();
        assert_eq!(both.service_name.as_deref(), Some("api"));
        assert_eq!(
            both.resource_attributes,
            [("deployment.environment.name".to_owned(), "prod eu".to_owned())]
        );
        let attributes =
            StandardEnv::read(&env(&[("OTEL_RESOURCE_ATTRIBUTES", "service.name=other")])).unwrap();
        assert_eq!(attributes.service_name.as_deref(), Some("other"));
    }

    #[test]
    fn samplers_and_their_argument() {
        let arg_alone = StandardEnv::read(&env(&[("OTEL_TRACES_SAMPLER_ARG", "0.5")])).unwrap();
        assert_eq!(arg_alone.sampler, Some(SamplerSetting::ParentBasedTraceIdRatio(0.5)));
        let ratio = StandardEnv::read(&env(&[
            ("OTEL_TRACES_SAMPLER", "traceidratio"),
            ("OTEL_TRACES_SAMPLER_ARG", "0.1"),
        ]))
        .unwrap();
        assert_eq!(ratio.sampler, Some(SamplerSetting::TraceIdRatio(0.1)));
        assert_eq!(
            SamplerSetting::TraceIdRatio(0.1).with_ratio(0.2),
            SamplerSetting::TraceIdRatio(0.2)
        );
        assert_eq!(
            SamplerSetting::ParentBasedAlwaysOn.with_ratio(0.2),
            SamplerSetting::ParentBasedTraceIdRatio(0.2)
        );
    }

    #[test]
    fn bad_variables_are_named() {
        for (pairs, named) in [
            (&[("OTEL_TRACES_SAMPLER", "sometimes")][..], "OTEL_TRACES_SAMPLER"),
            (
                &[("OTEL_TRACES_SAMPLER", "traceidratio"), ("OTEL_TRACES_SAMPLER_ARG", "2")],
                "OTEL_TRACES_SAMPLER argument",
            ),
            (
                &[("OTEL_EXPORTER_OTLP_ENDPOINT", "https://secure:4318")],
                "OTEL_EXPORTER_OTLP_ENDPOINT",
            ),
            (
                &[("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "collector:4318")],
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            ),
            (&[("OTEL_RESOURCE_ATTRIBUTES", "novalue")], "OTEL_RESOURCE_ATTRIBUTES"),
            (&[("OTEL_RESOURCE_ATTRIBUTES", "k=%zz")], "OTEL_RESOURCE_ATTRIBUTES"),
            (&[("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")], "OTEL_EXPORTER_OTLP_PROTOCOL"),
            (&[("OTEL_TRACES_EXPORTER", "zipkin")], "OTEL_TRACES_EXPORTER"),
        ] {
            let error = StandardEnv::read(&env(pairs)).unwrap_err().to_string();
            assert!(error.starts_with(named), "{pairs:?}: {error}");
        }
    }

    #[test]
    fn traces_can_be_turned_off_the_standard_ways() {
        assert!(StandardEnv::read(&env(&[("OTEL_SDK_DISABLED", "true")])).unwrap().disabled);
        assert!(StandardEnv::read(&env(&[("OTEL_TRACES_EXPORTER", "none")])).unwrap().disabled);
        assert!(!StandardEnv::read(&env(&[])).unwrap().disabled);
    }

    #[test]
    fn settings_out_of_bounds_are_refused_by_name() {
        let good = TraceSettings::new("api");
        good.validate().unwrap();
        let cases = [
            TraceSettings { queue_capacity: 0, ..good.clone() },
            TraceSettings { max_batch: good.queue_capacity + 1, ..good.clone() },
            TraceSettings { export_timeout: Duration::ZERO, ..good.clone() },
            TraceSettings { service_name: " ".to_owned(), ..good },
        ];
        let names: Vec<String> =
            cases.iter().map(|c| c.validate().unwrap_err().to_string()).collect();
        for (error, name) in
            names.iter().zip(["queueCapacity", "maxBatch", "exportTimeout", "serviceName"])
        {
            assert!(error.starts_with(name), "{error}");
        }
    }
}
