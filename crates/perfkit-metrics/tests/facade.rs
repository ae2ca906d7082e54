#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The `metrics` facade's series through perfkit's recorder: what a library emits shows in
//! the exposition and the closed interval with the same values, caps hold under a flood of
//! label values, memory stays flat without scrapes, and a real third-party crate
//! (tokio-metrics) shows up without glue.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use metrics::Unit;
use perfkit_core::{ManualClock, SeriesKind, Timestamp};
use perfkit_metrics::{
    BusinessConfig, FacadeRecorder, PrometheusExporter, Recorder, RecorderConfig,
    facade::OVERFLOW_LABEL,
};
use prometheus_parse::{Scrape, Value};

fn recorder(business: BusinessConfig) -> (Arc<Recorder>, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(Timestamp::from_unix_millis(0)));
    let config = RecorderConfig { business, ..RecorderConfig::default() };
    (Arc::new(Recorder::new(config, clock.clone()).unwrap()), clock)
}

fn scrape(recorder: &Arc<Recorder>) -> (String, Scrape) {
    let text = PrometheusExporter::new(Arc::clone(recorder), None).unwrap().render().unwrap();
    let lines = text.lines().map(|line| Ok(line.to_owned()));
    let scrape = Scrape::parse(lines).unwrap();
    (text, scrape)
}

/// A library that knows only the facade.
fn library_emits() {
    metrics::describe_counter!("orders_placed", "Orders placed, by region.");
    metrics::describe_histogram!("checkout_value", Unit::Bytes, "Checkout payload size.");
    metrics::describe_gauge!("carts_open", "Carts open now.");
    for (region, orders) in [("eu", 3), ("us", 5)] {
        metrics::counter!("orders_placed", "region" => region).increment(orders);
    }
    let carts = metrics::gauge!("carts_open");
    carts.set(10.0);
    carts.increment(2.0);
    carts.decrement(5.0);
    for size in [100.0, 300.0, 5_000.0] {
        metrics::histogram!("checkout_value", "region" => "eu").record(size);
    }
}

#[test]
fn a_library_s_series_agree_in_the_exposition_and_the_closed_interval() {
    let (recorder, clock) = recorder(BusinessConfig::default());
    metrics::with_local_recorder(&FacadeRecorder::new(Arc::clone(&recorder)), library_emits);
    clock.advance(Duration::from_secs(10));
    let closed = recorder.close_interval();
    let (text, scrape) = scrape(&recorder);

    assert!(text.contains("# HELP orders_placed_total Orders placed, by region.\n"), "{text}");
    assert!(text.contains("# TYPE orders_placed_total counter\n"));
    assert!(text.contains("# TYPE checkout_value_bytes histogram\n"), "unit suffix: {text}");
    assert!(text.contains("checkout_value_bytes_bucket{region=\"eu\",le=\"256\"} 1\n"));
    assert!(text.contains("checkout_value_bytes_bucket{region=\"eu\",le=\"+Inf\"} 3\n"));
    assert!(text.contains("# TYPE carts_open gauge\ncarts_open 7\n"));

    let sample = |name: &str, label: Option<(&str, &str)>| {
        scrape
            .samples
            .iter()
            .find(|s| s.metric == name && label.is_none_or(|(k, v)| s.labels.get(k) == Some(v)))
            .map(|s| match s.value {
                Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => v,
                _ => f64::NAN,
            })
    };
    let find = |name: &str, region: Option<&str>| {
        closed
            .business
            .iter()
            .find(|s| s.name == name && region.is_none_or(|r| s.labels["region"] == r))
            .unwrap_or_else(|| panic!("{name} missing from {:#?}", closed.business))
    };
    let eu = find("orders_placed", Some("eu"));
    assert_eq!(eu.kind, SeriesKind::Counter);
    assert_eq!(Some(eu.value), sample("orders_placed_total", Some(("region", "eu"))));
    assert_eq!((eu.increase, eu.rate_per_second), (Some(3.0), Some(0.3)));
    let us = find("orders_placed", Some("us"));
    assert_eq!(Some(us.value), sample("orders_placed_total", Some(("region", "us"))));
    let carts = find("carts_open", None);
    assert_eq!(Some(carts.value), sample("carts_open", None));
    let checkout = find("checkout_value", Some("eu"));
    assert_eq!(Some(checkout.value), sample("checkout_value_bytes_count", None));
    assert_eq!(checkout.sum, sample("checkout_value_bytes_sum", None));
    assert_eq!(checkout.sum, Some(5_400.0));
    assert!(checkout.p50.is_some_and(|p50| (256.0..=1024.0).contains(&p50)), "{checkout:?}");

    // The snapshot carries the same figures.
    let mut snapshot = perfkit_core::MetricsSnapshot::empty(closed.timestamp);
    closed.apply_to(&mut snapshot);
    assert_eq!(snapshot.business, closed.business);
}

