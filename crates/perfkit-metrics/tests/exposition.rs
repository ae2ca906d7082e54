#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The Prometheus exposition, parsed back with a Prometheus text-format parser.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use perfkit_core::SystemClock;
use perfkit_metrics::{
    FamilyBuilder, Method, PrometheusExporter, Recorder, RecorderCollector, RecorderConfig,
    SysinfoProbe, SystemProbe, family_desc,
};
use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus_parse::{Sample, Scrape, Value};

fn parse(text: &str) -> Scrape {
    Scrape::parse(text.lines().map(|line| Ok(line.to_owned()))).unwrap()
}

fn find<'a>(scrape: &'a Scrape, metric: &str, labels: &[(&str, &str)]) -> &'a Sample {
    scrape
        .samples
        .iter()
        .find(|sample| {
            sample.metric == metric
                && labels.iter().all(|(name, value)| sample.labels.get(name) == Some(*value))
        })
        .unwrap_or_else(|| panic!("no sample {metric} {labels:?}"))
}

fn scalar(sample: &Sample) -> f64 {
    match sample.value {
        Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => v,
        _ => panic!("{} is not a scalar", sample.metric),
    }
}

/// Every family has a HELP and a TYPE line, and TYPE names a known type.
fn family_types(text: &str) -> HashMap<String, String> {
    let helps: BTreeSet<&str> = text
        .lines()
        .filter_map(|line| line.strip_prefix("# HELP "))
        .filter_map(|rest| rest.split(' ').next())
        .collect();
    let types: HashMap<String, String> = text
        .lines()
        .filter_map(|line| line.strip_prefix("# TYPE "))
        .map(|rest| {
            let mut parts = rest.split(' ');
            (parts.next().unwrap().to_owned(), parts.next().unwrap().to_owned())
        })
        .collect();
    assert_eq!(helps.len(), types.len(), "HELP and TYPE lines pair up");
    for (name, kind) in &types {
        assert!(helps.contains(name.as_str()), "{name} has no HELP line");
        assert!(["counter", "gauge", "histogram"].contains(&kind.as_str()), "{name}: {kind}");
    }
    // Every sample belongs to a declared family.
    for line in text.lines().filter(|line| !line.starts_with('#') && !line.is_empty()) {
        let name = line.split(['{', ' ']).next().unwrap();
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|suffix| {
                name.strip_suffix(suffix)
                    .filter(|base| types.get(*base).is_some_and(|t| t == "histogram"))
            })
            .unwrap_or(name);
        assert!(types.contains_key(family), "sample {name} has no TYPE line");
    }
    types
}

// prometheus-parse cannot read a `}` inside a quoted label value (its sample regex stops at
// the first one), although the format allows it; so this test uses a `:id` template and
// `route_templates_with_braces_are_quoted_verbatim` checks axum-style `{id}` on the raw text.
const ROUTE: &str = "/api/posts/:id";

