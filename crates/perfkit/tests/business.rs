#![allow(clippy::unwrap_used, clippy::expect_used)]
//! A host installs perfkit as the process's `metrics` recorder; a library that knows only the
//! facade (`checkout-library`) emits; every figure reaches the snapshot, the history and the
//! exposition with the same values at one moment. Its own test binary: the global recorder is
//! per process.

use std::sync::Arc;
use std::time::Duration;

use perfkit::core::{BusinessSeries, SeriesKind, Timestamp};
use perfkit::metrics::{Recorder, RecorderConfig};
use perfkit::{PerformanceService, TokioClock};

fn exposed(text: &str, sample: &str) -> f64 {
    let line = text
        .lines()
        .find(|line| line.starts_with(sample) && line[sample.len()..].starts_with(' '))
        .unwrap_or_else(|| panic!("{sample} missing from:\n{text}"));
    line[sample.len() + 1..].parse().unwrap()
}

fn series<'a>(
    all: &'a [BusinessSeries],
    name: &str,
    labels: &[(&str, &str)],
) -> &'a BusinessSeries {
    all.iter()
        .find(|s| {
            s.name == name
                && labels.iter().all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .unwrap_or_else(|| panic!("{name} {labels:?} missing from {all:#?}"))
}

#[tokio::test(start_paused = true)]
async fn a_facade_library_s_figures_agree_on_every_surface() {
    let clock = Arc::new(TokioClock::starting_at(Timestamp::from_unix_millis(1_764_000_000_000)));
    let recorder = Recorder::new(RecorderConfig::default(), clock.clone()).unwrap();
    let service =
        PerformanceService::builder().clock(clock).recorder(Arc::new(recorder)).build().unwrap();
    perfkit::metrics_facade::install(&service).unwrap();
    let again = perfkit::metrics_facade::install(&service).unwrap_err().to_string();
    assert!(again.contains("already installed"), "{again}");

    checkout_library::describe();
    for _ in 0..30 {
        checkout_library::checkout("eu", true, 40.0);
    }
    for _ in 0..6 {
        checkout_library::checkout("eu", false, 0.0);
    }
    checkout_library::checkout("us", true, 400.0);
    checkout_library::carts_open(12);
    tokio::time::advance(Duration::from_secs(30)).await;
    let snapshot = service.collect_now().await;
    let text = service.parts().exporter.render().unwrap();
    let history = service.readout().history(10);
    assert_eq!(history.last().unwrap().business, snapshot.business, "history holds the snapshot");

    let ok = series(&snapshot.business, "checkouts", &[("region", "eu"), ("outcome", "ok")]);
    assert_eq!(ok.kind, SeriesKind::Counter);
    assert_eq!((ok.value, ok.increase, ok.rate_per_second), (30.0, Some(30.0), Some(1.0)));
    assert_eq!(ok.value, exposed(&text, r#"checkouts_total{outcome="ok",region="eu"}"#));
    let failed = series(&snapshot.business, "checkouts", &[("outcome", "failed")]);
    assert_eq!(failed.value, exposed(&text, r#"checkouts_total{outcome="failed",region="eu"}"#));
    let carts = series(&snapshot.business, "carts_open", &[]);
    assert_eq!((carts.kind, carts.value), (SeriesKind::Gauge, 12.0));
    assert_eq!(carts.value, exposed(&text, "carts_open"));
    let value = series(&snapshot.business, "checkout_value", &[("region", "eu")]);
    assert_eq!(value.kind, SeriesKind::Histogram);
    assert_eq!(value.value, exposed(&text, r#"checkout_value_count{region="eu"}"#));
    assert_eq!(value.sum, Some(exposed(&text, r#"checkout_value_sum{region="eu"}"#)));
    assert!(text.contains("# HELP checkouts_total Checkouts by region and outcome.\n"));

    // The next interval reports its own growth; reads in between change nothing.
    checkout_library::checkout("eu", true, 40.0);
    let _ = service.parts().exporter.render().unwrap();
    tokio::time::advance(Duration::from_secs(30)).await;
    let next = service.collect_now().await;
    let ok = series(&next.business, "checkouts", &[("region", "eu"), ("outcome", "ok")]);
    assert_eq!((ok.value, ok.increase), (31.0, Some(1.0)));
    assert_eq!(service.readout().history(10).len(), 2);
}
