#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The OpenMetrics 1.0 exposition, read back by a parser that holds it to the format's rules
//! (families declared before their samples, contiguous and unique; counter families without
//! `_total` and their samples with it; units as suffixes; exemplars only on `_bucket` lines,
//! with a label set of at most 128 characters, a value inside their bucket; `# EOF` last), and
//! held to the text format 0.0.4 of the same recorder: the same samples with the same values.

use std::cell::Cell;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use perfkit_core::{SampledSpan, SpanId, SystemClock, TraceId};
use perfkit_metrics::{
    ExpositionFormat, FacadeRecorder, Method, PrometheusExporter, Recorder, RecorderConfig,
};

thread_local! {
    /// The span "current" on this thread, as the tests set it.
    static CURRENT: Cell<Option<SampledSpan>> = const { Cell::new(None) };
}

fn current() -> Option<SampledSpan> {
    CURRENT.with(Cell::get)
}

fn span(trace: u128) -> SampledSpan {
    SampledSpan { trace_id: TraceId::from_u128(trace), span_id: SpanId::from_u64(0x5) }
}

/// One exemplar as written after ` # `.
#[derive(Debug, Clone, PartialEq)]
struct ParsedExemplar {
    labels: HashMap<String, String>,
    value: f64,
    timestamp: Option<f64>,
}

/// One sample line.
#[derive(Debug, Clone)]
struct ParsedSample {
    family: String,
    /// The sample as the text format 0.0.4 writes it: `name{labels} value`.
    line: String,
    name: String,
    labels: HashMap<String, String>,
    exemplar: Option<ParsedExemplar>,
}

/// The sample names a family of `kind` named `family` may have.
fn allowed_names(family: &str, kind: &str) -> Vec<String> {
    let with = |suffixes: &[&str]| suffixes.iter().map(|s| format!("{family}{s}")).collect();
    match kind {
        "counter" => with(&["_total", "_created"]),
        "histogram" => with(&["_bucket", "_sum", "_count", "_created"]),
        "summary" => with(&["", "_sum", "_count", "_created"]),
        "gauge" | "unknown" => with(&[""]),
        other => panic!("{family}: type {other} is not one this exposition writes"),
    }
}

/// `{a="x",b="y"}` at the start of `text` and what follows it.
fn parse_labels(text: &str) -> (HashMap<String, String>, &str) {
    let mut labels = HashMap::new();
    let mut rest = text.strip_prefix('{').expect("a label set");
    loop {
        if let Some(after) = rest.strip_prefix('}') {
            return (labels, after);
        }
        rest = rest.strip_prefix(',').unwrap_or(rest);
        let (name, after) = rest.split_once("=\"").expect("label=\"value\"");
        assert!(
            name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') && !name.is_empty(),
            "label name {name:?}"
        );
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            let (at, c) = chars.next().expect("a closed label value");
            match c {
                '"' => break at,
                '\\' => match chars.next().unwrap().1 {
                    '\\' => value.push('\\'),
                    '"' => value.push('"'),
                    'n' => value.push('\n'),
                    other => panic!("escape \\{other} is not OpenMetrics'"),
                },
                c => value.push(c),
            }
        };
        assert!(labels.insert(name.to_owned(), value).is_none(), "label {name} twice");
        rest = &after[end + 1..];
    }
}

fn number(text: &str) -> f64 {
    match text {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        "NaN" => f64::NAN,
        _ => text.parse().unwrap_or_else(|_| panic!("{text:?} is not a number")),
    }
}

