//! Alerting for perfkit: rules that do not flap, and notifications that existing receivers
//! understand.
//!
//! - **Rules** ([`AlertRule`], [`RuleSet`]): a threshold on a [`Metric`](perfkit_core::Metric)
//!   or on any series emitted through the `metrics` facade ([`Watched`]: `metric` or
//!   `series`) with a `for` duration, `keep_firing_for` and a recovery threshold
//!   (hysteresis); SLO burn-rate rules over multiple windows, on the requests or on a
//!   business success/failure pair ([`BurnRateCondition`], [`OutcomePair`]); predictive
//!   rules by least squares ([`PredictiveCondition`]). Rule sets load from and save to JSON
//!   and TOML, and are validated whole, listing every problem.
//! - **The engine** ([`AlertEngine`]): one state machine per rule (inactive -> pending ->
//!   firing -> recovering -> resolved, and no-data), active alerts, a bounded history,
//!   silences and inhibition, and Alertmanager's grouping and timing for notifications. It
//!   is shared as it is: it holds its own lock and stamps people's actions with its clock.
//! - **Notifiers** ([`Notifier`]): a tracing log ([`LogNotifier`]), a webhook whose body is
//!   Alertmanager's webhook payload version 4 ([`WebhookNotifier`]), and a real Alertmanager's
//!   `/api/v2/alerts` ([`AlertmanagerNotifier`]). They run on their own tasks behind bounded
//!   outboxes: evaluation never waits on a network.
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Duration;
//! use perfkit_alerting::{AlertEngine, AlertPhase, EngineConfig, RuleSet};
//! use perfkit_core::{ManualClock, Clock, MetricsSnapshot, Timestamp};
//!
//! let rules = RuleSet::from_toml(r#"
//!     [[rules]]
//!     name = "slow"
//!     severity = "high"
//!     kind = "threshold"
//!     metric = "responseTime"
//!     comparison = "above"
//!     threshold = 1000.0
//!     recoveryThreshold = 900.0
//!     for = "0s"
//! "#).unwrap();
//! let clock = Arc::new(ManualClock::new(Timestamp::from_unix_millis(1_700_000_000_000)));
//! let engine = AlertEngine::new(rules, EngineConfig::default(), clock.clone()).unwrap();
//!
//! // 980 -> 1010 -> 990 -> 1020: fires once, and stays firing inside the recovery band.
//! for ms in [980.0, 1010.0, 990.0, 1020.0] {
//!     let mut snapshot = MetricsSnapshot::empty(clock.now());
//!     snapshot.response_time = Some(ms);
//!     engine.evaluate(&snapshot);
//!     clock.advance(Duration::from_secs(30));
//! }
//! let active = engine.active_alerts();
//! assert_eq!(active.len(), 1);
//! assert_eq!(active[0].state, AlertPhase::Firing);
//! assert_eq!(engine.history().len(), 1); // one "fired" event, no flapping
//! ```
//!
//! A rule on a business series reads the snapshot's `business` section: here orders placed
//! per minute, from the `orders_placed` counter the application increments.
//!
//! ```
//! use std::sync::Arc;
//! use perfkit_alerting::{AlertEngine, EngineConfig, RuleSet};
//! use perfkit_core::{BusinessSeries, ManualClock, MetricsSnapshot, SeriesKind, Timestamp};
//!
//! let rules = RuleSet::from_toml(r#"
//!     [[rules]]
//!     name = "orders_stalled"
//!     severity = "critical"
//!     kind = "threshold"
//!     series = { name = "orders_placed", aggregation = "ratePerMinute" }
//!     comparison = "below"
//!     threshold = 5.0
//!     for = "0s"
//!     annotations = { summary = "{{ metric }} at {{ value }} {{ unit }}" }
//! "#).unwrap();
//! let at = Timestamp::from_unix_millis(1_700_000_000_000);
//! let engine =
//!     AlertEngine::new(rules, EngineConfig::default(), Arc::new(ManualClock::new(at))).unwrap();
//! let mut snapshot = MetricsSnapshot::empty(at);
//! snapshot.business.push(BusinessSeries {
//!     name: "orders_placed".to_owned(),
//!     labels: Default::default(),
//!     kind: SeriesKind::Counter,
//!     value: 1200.0,
//!     increase: Some(1.0),
//!     rate_per_second: Some(1.0 / 30.0), // 2 a minute
//!     sum: None,
//!     p50: None,
//!     p95: None,
//!     p99: None,
//! });
//! engine.evaluate(&snapshot);
//! let alert = &engine.active_alerts()[0];
//! assert_eq!(alert.labels["metric"], "orders_placed");
//! assert_eq!(alert.annotations["summary"], "orders_placed at 2 ratePerMinute");
//! ```

mod alert;
mod alertmanager;
mod burn_rate;
mod engine;
mod error;
mod error_ledger;
mod go_json;
mod group_dispatcher;
mod http_delivery;
mod labels;
mod log_notifier;
mod notification;
mod notifier;
mod notifiers_config;
mod outbox;
mod outcomes;
mod predictive;
mod rule;
mod rule_set;
mod rule_state;
mod series_kinds;
mod silence;
mod template;
mod threshold;
mod watched;
mod webhook;

pub use alert::{Alert, AlertEvent, AlertEventKind, AlertPhase};
pub use alertmanager::{AlertmanagerNotifier, PostableAlert};
pub use burn_rate::{BurnRateCondition, BurnWindow};
pub use engine::{
    AlertEngine, EngineConfig, MAX_INHIBIT_RULES, RuleStatus, validate_inhibit_rules,
};
pub use error::{AlertingError, RuleProblem};
pub use http_delivery::HttpDeliverySettings;
pub use labels::{LabelMatcher, Labels, MAX_LABEL_LEN, MAX_LABELS, fingerprint};
pub use log_notifier::LogNotifier;
pub use notification::{AlertStatus, Notification, NotificationPolicy, NotifiedAlert};
pub use notifier::Notifier;
pub use notifiers_config::{MAX_TARGETS, NotifierTarget, NotifiersConfig, RoutedNotifier};
pub use outbox::{DeliveryStats, DeliveryWorker, LastDelivery};
pub use outcomes::OutcomePair;
pub use predictive::{MAX_POINTS, PredictiveCondition};
pub use rule::{AlertRule, Comparison, Condition, Subject};
pub use rule_set::{MAX_RULES, RuleSet};
pub use silence::{InhibitRule, MAX_SILENCE_AUTHOR_LEN, MAX_SILENCE_COMMENT_LEN, Silence};
pub use threshold::ThresholdCondition;
pub use watched::Watched;
pub use webhook::{WebhookAlert, WebhookNotifier, WebhookPayload};