#[test]
fn a_million_label_values_leave_the_cap_and_one_overflow_series() {
    let (recorder, _) = recorder(BusinessConfig::default());
    let cap = recorder.business().config().max_series_per_name;
    metrics::with_local_recorder(&FacadeRecorder::new(Arc::clone(&recorder)), || {
        for user in 0..1_000_000u32 {
            metrics::counter!("logins", "user" => user.to_string()).increment(1);
        }
    });
    assert_eq!(recorder.business().series(), cap);
    let (_, scrape) = scrape(&recorder);
    let logins: Vec<_> = scrape.samples.iter().filter(|s| s.metric == "logins_total").collect();
    assert_eq!(logins.len(), cap + 1, "the cap's series and one overflow series");
    let overflow = logins.iter().find(|s| s.labels.get(OVERFLOW_LABEL) == Some("true")).unwrap();
    assert_eq!(overflow.value, Value::Counter(f64::from(1_000_000 - u32::try_from(cap).unwrap())));
    let refused = scrape
        .samples
        .iter()
        .find(|s| {
            s.metric == "perfkit_facade_refused_total"
                && s.labels.get("reason") == Some("series_cap")
        })
        .unwrap();
    assert_eq!(refused.value, overflow.value);
}

fn resident_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

#[test]
fn memory_stays_flat_over_ten_million_recordings_without_a_scrape() {
    let (recorder, _) = recorder(BusinessConfig::default());
    let facade = FacadeRecorder::new(Arc::clone(&recorder));
    let regions = ["eu", "us", "ap", "sa"];
    let emit = |rounds: u32| {
        metrics::with_local_recorder(&facade, || {
            let requests = metrics::counter!("handled");
            let sizes = metrics::histogram!("body_bytes");
            for i in 0..rounds {
                requests.increment(1);
                sizes.record(f64::from(i % 10_000));
                if i % 10 == 0 {
                    let region = regions[(i as usize / 10) % regions.len()];
                    metrics::counter!("orders", "region" => region).increment(1);
                }
            }
        });
    };
    emit(100_000);
    let before = resident_bytes();
    emit(5_000_000);
    let after = resident_bytes();
    assert!(
        after.saturating_sub(before) < 2 * 1024 * 1024,
        "RSS grew from {before} to {after} bytes over 10 000 000 recordings"
    );
    assert_eq!(recorder.business().series(), 2 + regions.len());
}

#[test]
fn tokio_metrics_shows_up_without_glue() {
    let (recorder, _) = recorder(BusinessConfig::default());
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let mut reporter =
        metrics::with_local_recorder(&FacadeRecorder::new(Arc::clone(&recorder)), || {
            tokio_metrics::RuntimeMetricsReporterBuilder::default()
                .describe()
                .build_with_monitor(tokio_metrics::RuntimeMonitor::new(runtime.handle()))
        });
    reporter.run_once();
    let (text, scrape) = scrape(&recorder);
    let workers = scrape.samples.iter().find(|s| s.metric == "tokio_workers_count").unwrap();
    assert_eq!(workers.value, Value::Gauge(1.0), "{text}");
    assert!(text.contains("# HELP tokio_workers_count "), "described: {text}");
}

#[test]
fn configured_buckets_and_refusals_show_in_the_exposition() {
    let business = BusinessConfig {
        max_names: 2,
        buckets: BTreeMap::from([("latency_ms".to_owned(), vec![1.0, 10.0, 100.0])]),
        ..BusinessConfig::default()
    };
    let (recorder, _) = recorder(business);
    metrics::with_local_recorder(&FacadeRecorder::new(Arc::clone(&recorder)), || {
        metrics::histogram!("latency_ms").record(5.0);
        metrics::gauge!("latency_ms").set(1.0);
        metrics::counter!("second").increment(1);
        metrics::counter!("third_is_past_the_cap").increment(1);
    });
    let (text, _) = scrape(&recorder);
    assert!(text.contains("latency_ms_bucket{le=\"10\"} 1\n"), "{text}");
    assert!(text.contains("perfkit_facade_refused_total{reason=\"kind_conflict\"} 1\n"));
    assert!(text.contains("perfkit_facade_refused_total{reason=\"name_cap\"} 1\n"));
    assert!(!text.contains("third_is_past_the_cap"));
    assert!(text.contains("perfkit_facade_names 2\n"));
}

#[test]
fn a_facade_name_never_shadows_one_of_perfkit_s_own_families() {
    let (recorder, _) = recorder(BusinessConfig::default());
    metrics::with_local_recorder(&FacadeRecorder::new(Arc::clone(&recorder)), || {
        metrics::counter!("http_requests_total").increment(1);
    });
    let (text, _) = scrape(&recorder);
    assert_eq!(text.matches("# TYPE http_requests_total ").count(), 1, "{text}");
}

#[test]
fn bad_business_settings_name_their_field() {
    let config = RecorderConfig {
        business: BusinessConfig {
            max_series_per_name: 0,
            buckets: BTreeMap::from([("sizes".to_owned(), vec![2.0, 1.0])]),
            ..BusinessConfig::default()
        },
        ..RecorderConfig::default()
    };
    let error = Recorder::new(config, Arc::new(perfkit_core::SystemClock)).unwrap_err().to_string();
    assert!(error.contains("business.maxSeriesPerName"), "{error}");
    assert!(error.contains("business.buckets.sizes: bucket bounds must be strictly increasing"));
}