/// Parses an OpenMetrics exposition, asserting its rules; returns its samples and the
/// families' types.
fn parse_open_metrics(text: &str) -> (Vec<ParsedSample>, HashMap<String, String>) {
    assert!(text.ends_with("# EOF\n"), "the exposition ends with # EOF");
    let body = &text[..text.len() - "# EOF\n".len()];
    assert!(!body.contains("# EOF"), "# EOF only at the end");
    let mut types: HashMap<String, String> = HashMap::new();
    let mut seen_families = BTreeSet::new();
    let mut current: Option<String> = None;
    let mut samples = Vec::new();
    for line in body.lines() {
        assert!(!line.is_empty(), "no empty lines in OpenMetrics");
        if let Some(meta) = line.strip_prefix("# ") {
            let (keyword, rest) = meta.split_once(' ').unwrap();
            let (family, value) = rest.split_once(' ').unwrap_or((rest, ""));
            if current.as_deref() != Some(family) {
                assert!(seen_families.insert(family.to_owned()), "family {family} is split");
                current = Some(family.to_owned());
            }
            match keyword {
                "HELP" => {
                    let unescaped_quote = value.replace("\\\\", "").replace("\\\"", "");
                    assert!(!unescaped_quote.contains('"'), "HELP escapes quotes: {line}");
                }
                "TYPE" => {
                    assert!(types.insert(family.to_owned(), value.to_owned()).is_none());
                    if value == "counter" {
                        assert!(!family.ends_with("_total"), "counter family {family}");
                    }
                }
                "UNIT" => {
                    assert!(family.ends_with(&format!("_{value}")), "unit of {family}: {value}");
                }
                other => panic!("unknown metadata {other}: {line}"),
            }
            continue;
        }
        let family = current.clone().expect("a sample after its family's TYPE");
        let kind = types.get(&family).unwrap_or_else(|| panic!("{family} has no TYPE"));
        let (sample, exemplar) = match line.split_once(" # ") {
            Some((sample, exemplar)) => (sample, Some(exemplar)),
            None => (line, None),
        };
        let name_end = sample.find(['{', ' ']).unwrap();
        let name = &sample[..name_end];
        assert!(
            allowed_names(&family, kind).iter().any(|allowed| allowed == name),
            "{name} in family {family} ({kind})"
        );
        let (labels, rest) = if sample[name_end..].starts_with('{') {
            parse_labels(&sample[name_end..])
        } else {
            (HashMap::new(), &sample[name_end..])
        };
        let mut fields = rest.trim_start().split(' ');
        let value = number(fields.next().unwrap());
        assert!(!value.is_nan() || kind == "gauge", "{line}");
        if let Some(timestamp) = fields.next() {
            number(timestamp);
        }
        let exemplar = exemplar.map(|text| {
            assert!(name.ends_with("_bucket"), "an exemplar on {name}, not a _bucket");
            let (labels, rest) = parse_labels(text);
            let chars: usize =
                labels.iter().map(|(k, v)| k.chars().count() + v.chars().count()).sum();
            assert!(chars <= 128, "an exemplar's label set is {chars} characters: {line}");
            let mut fields = rest.trim_start().split(' ');
            let value = number(fields.next().unwrap());
            let timestamp = fields.next().map(number);
            assert!(fields.next().is_none(), "{line}");
            ParsedExemplar { labels, value, timestamp }
        });
        samples.push(ParsedSample {
            family,
            line: sample.to_owned(),
            name: name.to_owned(),
            labels,
            exemplar,
        });
    }
    (samples, types)
}

/// A recorder with traced and untraced requests on a few routes, and a facade histogram
/// observed with and without a current span.
fn traced_recorder() -> Arc<Recorder> {
    perfkit_core::set_current_span_source(current);
    let config = RecorderConfig { max_routes: 2, ..RecorderConfig::default() };
    let recorder = Arc::new(Recorder::new(config, Arc::new(SystemClock)).unwrap());
    let ms = Duration::from_millis;
    recorder.record_request(Some("/plain"), Method::Get, 200, ms(3));
    recorder.record_request_traced(Some("/posts/{id}"), Method::Get, 200, ms(3), span(1));
    recorder.record_request_traced(Some("/posts/{id}"), Method::Get, 200, ms(4), span(2));
    recorder.record_request_traced(Some("/posts/{id}"), Method::Get, 503, ms(700), span(3));
    recorder.record_request_traced(Some("/posts/{id}"), Method::Get, 200, ms(12_000), span(4));
    recorder.record_request_traced(Some("/beyond/the/cap"), Method::Get, 200, ms(60), span(5));
    recorder.record_request_traced(None, Method::Get, 200, ms(20), span(6));
    recorder.record_error("db_timeout");
    recorder.record_db_statement("SELECT 1", ms(2), 1);
    metrics::with_local_recorder(&FacadeRecorder::new(Arc::clone(&recorder)), || {
        metrics::describe_histogram!("checkout_value", metrics::Unit::Bytes, "Say \"cheese\".");
        metrics::counter!("orders_placed").increment(3);
        metrics::histogram!("checkout_value").record(100.0);
        CURRENT.with(|c| c.set(Some(span(7))));
        metrics::histogram!("checkout_value").record(300.0);
        CURRENT.with(|c| c.set(None));
        metrics::histogram!("checkout_value").record(310.0);
    });
    recorder
}

