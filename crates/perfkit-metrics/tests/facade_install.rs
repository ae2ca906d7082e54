#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Installing perfkit as the process's global `metrics` recorder: once, and a clear error the
//! second time. Its own test binary, because the global recorder is per process.

use std::sync::Arc;

use perfkit_metrics::{MetricsError, PrometheusExporter, Recorder};

#[test]
fn installs_once_and_refuses_a_second_recorder() {
    let recorder = Arc::new(Recorder::default());
    perfkit_metrics::facade::install(Arc::clone(&recorder)).unwrap();
    metrics::counter!("signups", "plan" => "pro").increment(2);

    let again = perfkit_metrics::facade::install(Arc::new(Recorder::default()));
    assert!(matches!(again, Err(MetricsError::RecorderAlreadyInstalled)), "{again:?}");
    let message = again.unwrap_err().to_string();
    assert!(message.contains("already installed") && message.contains("FanoutBuilder"));

    let text = PrometheusExporter::new(recorder, None).unwrap().render().unwrap();
    assert!(text.contains("signups_total{plan=\"pro\"} 2\n"), "{text}");
}
