//! A writer of the Prometheus text exposition format 0.0.4, and of OpenMetrics 1.0, into a
//! `String`: one writer, the two encodings differing only where the formats do.
//!
//! Written by hand rather than through the `prometheus` crate's `TextEncoder` so the
//! recorder's families go from its atomics straight to text, with no protobuf `MetricFamily`
//! built, sorted and dropped on every scrape (that round trip made a scrape of 1 000 routes
//! 1.58x slower than the crate's own gather+encode). The rules followed, from the format's
//! specification:
//!
//! - `# HELP name text` with `\` and newline escaped in the text, then `# TYPE name type`;
//!   every sample of a family follows its two lines, with no other family in between.
//! - A label value is quoted, with `\`, `"` and newline escaped as `\\`, `\"` and `\n`.
//! - Values are Go-style floats: `+Inf`, `-Inf` and `NaN` spelled so; integers without a
//!   fraction.
//! - A histogram is its `_bucket` series with an `le` label (cumulative, ending with
//!   `le="+Inf"`, which equals `_count`), then `_sum` and `_count`.
//!
//! OpenMetrics 1.0 differs in what this writer does as follows: a counter family is named
//! without its `_total` (`# TYPE http_requests counter`) while its samples keep it; a family
//! whose name ends in `_seconds` or `_bytes` has a `# UNIT` line; HELP escapes `"` too;
//! `untyped` is `unknown`; timestamps are in seconds; a histogram's `_bucket` line may end
//! with an exemplar (` # {trace_id="…",span_id="…"} value timestamp`); the text ends with
//! `# EOF`.

use std::fmt::Write as _;

use perfkit_core::Exemplar;
use prometheus::proto::{Metric, MetricFamily, MetricType};

use super::ExpositionFormat;

/// Appends `# HELP` and `# TYPE` lines for a family (and `# UNIT` in OpenMetrics). `name` is
/// the name its samples have (a counter's ends in `_total`).
pub(crate) fn write_header(
    out: &mut String,
    name: &str,
    help: &str,
    kind: &str,
    format: ExpositionFormat,
) {
    let (family, kind) = match format {
        ExpositionFormat::PrometheusText => (name, kind),
        ExpositionFormat::OpenMetrics => open_metrics_family(name, kind),
    };
    if !help.is_empty() {
        out.push_str("# HELP ");
        out.push_str(family);
        out.push(' ');
        write_escaped(out, help, format == ExpositionFormat::OpenMetrics);
        out.push('\n');
    }
    out.push_str("# TYPE ");
    out.push_str(family);
    out.push(' ');
    out.push_str(kind);
    out.push('\n');
    if format == ExpositionFormat::OpenMetrics {
        let unit = ["seconds", "bytes"]
            .into_iter()
            .find(|unit| family.strip_suffix(unit).is_some_and(|stem| stem.ends_with('_')));
        if let Some(unit) = unit {
            out.push_str("# UNIT ");
            out.push_str(family);
            out.push(' ');
            out.push_str(unit);
            out.push('\n');
        }
    }
}

/// An OpenMetrics family's name and type for a family whose samples are named `name`: a
/// counter's family drops the `_total` its samples carry; `untyped` is `unknown`.
fn open_metrics_family<'a>(name: &'a str, kind: &'a str) -> (&'a str, &'a str) {
    match kind {
        "counter" => (name.strip_suffix("_total").unwrap_or(name), kind),
        "untyped" => (name, "unknown"),
        _ => (name, kind),
    }
}

/// Appends an OpenMetrics exemplar to a `_bucket` line (before its newline):
/// ` # {trace_id="…",span_id="…"} value timestamp`, the timestamp in seconds.
pub(crate) fn write_exemplar(out: &mut String, exemplar: &Exemplar) {
    // The label set is 63 characters, within OpenMetrics' 128.
    let _ = write!(
        out,
        " # {{trace_id=\"{}\",span_id=\"{}\"}} ",
        exemplar.span.trace_id, exemplar.span.span_id
    );
    write_f64(out, exemplar.value);
    out.push(' ');
    write_millis_as_seconds(out, exemplar.timestamp.as_unix_millis());
}

/// Appends a Unix time in milliseconds as seconds (`1700000000.123`), OpenMetrics' unit.
pub(crate) fn write_millis_as_seconds(out: &mut String, millis: i64) {
    let sign = if millis < 0 { "-" } else { "" };
    let millis = millis.unsigned_abs();
    let _ = write!(out, "{sign}{}.{:03}", millis / 1000, millis % 1000);
}

/// Ends an OpenMetrics exposition; nothing for the text format.
pub(crate) fn write_end(out: &mut String, format: ExpositionFormat) {
    if format == ExpositionFormat::OpenMetrics {
        out.push_str("# EOF\n");
    }
}