fn exemplar_of<'a>(
    samples: &'a [ParsedSample],
    name: &str,
    labels: &[(&str, &str)],
) -> Option<&'a ParsedExemplar> {
    samples
        .iter()
        .find(|s| {
            s.name == name
                && labels.iter().all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .unwrap_or_else(|| panic!("no {name} {labels:?}"))
        .exemplar
        .as_ref()
}

#[test]
fn open_metrics_follows_the_format_and_carries_the_text_format_s_samples() {
    let recorder = traced_recorder();
    let exporter = PrometheusExporter::new(Arc::clone(&recorder), None).unwrap();
    let open = exporter.render_as(ExpositionFormat::OpenMetrics).unwrap();
    let text = exporter.render().unwrap();
    assert!(!text.contains("# EOF") && !text.contains(" # {"), "0.0.4 is unchanged: {text}");

    let (samples, types) = parse_open_metrics(&open);
    assert_eq!(types["http_requests"], "counter");
    assert_eq!(types["orders_placed"], "counter");
    assert_eq!(types["http_request_duration_seconds"], "histogram");
    assert!(open.contains("# UNIT http_request_duration_seconds seconds\n"), "{open}");
    assert!(open.contains("# UNIT checkout_value_bytes bytes\n"), "{open}");
    assert!(open.contains("# HELP checkout_value_bytes Say \\\"cheese\\\".\n"), "{open}");

    // One source, two encodings: every sample of 0.0.4, with the same value, and no other.
    let text_samples: BTreeSet<&str> =
        text.lines().filter(|line| !line.starts_with('#') && !line.is_empty()).collect();
    let open_samples: BTreeSet<&str> = samples.iter().map(|s| s.line.as_str()).collect();
    assert_eq!(open_samples, text_samples);
    let text_families: BTreeSet<String> = text
        .lines()
        .filter_map(|line| line.strip_prefix("# TYPE "))
        .map(|rest| rest.split(' ').next().unwrap().trim_end_matches("_total").to_owned())
        .collect();
    let open_families: BTreeSet<String> = types.keys().cloned().collect();
    assert_eq!(open_families, text_families);

    // The latest sampled request of each bucket, per route, with its trace and span.
    let bucket = "http_request_duration_seconds_bucket";
    let posts = |le| exemplar_of(&samples, bucket, &[("route", "/posts/{id}"), ("le", le)]);
    let first = posts("0.005").expect("an exemplar in the 5 ms bucket");
    assert_eq!(first.labels["trace_id"], span(2).trace_id.to_string(), "the latest one");
    assert_eq!(first.labels["span_id"], "0000000000000005");
    assert_eq!(first.value, 0.004);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
    let at = first.timestamp.expect("a timestamp");
    assert!((now.as_secs_f64() - at).abs() < 60.0, "seconds since the epoch: {at}");
    assert_eq!(posts("0.01"), None, "no request in (5 ms, 10 ms]");
    assert_eq!(posts("1").unwrap().labels["trace_id"], span(3).trace_id.to_string());
    assert_eq!(posts("+Inf").unwrap().value, 12.0);
    assert_eq!(exemplar_of(&samples, bucket, &[("route", "/plain"), ("le", "0.005")]), None);
    let overflow = exemplar_of(&samples, bucket, &[("route", "__overflow__"), ("le", "0.1")]);
    assert_eq!(overflow.unwrap().labels["trace_id"], span(5).trace_id.to_string());
    let unrouted = exemplar_of(&samples, bucket, &[("route", "__unrouted__"), ("le", "0.025")]);
    assert_eq!(unrouted.unwrap().value, 0.02);

    // Every exemplar lies in its bucket: at most its bound, above the one before.
    for sample in samples.iter().filter(|s| s.exemplar.is_some()) {
        let le = number(&sample.labels["le"]);
        let value = sample.exemplar.as_ref().unwrap().value;
        assert!(value <= le, "{} {value} > le {le}", sample.line);
        let lower = samples
            .iter()
            .filter(|s| s.family == sample.family && s.name == sample.name)
            .filter(|s| {
                let mut a = s.labels.clone();
                let mut b = sample.labels.clone();
                a.remove("le");
                b.remove("le");
                a == b
            })
            .map(|s| number(&s.labels["le"]))
            .filter(|bound| *bound < le)
            .fold(f64::NEG_INFINITY, f64::max);
        assert!(value > lower, "{} {value} <= the bucket below's {lower}", sample.line);
    }

    // A facade histogram's observation under a span, and none without one.
    let body = |le| exemplar_of(&samples, "checkout_value_bytes_bucket", &[("le", le)]);
    let traced = samples
        .iter()
        .filter(|s| s.name == "checkout_value_bytes_bucket")
        .find_map(|s| s.exemplar.as_ref())
        .expect("the observation made under a span");
    assert_eq!(
        (traced.value, traced.labels["trace_id"].clone()),
        (300.0, span(7).trace_id.to_string())
    );
    assert_eq!(body("+Inf"), None);
    let with_exemplars = samples.iter().filter(|s| s.exemplar.is_some()).count();
    assert_eq!(with_exemplars, 6, "{open}");
}

#[test]
fn a_reset_forgets_the_exemplars_and_the_route_figures_name_the_slowest() {
    let recorder = traced_recorder();
    let posts = recorder.snapshot().routes.slowest.into_iter().find(|r| r.route == "/posts/{id}");
    assert_eq!(posts.unwrap().slow_trace_id, Some(span(4).trace_id), "the highest bucket's");
    let plain = recorder.snapshot().routes.slowest.into_iter().find(|r| r.route == "/plain");
    assert_eq!(plain.unwrap().slow_trace_id, None);
    let closed = recorder.close_interval();
    assert_eq!(closed.slowest_exemplar.map(|e| e.span), Some(span(4)), "the slowest of all");
    let mut snapshot = perfkit_core::MetricsSnapshot::empty(closed.timestamp);
    closed.apply_to(&mut snapshot);
    assert_eq!(snapshot.slowest_exemplar.map(|e| e.value), Some(12.0));

    recorder.reset();
    let exporter = PrometheusExporter::new(Arc::clone(&recorder), None).unwrap();
    let open = exporter.render_as(ExpositionFormat::OpenMetrics).unwrap();
    assert!(!open.contains("trace_id"), "{open}");
    parse_open_metrics(&open);
}