#[test]
fn exposition_parses_with_the_recorded_values() {
    let recorder = Arc::new(Recorder::default());
    for _ in 0..3 {
        recorder.record_request(Some(ROUTE), Method::Get, 200, Duration::from_millis(20));
    }
    recorder.record_request(Some(ROUTE), Method::Get, 503, Duration::from_millis(700));
    recorder.record_request(None, Method::Post, 201, Duration::from_millis(3));
    recorder.record_error("db_timeout");
    recorder.record_db_query(Duration::from_millis(30));
    recorder.record_ws_opened();
    recorder.record_ws_message();

    let exporter = PrometheusExporter::new(Arc::clone(&recorder), None).unwrap();
    let text = exporter.render().unwrap();
    let types = family_types(&text);
    for (name, kind) in [
        ("http_requests_total", "counter"),
        ("http_request_duration_seconds", "histogram"),
        ("http_errors_total", "counter"),
        ("db_query_duration_seconds", "histogram"),
        ("websocket_connections_total", "counter"),
        ("websocket_messages_total", "counter"),
    ] {
        assert_eq!(types.get(name).map(String::as_str), Some(kind), "{name}");
    }
    // Figures with other owners are not the recorder's to export.
    for name in [
        "cache_operations_total",
        "cache_hit_rate",
        "websocket_connections_active",
        "job_queue_length",
    ] {
        assert!(!types.contains_key(name), "{name} has another owner");
    }

    let scrape = parse(&text);
    let route = ("route", ROUTE);
    assert_eq!(
        scalar(find(
            &scrape,
            "http_requests_total",
            &[("method", "GET"), route, ("status", "2xx")]
        )),
        3.0
    );
    assert_eq!(
        scalar(find(
            &scrape,
            "http_requests_total",
            &[("method", "GET"), route, ("status", "5xx")]
        )),
        1.0
    );
    assert_eq!(
        scalar(find(
            &scrape,
            "http_requests_total",
            &[("method", "POST"), ("route", "__unrouted__")]
        )),
        1.0
    );
    let Value::Histogram(buckets) = &find(&scrape, "http_request_duration_seconds", &[route]).value
    else {
        panic!("not a histogram");
    };
    let at = |le: f64| buckets.iter().find(|b| b.less_than == le).unwrap().count;
    assert_eq!(at(0.01), 0.0);
    assert_eq!(at(0.025), 3.0);
    assert_eq!(at(0.5), 3.0);
    assert_eq!(at(1.0), 4.0);
    assert_eq!(at(f64::INFINITY), 4.0);
    let sum = scalar(find(&scrape, "http_request_duration_seconds_sum", &[route]));
    assert!((sum - 0.76).abs() < 1e-9, "{sum}");
    assert_eq!(scalar(find(&scrape, "http_request_duration_seconds_count", &[route])), 4.0);

    assert_eq!(scalar(find(&scrape, "http_errors_total", &[("kind", "db_timeout")])), 1.0);
    assert_eq!(scalar(find(&scrape, "http_errors_total", &[("kind", "other")])), 0.0);
    assert_eq!(scalar(find(&scrape, "websocket_connections_total", &[])), 1.0);
    assert_eq!(scalar(find(&scrape, "websocket_messages_total", &[])), 1.0);
    assert_eq!(scalar(find(&scrape, "db_query_duration_seconds_count", &[])), 1.0);
}