/// Appends `value` escaped for a label value (`quotes`) or a HELP text (no quotes escaped).
pub(crate) fn write_escaped(out: &mut String, value: &str, quotes: bool) {
    let needs_escape = |byte: u8| byte == b'\\' || byte == b'\n' || (quotes && byte == b'"');
    // Route templates and kinds almost never need escaping: copy them whole.
    if !value.bytes().any(needs_escape) {
        out.push_str(value);
        return;
    }
    for character in value.chars() {
        match character {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '"' if quotes => out.push_str("\\\""),
            other => out.push(other),
        }
    }
}

/// Appends `name="value"` with the value escaped.
pub(crate) fn write_label(out: &mut String, name: &str, value: &str) {
    out.push_str(name);
    out.push_str("=\"");
    write_escaped(out, value, true);
    out.push('"');
}

/// Appends an unsigned integer value.
pub(crate) fn write_u64(out: &mut String, value: u64) {
    out.push_str(itoa::Buffer::new().format(value));
}

/// Appends a float value as Prometheus spells it.
pub(crate) fn write_f64(out: &mut String, value: f64) {
    if value.is_nan() {
        out.push_str("NaN");
    } else if value.is_infinite() {
        out.push_str(if value > 0.0 { "+Inf" } else { "-Inf" });
    } else {
        // Display is the shortest text that reads back as the same float, the form the
        // `prometheus` crate writes too. Writing to a String cannot fail.
        let _ = write!(out, "{value}");
    }
}

/// Appends a duration in microseconds as seconds: exact decimal digits, so the text reads back
/// as the same float as `micros as f64 / 1e6`, without a float formatting pass.
pub(crate) fn write_micros_as_seconds(out: &mut String, micros: u64) {
    write_u64(out, micros / 1_000_000);
    let fraction = micros % 1_000_000;
    if fraction != 0 {
        let mut buffer = itoa::Buffer::new();
        let digits = buffer.format(fraction);
        out.push('.');
        for _ in digits.len()..6 {
            out.push('0');
        }
        out.push_str(digits.trim_end_matches('0'));
    }
}

/// Appends the families a `prometheus::Registry` gathered, as `TextEncoder` would write them
/// (and `untyped` families, which it cannot). In OpenMetrics a counter's samples end in
/// `_total` even where the family's name does not, as the Go client writes them.
pub(crate) fn write_families(
    out: &mut String,
    families: &[MetricFamily],
    format: ExpositionFormat,
) {
    let mut counter_name = String::new();
    for family in families {
        let mut name = family.name();
        let kind = family.get_field_type();
        if format == ExpositionFormat::OpenMetrics
            && kind == MetricType::COUNTER
            && !name.ends_with("_total")
        {
            counter_name.clear();
            counter_name.push_str(name);
            counter_name.push_str("_total");
            name = &counter_name;
        }
        let kind_name = match kind {
            MetricType::COUNTER => "counter",
            MetricType::GAUGE => "gauge",
            MetricType::HISTOGRAM => "histogram",
            MetricType::SUMMARY => "summary",
            MetricType::UNTYPED => "untyped",
        };
        write_header(out, name, family.help(), kind_name, format);
        for metric in family.get_metric() {
            write_metric(out, name, kind, metric, format);
        }
    }
}

fn write_metric(
    out: &mut String,
    name: &str,
    kind: MetricType,
    metric: &Metric,
    format: ExpositionFormat,
) {
    match kind {
        MetricType::COUNTER => {
            write_sample(out, name, "", metric, None, metric.get_counter().value(), format);
        }
        MetricType::GAUGE => {
            write_sample(out, name, "", metric, None, metric.get_gauge().value(), format);
        }
        MetricType::UNTYPED => {
            write_sample(out, name, "", metric, None, metric.untyped.value(), format);
        }
        MetricType::HISTOGRAM => {
            let histogram = metric.get_histogram();
            let mut inf_seen = false;
            let mut bound = String::new();
            for bucket in histogram.get_bucket() {
                let upper = bucket.upper_bound();
                inf_seen |= upper.is_infinite() && upper > 0.0;
                bound.clear();
                write_f64(&mut bound, upper);
                #[allow(clippy::cast_precision_loss)]
                let count = bucket.cumulative_count() as f64;
                write_sample(out, name, "_bucket", metric, Some(("le", &bound)), count, format);
            }
            #[allow(clippy::cast_precision_loss)]
            let count = histogram.get_sample_count() as f64;
            if !inf_seen {
                write_sample(out, name, "_bucket", metric, Some(("le", "+Inf")), count, format);
            }
            write_sample(out, name, "_sum", metric, None, histogram.get_sample_sum(), format);
            write_sample(out, name, "_count", metric, None, count, format);
        }
        MetricType::SUMMARY => {
            let summary = metric.get_summary();
            let mut quantile = String::new();
            for point in summary.get_quantile() {
                quantile.clear();
                write_f64(&mut quantile, point.quantile());
                write_sample(
                    out,
                    name,
                    "",
                    metric,
                    Some(("quantile", &quantile)),
                    point.value(),
                    format,
                );
            }
            write_sample(out, name, "_sum", metric, None, summary.sample_sum(), format);
            #[allow(clippy::cast_precision_loss)]
            let count = summary.sample_count() as f64;
            write_sample(out, name, "_count", metric, None, count, format);
        }
    }
}

