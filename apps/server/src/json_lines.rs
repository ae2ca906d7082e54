//! JSON log lines that name the trace they were written in: tracing-subscriber's JSON
//! format, with `trace_id` and `span_id` added to a line written while a sampled span is
//! current (perfkit-otel's `current_span_ids`), so a log search leads to the trace and back.
//! A line outside any span, or inside an unsampled request, is the JSON format's alone.

use std::fmt;

use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::{Format, Json, Writer};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// The JSON event format, with the current sampled span's ids.
pub(crate) struct JsonWithTraceIds {
    json: Format<Json>,
}

impl JsonWithTraceIds {
    /// Over `json`, the format as configured (flattened events, ...).
    pub(crate) fn new(json: Format<Json>) -> Self {
        JsonWithTraceIds { json }
    }
}

impl<S, N> FormatEvent<S, N> for JsonWithTraceIds
where
    S: Subscriber + for<'span> LookupSpan<'span>,
    N: for<'writer> FormatFields<'writer> + 'static,
{
    fn format_event(
        &self,
        context: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let Some((trace, span)) = perfkit_otel::current_span_ids() else {
            return self.json.format_event(context, writer, event);
        };
        // The JSON format writes one object and a newline; the ids go before its `}`. Only
        // lines inside sampled spans pay for the copy.
        let mut line = String::with_capacity(256);
        self.json.format_event(context, Writer::new(&mut line), event)?;
        let Some(object) = line.trim_end().strip_suffix('}') else {
            return writer.write_str(&line);
        };
        writer.write_str(object)?;
        // An event that names its own trace (the slow-operation line) keeps its field: a
        // key twice would be a malformed object for some readers.
        let fields = event.metadata().fields();
        if fields.field("trace_id").is_none() {
            write!(writer, ",\"trace_id\":\"{trace}\"")?;
        }
        if fields.field("span_id").is_none() {
            write!(writer, ",\"span_id\":\"{span}\"")?;
        }
        writer.write_str("}\n")
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use opentelemetry::Context;
    use opentelemetry::trace::{
        SpanContext, SpanId, TraceContextExt as _, TraceFlags, TraceId, TraceState,
    };
    use serde_json::Value;
    use tracing_subscriber::layer::SubscriberExt as _;

    use super::*;

    /// Lines written into a shared buffer.
    #[derive(Clone, Default)]
    struct Lines(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Lines {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// The one line `log` writes under a remote span with `under`'s flags (none: no span).
    fn logged(under: Option<TraceFlags>, log: impl FnOnce()) -> String {
        let lines = Lines::default();
        let sink = lines.clone();
        let format =
            JsonWithTraceIds::new(tracing_subscriber::fmt::format().json().flatten_event(true));
        let layer = tracing_subscriber::fmt::layer()
            .json()
            .event_format(format)
            .with_writer(move || sink.clone());
        let subscriber = tracing_subscriber::registry().with(layer);
        let _current = under.map(|flags| {
            Context::new()
                .with_remote_span_context(SpanContext::new(
                    TraceId::from(0x4bf92f3577b34da6a3ce929d0e0e4736_u128),
                    SpanId::from(0x00f067aa0ba902b7_u64),
                    flags,
                    true,
                    TraceState::NONE,
                ))
                .attach()
        });
        tracing::subscriber::with_default(subscriber, log);
        let text = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
        assert_eq!(text.lines().count(), 1, "{text}");
        text
    }

    fn parsed(text: &str) -> Value {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn a_line_in_a_sampled_span_names_its_trace_and_span() {
        let line = parsed(&logged(Some(TraceFlags::SAMPLED), || tracing::info!(user = 3, "hello")));
        assert_eq!(line["message"], "hello");
        assert_eq!(line["user"], 3);
        assert_eq!(line["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(line["span_id"], "00f067aa0ba902b7");
    }

    #[test]
    fn a_line_outside_a_sampled_span_has_no_ids() {
        for under in [None, Some(TraceFlags::default())] {
            let line = parsed(&logged(under, || tracing::info!("hello")));
            assert_eq!(line["message"], "hello");
            assert!(line.get("trace_id").is_none() && line.get("span_id").is_none(), "{line}");
        }
    }

    #[test]
    fn a_line_naming_its_own_trace_keeps_it_once() {
        let text = logged(Some(TraceFlags::SAMPLED), || {
            tracing::warn!(trace_id = "4bf92f3577b34da6a3ce929d0e0e4736", "slow operation");
        });
        assert_eq!(text.matches("\"trace_id\"").count(), 1, "{text}");
        assert_eq!(parsed(&text)["span_id"], "00f067aa0ba902b7");
    }
}