#[test]
fn route_templates_with_braces_are_quoted_verbatim() {
    let recorder = Arc::new(Recorder::default());
    recorder.record_request(
        Some("/api/users/{id}/posts"),
        Method::Get,
        200,
        Duration::from_millis(1),
    );
    recorder.record_request(Some("/q/\"quoted\""), Method::Get, 200, Duration::from_millis(1));
    let text = PrometheusExporter::new(recorder, None).unwrap().render().unwrap();
    assert!(text.contains(
        r#"http_requests_total{method="GET",route="/api/users/{id}/posts",status="2xx"} 1"#
    ));
    // Quotes in a label value are escaped, so a hostile route cannot break the format.
    assert!(text.contains(r#"route="/q/\"quoted\"""#), "{text}");
}

#[test]
fn scrapes_read_live_values_and_accumulate_nothing() {
    let recorder = Arc::new(Recorder::default());
    let exporter = PrometheusExporter::new(Arc::clone(&recorder), None).unwrap();
    recorder.record_ws_message();
    let first = exporter.render().unwrap();
    recorder.record_ws_message();
    let second = exporter.render().unwrap();
    assert!(first.contains("websocket_messages_total 1"));
    assert!(second.contains("websocket_messages_total 2"));
    // Same figures, same text: a scrape reads, it does not drain or grow anything.
    assert_eq!(exporter.render().unwrap(), second);
    // Nor does it move an interval boundary: the recorder still reports the running one.
    recorder.record_request(None, Method::Get, 200, Duration::from_millis(1));
    exporter.render().unwrap();
    assert_eq!(recorder.snapshot().requests.interval, 1);
    assert_eq!(recorder.close_interval().requests.interval, 1);
}

#[test]
fn system_and_process_gauges_come_from_the_probe() {
    let probe: Arc<dyn SystemProbe> = Arc::new(SysinfoProbe::new().unwrap());
    let exporter = PrometheusExporter::new(Arc::new(Recorder::default()), Some(probe)).unwrap();
    let text = exporter.render().unwrap();
    let types = family_types(&text);
    for name in [
        "process_resident_memory_bytes",
        "system_memory_total_bytes",
        "system_memory_usage_ratio",
        "system_load_average",
        "system_network_received_bytes_total",
    ] {
        assert!(types.contains_key(name), "{name} missing");
    }
    let scrape = parse(&text);
    assert!(scalar(find(&scrape, "process_resident_memory_bytes", &[])) > 1_000_000.0);
    let usage = scalar(find(&scrape, "system_memory_usage_ratio", &[]));
    assert!((0.0..=1.0).contains(&usage));
    assert!(scalar(find(&scrape, "system_load_average", &[("window", "5m")])) >= 0.0);
}

/// Every sample of a scrape as a comparable line (metric, sorted labels, value), sorted: two
/// texts carry the same samples when these are equal, whatever order they were written in.
fn sample_lines(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = parse(text)
        .samples
        .iter()
        .map(|sample| {
            let mut labels: Vec<_> = sample.labels.iter().collect();
            labels.sort();
            format!("{} {labels:?} {:?}", sample.metric, sample.value)
        })
        .collect();
    lines.sort();
    lines
}

/// A recorder with routes (one beyond the cap), unrouted requests, errors (one kind beyond
/// the cap), DB queries with and without a statement (one beyond the cap), a pool acquire,
/// WebSocket figures, and label values that
/// need escaping.
fn busy_recorder() -> Arc<Recorder> {
    let config = RecorderConfig {
        max_routes: 3,
        max_error_kinds: 2,
        max_statements: 2,
        ..RecorderConfig::default()
    };
    let recorder = Arc::new(Recorder::new(config, Arc::new(SystemClock)).unwrap());
    // perfkit's own answers and upgrades, host and own, in families of their own.
    recorder.record_own_request(Method::Get, 200, Duration::from_millis(2));
    recorder.record_own_request(Method::Get, 503, Duration::from_millis(2));
    recorder.record_own_request(Method::Get, 101, Duration::from_millis(2));
    recorder.record_request(Some("/ws"), Method::Get, 101, Duration::from_millis(2));
    let escaped_route = "/q/\"quoted\"/back\\slash/new\nline";
    for (index, route) in
        ["/api/posts/:id", "/api/users", escaped_route, "/beyond/the/cap"].iter().enumerate()
    {
        for sample in 0..25_u64 {
            let status = [200, 201, 404, 503, 302][usize::try_from(sample).unwrap() % 5];
            let method = [Method::Get, Method::Post, Method::Delete][index % 3];
            let micros = 300 + sample * sample * 9_000 + index as u64 * 1_000_000;
            recorder.record_request(Some(route), method, status, Duration::from_micros(micros));
        }
    }
    recorder.record_request(None, Method::Options, 204, Duration::from_millis(3));
    recorder.record_request(Some("/slow"), Method::Get, 200, Duration::from_secs(30));
    for kind in ["db_timeout", "quote\"and\\back", "db_timeout", "beyond_cap"] {
        recorder.record_error(kind);
    }
    recorder.record_db_query(Duration::from_micros(1_234_567));
    // (prometheus-parse, which the comparison reads through, loses labels holding `=`.)
    recorder.record_db_statement(
        "SELECT \"q\" FROM t WHERE id IN (?)",
        Duration::from_millis(4),
        1,
    );
    recorder.record_db_statement("UPDATE t SET\nx", Duration::from_millis(40), 3);
    recorder.record_db_statement("DELETE FROM beyond_the_cap", Duration::from_millis(2), 7);
    recorder.record_pool_acquire(Duration::from_micros(800));
    recorder.record_ws_opened();
    recorder.record_ws_message();
    recorder.record_ws_message();
    recorder
}

#[test]
fn the_text_writer_carries_the_same_samples_as_the_protobuf_path() {
    let recorder = busy_recorder();
    let written = PrometheusExporter::new(Arc::clone(&recorder), None).unwrap().render().unwrap();

    let registry = prometheus::Registry::new();
    registry.register(Box::new(RecorderCollector::new(Arc::clone(&recorder)).unwrap())).unwrap();
    let encoded = prometheus::TextEncoder::new().encode_to_string(&registry.gather()).unwrap();

    family_types(&written);
    let (written_lines, encoded_lines) = (sample_lines(&written), sample_lines(&encoded));
    assert!(written_lines.len() > 30, "{} samples", written_lines.len());
    assert_eq!(written_lines, encoded_lines);
    assert_eq!(parse(&written).docs, parse(&encoded).docs, "HELP texts");
    // The escapes themselves, as the format spells them, in both texts.
    for text in [&written, &encoded] {
        assert!(text.contains(r#"route="/q/\"quoted\"/back\\slash/new\nline""#), "{text}");
        assert!(text.contains(r#"kind="quote\"and\\back""#));
        assert!(text.contains(r#"db_statement_rows_total{statement="UPDATE t SET\nx"} 3"#));
        assert!(text.contains(
            r#"db_statement_rows_total{statement="SELECT \"q\" FROM t WHERE id IN (?)"} 1"#
        ));
        assert!(text.contains(r#"db_statement_rows_total{statement="__overflow__"} 7"#));
        assert!(text.contains("db_pool_acquire_duration_seconds_count 1"));
        assert!(text.contains(r#"route="__overflow__""#));
    }
}

/// A collector an orchestrator might add, with each family type the builders make.
struct HostCollector {
    descs: Vec<Desc>,
}

impl Collector for HostCollector {
    fn desc(&self) -> Vec<&Desc> {
        self.descs.iter().collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let mut hits = FamilyBuilder::counter("cache_hits_total", "Hits, by \\ backend\n.");
        hits.value(&[("backend", "mem\"ory")], 42.0).value(&[("backend", "redis")], 7.5);
        let mut keys = FamilyBuilder::gauge("cache_keys", "Keys held.");
        keys.value(&[], 1e21).value(&[], -0.25);
        let mut latency = FamilyBuilder::histogram("cache_get_seconds", "Get latency.");
        latency.histogram_sample(&[("op", "get")], &[0.001, 0.5], &[3, 9], 10, 1.75);
        vec![hits.finish(), keys.finish(), latency.finish()]
    }
}

#[test]
fn registered_collectors_are_written_as_the_prometheus_encoder_writes_them() {
    let exporter = PrometheusExporter::new(Arc::new(Recorder::default()), None).unwrap();
    let descs = ["cache_hits_total", "cache_keys", "cache_get_seconds"]
        .iter()
        .map(|name| family_desc(name, "help", &[]).unwrap())
        .collect();
    exporter.registry().register(Box::new(HostCollector { descs })).unwrap();
    let text = exporter.render().unwrap();

    let alone = prometheus::Registry::new();
    let descs = vec![family_desc("cache_hits_total", "help", &[]).unwrap()];
    alone.register(Box::new(HostCollector { descs })).unwrap();
    let encoded = prometheus::TextEncoder::new().encode_to_string(&alone.gather()).unwrap();
    // Byte for byte: the registry's families follow the recorder's.
    assert!(text.ends_with(&encoded), "{text}\n---\n{encoded}");
    family_types(&text);
}

#[test]
fn a_collector_claiming_a_recorder_family_is_refused() {
    let exporter = PrometheusExporter::new(Arc::new(Recorder::default()), None).unwrap();
    let descs = vec![family_desc("http_requests_total", "again", &[]).unwrap()];
    assert!(exporter.registry().register(Box::new(HostCollector { descs })).is_err());
}
