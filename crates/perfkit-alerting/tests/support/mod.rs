//! Helpers shared by the integration tests: rule builders, snapshots on a manual clock, a
//! recording notifier, and a tiny HTTP receiver that can answer, fail, or hang.
#![allow(dead_code, unreachable_pub)] // each test binary uses a different part of this module

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use perfkit_alerting::{
    AlertEngine, AlertRule, AlertingError, Comparison, Condition, EngineConfig, Notification,
    Notifier, RuleSet, ThresholdCondition,
};
use perfkit_core::{ManualClock, Metric, MetricsSnapshot, Severity, Timestamp};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

pub(crate) const START: Timestamp = Timestamp::from_unix_millis(1_700_000_000_000);

pub(crate) fn at(secs: u64) -> Timestamp {
    START + Duration::from_secs(secs)
}

pub(crate) fn threshold_rule(
    name: &str,
    metric: Metric,
    above: f64,
    recovery: Option<f64>,
    for_secs: u64,
) -> AlertRule {
    AlertRule {
        name: name.to_owned(),
        severity: Severity::High,
        condition: Condition::Threshold(ThresholdCondition {
            watched: metric.into(),
            comparison: Comparison::Above,
            threshold: above,
            recovery_threshold: recovery,
        }),
        for_duration: Duration::from_secs(for_secs),
        keep_firing_for: Duration::ZERO,
        labels: Default::default(),
        annotations: [("summary".to_owned(), "{{ metric }} is {{ value }}".to_owned())].into(),
    }
}

/// An engine whose clock stands at `START` (its rules are evaluated at each snapshot's time).
pub(crate) fn engine(rules: Vec<AlertRule>) -> AlertEngine {
    engine_on(rules, Arc::new(ManualClock::new(START)))
}

/// An engine stamping what people do (clear, replace rules, silence) with `clock`.
pub(crate) fn engine_on(rules: Vec<AlertRule>, clock: Arc<ManualClock>) -> AlertEngine {
    AlertEngine::new(RuleSet { rules }, EngineConfig::default(), clock).unwrap()
}

pub(crate) fn snapshot(at: Timestamp, metric: Metric, value: f64) -> MetricsSnapshot {
    let mut snapshot = MetricsSnapshot::empty(at);
    snapshot.set(metric, Some(value));
    snapshot
}

/// A notifier that keeps what it is given.
#[derive(Debug, Default, Clone)]
pub(crate) struct RecordingNotifier {
    pub(crate) name: String,
    pub(crate) received: Arc<Mutex<Vec<Notification>>>,
}

impl RecordingNotifier {
    pub(crate) fn named(name: &str) -> Self {
        RecordingNotifier { name: name.to_owned(), received: Arc::default() }
    }

    pub(crate) fn received(&self) -> Vec<Notification> {
        self.received.lock().unwrap().clone()
    }
}

#[async_trait]
impl Notifier for RecordingNotifier {
    fn name(&self) -> &str {
        &self.name
    }

    async fn notify(&self, notification: &Notification) -> Result<(), AlertingError> {
        self.received.lock().unwrap().push(notification.clone());
        Ok(())
    }
}

/// How the test receiver answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Answer {
    Ok,
    ServerError,
    Hang,
}

/// A request the test receiver got.
#[derive(Debug, Clone)]
pub(crate) struct Received {
    pub(crate) head: String,
    pub(crate) body: Vec<u8>,
}

/// Starts an HTTP receiver on a free loopback port; returns its base URL and the requests.
pub(crate) async fn start_receiver(answer: Answer) -> (String, mpsc::UnboundedReceiver<Received>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else { return };
            let tx = tx.clone();
            tokio::spawn(async move {
                loop {
                    let Some(request) = read_request(&mut stream).await else { return };
                    let _ = tx.send(request);
                    let response: &[u8] = match answer {
                        Answer::Ok => b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n",
                        Answer::ServerError => {
                            b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\n\r\n"
                        }
                        Answer::Hang => {
                            std::future::pending::<()>().await;
                            return;
                        }
                    };
                    if stream.write_all(response).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (url, rx)
}

async fn read_request(stream: &mut tokio::net::TcpStream) -> Option<Received> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let length: usize = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length").then(|| value.trim().parse().ok())?
        })
        .unwrap_or(0);
    while buffer.len() < head_end + length {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..n]);
    }
    Some(Received { head, body: buffer[head_end..head_end + length].to_vec() })
}