fn write_sample(
    out: &mut String,
    name: &str,
    suffix: &str,
    metric: &Metric,
    extra_label: Option<(&str, &str)>,
    value: f64,
    format: ExpositionFormat,
) {
    out.push_str(name);
    out.push_str(suffix);
    let labels = metric.get_label();
    if !labels.is_empty() || extra_label.is_some() {
        out.push('{');
        let mut first = true;
        for pair in labels {
            if !first {
                out.push(',');
            }
            first = false;
            write_label(out, pair.name(), pair.value());
        }
        if let Some((label, value)) = extra_label {
            if !first {
                out.push(',');
            }
            write_label(out, label, value);
        }
        out.push('}');
    }
    out.push(' ');
    write_f64(out, value);
    let timestamp = metric.timestamp_ms();
    if timestamp != 0 {
        out.push(' ');
        match format {
            ExpositionFormat::PrometheusText => out.push_str(itoa::Buffer::new().format(timestamp)),
            ExpositionFormat::OpenMetrics => write_millis_as_seconds(out, timestamp),
        }
    }
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_escape_backslash_quote_and_newline() {
        let mut out = String::new();
        write_label(&mut out, "route", "a\\b\"c\nd{e}");
        assert_eq!(out, r#"route="a\\b\"c\nd{e}""#);
    }

    #[test]
    fn help_escapes_backslash_and_newline_but_not_quotes() {
        let mut out = String::new();
        write_header(
            &mut out,
            "x_total",
            "say \"hi\"\\\nthere",
            "counter",
            ExpositionFormat::PrometheusText,
        );
        assert_eq!(out, "# HELP x_total say \"hi\"\\\\\\nthere\n# TYPE x_total counter\n");
    }

    #[test]
    fn open_metrics_headers_name_counter_families_without_total_and_give_units() {
        let om = ExpositionFormat::OpenMetrics;
        let mut out = String::new();
        write_header(&mut out, "sent_bytes_total", "say \"hi\"", "counter", om);
        write_header(&mut out, "wait_seconds", "", "histogram", om);
        write_header(&mut out, "odd", "", "untyped", om);
        write_header(&mut out, "microseconds", "", "gauge", om);
        assert_eq!(
            out,
            "# HELP sent_bytes say \\\"hi\\\"\n# TYPE sent_bytes counter\n# UNIT sent_bytes bytes\n\
             # TYPE wait_seconds histogram\n# UNIT wait_seconds seconds\n# TYPE odd unknown\n\
             # TYPE microseconds gauge\n"
        );
    }

    #[test]
    fn exemplars_and_timestamps_are_in_seconds() {
        use perfkit_core::{SampledSpan, SpanId, Timestamp, TraceId};
        let mut out = String::new();
        let span =
            SampledSpan { trace_id: TraceId::from_u128(0xabc), span_id: SpanId::from_u64(0xd) };
        let exemplar = Exemplar {
            span,
            value: 0.042,
            timestamp: Timestamp::from_unix_millis(1_700_000_000_005),
        };
        write_exemplar(&mut out, &exemplar);
        assert_eq!(
            out,
            " # {trace_id=\"00000000000000000000000000000abc\",span_id=\"000000000000000d\"} 0.042 1700000000.005"
        );
        let labels = format!("trace_id{}span_id{}", span.trace_id, span.span_id);
        assert!(labels.chars().count() <= 128, "OpenMetrics' bound on an exemplar's labels");
    }

    #[test]
    fn floats_are_spelled_as_prometheus_reads_them() {
        for (value, text) in [
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
            (f64::NAN, "NaN"),
            (1.0, "1"),
            (0.005, "0.005"),
            (-2.5, "-2.5"),
        ] {
            let mut out = String::new();
            write_f64(&mut out, value);
            assert_eq!(out, text);
        }
    }

    #[test]
    fn micros_as_seconds_read_back_as_the_divided_float() {
        for micros in [0, 1, 10, 999_999, 1_000_000, 1_000_001, 760_000, 123_456_789, (1 << 53) - 1]
        {
            let mut out = String::new();
            write_micros_as_seconds(&mut out, micros);
            #[allow(clippy::cast_precision_loss)]
            let expected = micros as f64 / 1_000_000.0;
            assert_eq!(out.parse::<f64>().unwrap(), expected, "{micros}: {out}");
        }
        let mut out = String::new();
        write_micros_as_seconds(&mut out, 1_050_000);
        assert_eq!(out, "1.05");
    }
}
