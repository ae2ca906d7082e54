//! Log output: JSON lines for machines (with the trace ids of a line written inside a
//! sampled span: `json_lines`), or a readable format for people. The level comes from
//! `RUST_LOG` (default `info`). Beside it, perfkit-sqlx's layer turns sqlx's statement
//! and acquire events into the recorder's figures, whatever the log level, and with traces
//! on, perfkit-otel's layer turns spans into OpenTelemetry spans: each layer has its own
//! filter.

use std::str::FromStr;
use std::sync::Arc;

use perfkit::metrics::Recorder;
use perfkit_otel::TracePipeline;
use serde::Deserialize;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{EnvFilter, Layer as _};

use crate::json_lines::JsonWithTraceIds;

/// How log lines are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub(crate) enum LogFormat {
    /// One JSON object per line.
    Json,
    /// Human-readable lines.
    #[default]
    Pretty,
}

impl FromStr for LogFormat {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim().to_ascii_lowercase().as_str() {
            "json" => Ok(LogFormat::Json),
            "pretty" => Ok(LogFormat::Pretty),
            other => Err(format!("expected json or pretty, got {other:?}")),
        }
    }
}

/// Installs the global subscriber: log lines to stdout, query timing into `recorder`, and
/// spans into `traces` when it is on.
pub(crate) fn init(format: LogFormat, recorder: Arc<Recorder>, traces: Option<&TracePipeline>) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // Colours only for a terminal: escape codes would litter files and log collectors.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let lines = match format {
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .event_format(JsonWithTraceIds::new(
                tracing_subscriber::fmt::format().json().flatten_event(true),
            ))
            .boxed(),
        LogFormat::Pretty => tracing_subscriber::fmt::layer().with_ansi(ansi).boxed(),
    };
    // Per-layer filters: the log level must not switch off the DEBUG events sqlx times
    // statements with. A second initialisation (only possible in tests) keeps the first.
    let registry = tracing_subscriber::registry()
        .with(lines.with_filter(filter))
        .with(traces.map(TracePipeline::layer));
    #[cfg(feature = "demo")]
    let _ = registry.with(perfkit_sqlx::layer(recorder)).try_init();
    // Without the demo there is no database, so no statement to time.
    #[cfg(not(feature = "demo"))]
    let _ = (registry.try_init(), recorder);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_either_format_in_any_case() {
        assert_eq!("JSON".parse::<LogFormat>(), Ok(LogFormat::Json));
        assert_eq!(" pretty".parse::<LogFormat>(), Ok(LogFormat::Pretty));
        assert!("xml".parse::<LogFormat>().unwrap_err().contains("json or pretty"));
    }
}
