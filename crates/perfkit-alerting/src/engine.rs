//! The alert engine: one state machine per rule, stepped on each snapshot, with history, silences,
//! inhibition and routing into per-notifier outboxes. `evaluate` is synchronous and never waits
//! on a network.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use perfkit_core::{Clock, Exemplar, MetricsSnapshot, Timestamp, TraceUrl};
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use crate::alert::{Alert, AlertEvent, AlertEventKind, AlertPhase};
use crate::error::{AlertingError, RuleProblem};
use crate::error_ledger::ErrorLedger;
use crate::group_dispatcher::GroupDispatcher;
use crate::labels::{Labels, fingerprint};
use crate::notification::{AlertStatus, NotificationPolicy, NotifiedAlert};
use crate::notifier::Notifier;
use crate::outbox::{DeliveryStats, DeliveryWorker, Outbox};
use crate::predictive::PointSeries;
use crate::rule::{AlertRule, Condition, Verdict};
use crate::rule_set::RuleSet;
use crate::rule_state::RuleState;
use crate::series_kinds::SeriesKinds;
use crate::silence::{InhibitRule, Silence};
use crate::template::{self, TemplateValues};

/// Settings of an [`AlertEngine`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", rename_all = "camelCase", default)]
pub struct EngineConfig {
    /// Most events kept in the history (oldest dropped first).
    pub history_capacity: usize,
    /// Inhibition rules; [`InhibitRule::defaults`] by default.
    pub inhibit_rules: Vec<InhibitRule>,
    /// Most silences held at once.
    pub max_silences: usize,
    /// Most notifications queued per notifier before the oldest are dropped.
    pub outbox_capacity: usize,
    /// Events buffered per subscriber of [`AlertEngine::subscribe`]; a subscriber that falls
    /// further behind misses events (it is told how many).
    pub event_capacity: usize,
    /// The `generatorURL` put on notified alerts (a link back to perfkit); may be empty.
    pub generator_url: String,
    /// Where a trace can be seen: an alert on request latency carries the slowest sampled
    /// request of the snapshot it fired on as `trace_id`, and with this template also as
    /// `trace_url`. Set by the program from its tracing settings, not read with the rest.
    #[serde(skip)]
    pub trace_url: Option<TraceUrl>,
}

perfkit_core::maps_only!(EngineConfig);

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            history_capacity: 1000,
            inhibit_rules: InhibitRule::defaults(),
            max_silences: 1000,
            outbox_capacity: 256,
            event_capacity: 256,
            generator_url: String::new(),
            trace_url: None,
        }
    }
}

/// The annotations that name the slowest request's trace.
const TRACE_ID_ANNOTATION: &str = "trace_id";
const TRACE_URL_ANNOTATION: &str = "trace_url";

/// What links an alert on latency to one slow request: the snapshot's slowest exemplar and
/// where traces can be seen.
#[derive(Clone, Copy)]
struct TraceLink<'a> {
    exemplar: Option<&'a Exemplar>,
    url: Option<&'a TraceUrl>,
}

/// One rule's phase, for listing rules with their state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleStatus {
    /// The rule's name.
    pub name: String,
    /// Its phase.
    pub state: AlertPhase,
    /// Since when.
    pub since: Timestamp,
    /// The latest value its condition saw.
    pub value: Option<f64>,
}

/// A rule with everything the engine keeps about it between evaluations.
#[derive(Debug)]
struct RuleRuntime {
    rule: AlertRule,
    labels: Labels,
    fingerprint: String,
    state: RuleState,
    alert: Option<Alert>,
    series: Option<PointSeries>,
    /// A burn-rate rule's own ledger of a business pair's events (requests share the engine's).
    outcome_ledger: Option<ErrorLedger>,
    value: Option<f64>,
    /// Whether notifications of the current firing alert are held back.
    muted: bool,
}

impl RuleRuntime {
    fn new(rule: AlertRule, now: Timestamp) -> Self {
        let mut labels = rule.labels.clone();
        labels.insert("alertname".to_owned(), rule.name.clone());
        labels.insert("severity".to_owned(), rule.severity.as_str().to_owned());
        labels.insert("metric".to_owned(), rule.condition.subject().to_string());
        let series = matches!(rule.condition, Condition::Predictive(_)).then(PointSeries::default);
        RuleRuntime {
            fingerprint: fingerprint(&labels),
            labels,
            rule,
            state: RuleState::new(now),
            alert: None,
            series,
            outcome_ledger: None,
            value: None,
            muted: false,
        }
    }

    fn render_annotations(&self, value: Option<f64>) -> Labels {
        let values = TemplateValues {
            name: &self.rule.name,
            subject: self.rule.condition.subject(),
            severity: self.rule.severity,
            value,
            threshold: self.rule.condition.reference_value(),
            labels: &self.labels,
        };
        self.rule
            .annotations
            .iter()
            .map(|(k, t)| (k.clone(), template::render(t, &values)))
            .collect()
    }

    /// An alert record for an event of a rule that has none (a no-data event).
    fn bare_alert(&self, now: Timestamp) -> Alert {
        Alert {
            fingerprint: self.fingerprint.clone(),
            rule: self.rule.name.clone(),
            severity: self.rule.severity,
            state: self.state.phase,
            labels: self.labels.clone(),
            annotations: Labels::new(),
            value: self.value,
            active_since: now,
            starts_at: None,
            ends_at: None,
            last_evaluated_at: now,
        }
    }

    fn is_firing(&self) -> bool {
        self.alert.as_ref().is_some_and(Alert::is_firing)
    }
}

struct Route {
    dispatcher: GroupDispatcher,
    outbox: Arc<Outbox>,
    name: String,
}

impl Drop for Route {
    fn drop(&mut self) {
        self.outbox.close();
    }
}

/// Evaluates alert rules on each snapshot and decides what to notify.
///
/// `evaluate` is synchronous and cheap: it updates one state machine per rule, records
/// history, and queues notifications in bounded per-notifier outboxes that
/// [`DeliveryWorker`]s drain on their own tasks. Nothing it does waits on a network.
///
/// The engine is shared as it is (`Arc<AlertEngine>`): every method takes `&self` and holds
/// the engine's lock for one short, synchronous step, so no caller can hold it across an
/// `.await`. Rules are evaluated at each snapshot's own time; what people do (clear, replace
/// rules, silence) is stamped by the engine's [`Clock`], so a caller never passes its own
/// idea of "now" and tests move time with a [`ManualClock`](perfkit_core::ManualClock).
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use perfkit_alerting::{AlertEngine, AlertEventKind, EngineConfig, RuleSet};
/// use perfkit_core::{MetricsSnapshot, SystemClock, Timestamp};
///
/// let engine =
///     AlertEngine::new(RuleSet::default(), EngineConfig::default(), Arc::new(SystemClock))
///         .unwrap();
/// let start = Timestamp::from_unix_millis(1_700_000_000_000);
/// for step in 0..3u64 {
///     let mut snapshot = MetricsSnapshot::empty(start + Duration::from_secs(30 * step));
///     snapshot.response_time = Some(1500.0);
///     engine.evaluate(&snapshot);
/// }
/// // `for` is 1 minute: pending at 0 s, firing at 60 s.
/// let active = engine.active_alerts();
/// assert_eq!(active.len(), 1);
/// assert_eq!(active[0].rule, "high_response_time");
/// // Rules whose metrics this snapshot lacks went to no-data; look at the latency rule only.
/// let kinds: Vec<_> = engine
///     .history()
///     .into_iter()
///     .filter(|e| e.alert.rule == "high_response_time")
///     .map(|e| e.kind)
///     .collect();
/// assert_eq!(kinds, [AlertEventKind::Pending, AlertEventKind::Fired]);
/// ```
pub struct AlertEngine {
    clock: Arc<dyn Clock>,
    state: Mutex<EngineState>,
}

/// What the engine keeps between evaluations, behind its lock.
struct EngineState {
    config: EngineConfig,
    rule_set: RuleSet,
    rules: Vec<RuleRuntime>,
    ledger: ErrorLedger,
    /// The kind of each business series seen, to check rules that read them.
    series_kinds: SeriesKinds,
    history: VecDeque<AlertEvent>,
    silences: Vec<Silence>,
    next_silence_id: u64,
    routes: Vec<Route>,
    events: broadcast::Sender<AlertEvent>,
}

impl std::fmt::Debug for AlertEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.lock();
        f.debug_struct("AlertEngine")
            .field("rules", &state.rules.len())
            .field("history", &state.history.len())
            .field("silences", &state.silences.len())
            .field("routes", &state.routes.iter().map(|r| r.name.as_str()).collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl AlertEngine {
    /// An engine over `rules`, stamping what people do with `clock`.
    ///
    /// # Errors
    /// [`AlertingError::InvalidRules`] listing every problem of the rule set,
    /// [`AlertingError::InvalidInhibitRules`] for bad inhibit rules in `config`.
    pub fn new(
        rules: RuleSet,
        config: EngineConfig,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, AlertingError> {
        rules.validate()?;
        validate_inhibit_rules(&config.inhibit_rules)?;
        let (events, _) = broadcast::channel(config.event_capacity.max(1));
        let now = Timestamp::UNIX_EPOCH;
        let state = EngineState {
            rules: rules.rules.iter().cloned().map(|r| RuleRuntime::new(r, now)).collect(),
            rule_set: rules,
            ledger: ErrorLedger::default(),
            series_kinds: SeriesKinds::default(),
            history: VecDeque::with_capacity(config.history_capacity.min(1024)),
            silences: Vec::new(),
            next_silence_id: 1,
            routes: Vec::new(),
            events,
            config,
        };
        Ok(AlertEngine { clock, state: Mutex::new(state) })
    }

    /// Every critical section leaves the state consistent, so a panic elsewhere must not
    /// take alerting down with a poisoned lock.
    fn lock(&self) -> MutexGuard<'_, EngineState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sends notifications to `notifier` under `policy`. Returns the worker that delivers
    /// them: spawn its [`DeliveryWorker::run`] on a tokio runtime.
    pub fn add_notifier(
        &self,
        notifier: Arc<dyn Notifier>,
        policy: NotificationPolicy,
    ) -> DeliveryWorker {
        let mut state = self.lock();
        let outbox = Arc::new(Outbox::new(state.config.outbox_capacity));
        let name = notifier.name().to_owned();
        state.routes.push(Route {
            dispatcher: GroupDispatcher::new(&name, policy),
            outbox: Arc::clone(&outbox),
            name,
        });
        DeliveryWorker::new(outbox, notifier)
    }

    /// Evaluates every rule on `snapshot` at the snapshot's time (so replaying snapshots
    /// replays their alerts); returns the events this evaluation caused (also recorded in
    /// the history and sent to subscribers).
    pub fn evaluate(&self, snapshot: &MetricsSnapshot) -> Vec<AlertEvent> {
        let now = snapshot.timestamp;
        let mut guard = self.lock();
        let state = &mut *guard;
        state.ledger.record_requests(snapshot);
        state.series_kinds.observe(&snapshot.business);
        state.silences.retain(|s| s.ends_at > now);
        let mut events = Vec::new();
        let mut changed = Vec::new();
        for (index, runtime) in state.rules.iter_mut().enumerate() {
            let verdict = match &runtime.rule.condition {
                Condition::Threshold(c) => c.evaluate(snapshot, runtime.state.alert_active()),
                Condition::BurnRate(c) => {
                    c.evaluate(snapshot, &state.ledger, &mut runtime.outcome_ledger)
                }
                Condition::Predictive(c) => {
                    let current = c.watched.read(snapshot);
                    let series = runtime.series.get_or_insert_with(PointSeries::default);
                    series.record(snapshot.timestamp, current, c.lookback);
                    c.evaluate(current, series, now)
                }
            };
            let link = TraceLink {
                exemplar: snapshot
                    .slowest_exemplar
                    .as_ref()
                    .filter(|_| runtime.rule.condition.subject().is_request_latency()),
                url: state.config.trace_url.as_ref(),
            };
            if let Some(kind) = step_rule(runtime, verdict, now, link) {
                changed.push((index, kind));
                let alert = runtime.alert.clone().unwrap_or_else(|| runtime.bare_alert(now));
                events.push(AlertEvent { kind, at: now, alert });
            }
            if matches!(runtime.state.phase, AlertPhase::Inactive | AlertPhase::Resolved) {
                runtime.alert = None;
            }
        }
        for event in &events {
            state.record(event.clone());
        }
        state.route_notifications(&changed, now);
        events
    }

    /// Drops every active and pending alert; rules start over from inactive, so an alert
    /// whose condition still holds fires again after its `for`. Receivers are not told: a
    /// cleared alert is withdrawn, not resolved. Returns how many alerts were dropped.
    pub fn clear(&self) -> usize {
        let now = self.clock.now();
        let mut guard = self.lock();
        let state = &mut *guard;
        let mut cleared = Vec::new();
        for runtime in &mut state.rules {
            for route in &mut state.routes {
                route.dispatcher.forget(&runtime.fingerprint);
            }
            if let Some(mut alert) = runtime.alert.take() {
                alert.last_evaluated_at = now;
                cleared.push(AlertEvent { kind: AlertEventKind::Cleared, at: now, alert });
            }
            runtime.state.reset(now);
            runtime.muted = false;
        }
        let count = cleared.len();
        for event in cleared {
            state.record(event);
        }
        count
    }

    /// Replaces the rule set. Rules whose definition did not change keep their state; alerts
    /// of removed or changed rules resolve.
    ///
    /// Besides the set's own validation, a rule on a business series the engine has seen is
    /// checked against the series' kind: a percentile of a counter or a rate of a gauge is
    /// refused (a series not seen yet passes: it may appear later).
    ///
    /// # Errors
    /// [`AlertingError::InvalidRules`] listing every problem; the old rules stay.
    pub fn replace_rules(&self, rules: RuleSet) -> Result<(), AlertingError> {
        let problems = rules.problems();
        let now = self.clock.now();
        let mut state = self.lock();
        check_rules(problems, &rules, &state.series_kinds)?;
        state.replace_rules(rules, now);
        Ok(())
    }

    /// Replaces the rules and the inhibit rules together, or neither: both are validated
    /// (the rules as [`AlertEngine::replace_rules`] does) before either changes (a
    /// configuration reload). Alerts muted by the old inhibit
    /// rules and not by the new ones are notified at the next evaluation.
    ///
    /// # Errors
    /// [`AlertingError::InvalidRules`] or [`AlertingError::InvalidInhibitRules`] listing
    /// every problem; nothing changed.
    pub fn reload(
        &self,
        rules: RuleSet,
        inhibit_rules: Vec<InhibitRule>,
    ) -> Result<(), AlertingError> {
        let problems = rules.problems();
        let now = self.clock.now();
        let mut state = self.lock();
        check_rules(problems, &rules, &state.series_kinds)?;
        validate_inhibit_rules(&inhibit_rules)?;
        state.replace_rules(rules, now);
        state.config.inhibit_rules = inhibit_rules;
        Ok(())
    }

    /// The inhibit rules in force.
    #[must_use]
    pub fn inhibit_rules(&self) -> Vec<InhibitRule> {
        self.lock().config.inhibit_rules.clone()
    }

    /// The current rule set.
    #[must_use]
    pub fn rules(&self) -> RuleSet {
        self.lock().rule_set.clone()
    }

    /// Alerts that fired and have not resolved (firing, recovering, or firing without data).
    #[must_use]
    pub fn active_alerts(&self) -> Vec<Alert> {
        self.lock()
            .rules
            .iter()
            .filter_map(|r| r.alert.as_ref().filter(|a| a.is_firing()).cloned())
            .collect()
    }

    /// Alerts whose condition holds but not yet for their `for` duration.
    #[must_use]
    pub fn pending_alerts(&self) -> Vec<Alert> {
        self.lock()
            .rules
            .iter()
            .filter_map(|r| r.alert.as_ref().filter(|a| a.state == AlertPhase::Pending).cloned())
            .collect()
    }

    /// Every rule with its phase.
    #[must_use]
    pub fn rule_statuses(&self) -> Vec<RuleStatus> {
        self.lock()
            .rules
            .iter()
            .map(|r| RuleStatus {
                name: r.rule.name.clone(),
                state: r.state.phase,
                since: r.state.phase_since,
                value: r.value,
            })
            .collect()
    }

    /// The whole history, oldest first; at most `history_capacity` events.
    #[must_use]
    pub fn history(&self) -> Vec<AlertEvent> {
        self.lock().history.iter().cloned().collect()
    }

    /// The most recent `limit` events, newest first.
    #[must_use]
    pub fn recent_events(&self, limit: usize) -> Vec<AlertEvent> {
        self.lock().history.iter().rev().take(limit).cloned().collect()
    }

    /// A stream of every event recorded from now on (pending, fired, resolved, ...).
    #[must_use]
    pub fn subscribe(&self) -> broadcast::Receiver<AlertEvent> {
        self.lock().events.subscribe()
    }

    /// Adds a silence; returns its id. A start in the past (or none) is moved up to now, as
    /// Alertmanager takes it. It mutes the notifications of the alerts it matches from the
    /// next evaluation on (a firing alert it matches is not notified again while it holds).
    ///
    /// # Errors
    /// [`AlertingError::InvalidSilence`] when it has no matchers, ends before it starts or
    /// in the past, or the engine already holds `max_silences`.
    pub fn add_silence(&self, mut silence: Silence) -> Result<u64, AlertingError> {
        let now = self.clock.now();
        silence.starts_at = silence.starts_at.max(now);
        if silence.ends_at <= now {
            return Err(AlertingError::InvalidSilence(
                "endsAt is in the past: such a silence would mute nothing".to_owned(),
            ));
        }
        if let Some(problem) = silence.problems() {
            return Err(AlertingError::InvalidSilence(problem));
        }
        let mut state = self.lock();
        if state.silences.len() >= state.config.max_silences {
            return Err(AlertingError::InvalidSilence(format!(
                "{} silences are already held, the most allowed",
                state.config.max_silences
            )));
        }
        silence.id = state.next_silence_id;
        state.next_silence_id += 1;
        state.silences.push(silence);
        Ok(state.next_silence_id - 1)
    }

    /// Ends a silence before its expiry: the alerts it muted are notified again from the
    /// next evaluation.
    ///
    /// # Errors
    /// [`AlertingError::UnknownSilence`] when no silence has this id (or it already ended).
    pub fn expire_silence(&self, id: u64) -> Result<(), AlertingError> {
        let mut state = self.lock();
        let before = state.silences.len();
        state.silences.retain(|s| s.id != id);
        if state.silences.len() == before { Err(AlertingError::UnknownSilence(id)) } else { Ok(()) }
    }

    /// The silences in force or yet to start, by the engine's clock.
    #[must_use]
    pub fn silences(&self) -> Vec<Silence> {
        self.silences_with_state().into_iter().map(|(silence, _)| silence).collect()
    }

    /// The silences in force (`"active"`) or yet to start (`"pending"`), each with its state
    /// by the engine's clock.
    #[must_use]
    pub fn silences_with_state(&self) -> Vec<(Silence, &'static str)> {
        let now = self.clock.now();
        self.lock()
            .silences
            .iter()
            .filter(|s| s.ends_at > now)
            .map(|s| (s.clone(), s.state(now)))
            .collect()
    }

    /// Outbox counters for each notifier.
    #[must_use]
    pub fn delivery_stats(&self) -> Vec<DeliveryStats> {
        self.lock().routes.iter().map(|r| r.outbox.stats(&r.name)).collect()
    }
}

impl EngineState {
    /// Swaps in an already validated rule set: rules whose definition did not change keep
    /// their state; alerts of removed or changed rules resolve at `now`.
    fn replace_rules(&mut self, rules: RuleSet, now: Timestamp) {
        let mut old: Vec<Option<RuleRuntime>> =
            std::mem::take(&mut self.rules).into_iter().map(Some).collect();
        let mut fresh = Vec::with_capacity(rules.rules.len());
        for rule in &rules.rules {
            let kept = old
                .iter_mut()
                .find(|slot| slot.as_ref().is_some_and(|r| r.rule == *rule))
                .and_then(Option::take);
            fresh.push(kept.unwrap_or_else(|| RuleRuntime::new(rule.clone(), now)));
        }
        for mut retired in old.into_iter().flatten() {
            let Some(mut alert) = retired.alert.take() else { continue };
            for route in &mut self.routes {
                route.dispatcher.observe_resolved(&retired.fingerprint, now);
            }
            if alert.is_firing() {
                alert.state = AlertPhase::Resolved;
                alert.ends_at = Some(now);
                alert.last_evaluated_at = now;
                self.record(AlertEvent { kind: AlertEventKind::Resolved, at: now, alert });
            }
        }
        self.rules = fresh;
        self.rule_set = rules;
    }

    /// Updates each route's groups from this evaluation's changes, then queues what is due.
    fn route_notifications(&mut self, changed: &[(usize, AlertEventKind)], now: Timestamp) {
        if self.routes.is_empty() {
            return;
        }
        let muted = self.muted_rules(now);
        let mut changed = changed.iter().peekable();
        for (index, runtime) in self.rules.iter_mut().enumerate() {
            let kind = changed.next_if(|(i, _)| *i == index).map(|(_, kind)| *kind);
            let firing = runtime.is_firing();
            let now_muted = firing && muted[index];
            match kind {
                Some(AlertEventKind::Resolved) => {
                    for route in &mut self.routes {
                        route.dispatcher.observe_resolved(&runtime.fingerprint, now);
                    }
                }
                Some(AlertEventKind::Fired) if !now_muted => {
                    let alert = notified(runtime, &self.config.generator_url);
                    for route in &mut self.routes {
                        route.dispatcher.observe_firing(alert.clone(), now);
                    }
                }
                _ if firing && now_muted != runtime.muted => {
                    let alert = notified(runtime, &self.config.generator_url);
                    for route in &mut self.routes {
                        if now_muted {
                            route.dispatcher.forget(&runtime.fingerprint);
                        } else {
                            route.dispatcher.observe_firing(alert.clone(), now);
                        }
                    }
                }
                _ => {}
            }
            runtime.muted = now_muted;
        }
        for route in &mut self.routes {
            for notification in route.dispatcher.flush_due(now) {
                route.outbox.push(notification);
            }
        }
    }

    /// Which rules' alerts are silenced or inhibited at `now`, by rule index.
    fn muted_rules(&self, now: Timestamp) -> Vec<bool> {
        let sources: Vec<(&InhibitRule, &Labels)> = self
            .config
            .inhibit_rules
            .iter()
            .flat_map(|inhibit| {
                self.rules.iter().filter(|r| r.is_firing()).map(move |r| (inhibit, &r.labels))
            })
            .collect();
        self.rules
            .iter()
            .map(|r| {
                r.is_firing()
                    && (self.silences.iter().any(|s| s.mutes(&r.labels, now))
                        || sources
                            .iter()
                            .any(|(inhibit, source)| inhibit.inhibits(source, &r.labels)))
            })
            .collect()
    }

    fn record(&mut self, event: AlertEvent) {
        if self.config.history_capacity == 0 {
            return;
        }
        while self.history.len() >= self.config.history_capacity {
            self.history.pop_front();
        }
        // No subscribers is fine: the history keeps the event anyway.
        let _ = self.events.send(event.clone());
        self.history.push_back(event);
    }
}

/// Most inhibit rules an engine holds.
pub const MAX_INHIBIT_RULES: usize = 100;

/// Checks a whole list of inhibit rules, listing every problem.
///
/// # Errors
/// [`AlertingError::InvalidInhibitRules`] with each problem, prefixed by the rule's index.
pub fn validate_inhibit_rules(rules: &[InhibitRule]) -> Result<(), AlertingError> {
    let mut problems: Vec<String> = rules
        .iter()
        .enumerate()
        .filter_map(|(index, rule)| rule.problems().map(|p| format!("inhibit rule #{index}: {p}")))
        .collect();
    if rules.len() > MAX_INHIBIT_RULES {
        problems.push(format!(
            "{} inhibit rules given, at most {MAX_INHIBIT_RULES} are allowed",
            rules.len()
        ));
    }
    if problems.is_empty() { Ok(()) } else { Err(AlertingError::InvalidInhibitRules(problems)) }
}

/// The set's own `problems` and those against the series seen, as one refusal.
fn check_rules(
    mut problems: Vec<RuleProblem>,
    rules: &RuleSet,
    kinds: &SeriesKinds,
) -> Result<(), AlertingError> {
    problems.extend(rules.kind_problems(kinds));
    if problems.is_empty() { Ok(()) } else { Err(AlertingError::InvalidRules { problems }) }
}

/// Moves one rule's state machine and its alert record; returns the event, if any.
fn step_rule(
    runtime: &mut RuleRuntime,
    verdict: Verdict,
    now: Timestamp,
    link: TraceLink<'_>,
) -> Option<AlertEventKind> {
    let kind =
        runtime.state.step(verdict, runtime.rule.for_duration, runtime.rule.keep_firing_for, now);
    let value = verdict.value();
    runtime.value = value;
    match kind {
        Some(AlertEventKind::Pending | AlertEventKind::Fired) => {
            let mut annotations = runtime.render_annotations(value);
            // The rule's own annotations of these names win.
            if let Some(exemplar) = link.exemplar {
                let trace = exemplar.span.trace_id;
                annotations
                    .entry(TRACE_ID_ANNOTATION.to_owned())
                    .or_insert_with(|| trace.to_string());
                if let Some(url) = link.url {
                    annotations
                        .entry(TRACE_URL_ANNOTATION.to_owned())
                        .or_insert_with(|| url.link(trace));
                }
            }
            let alert = runtime.alert.get_or_insert_with(|| Alert {
                fingerprint: runtime.fingerprint.clone(),
                rule: runtime.rule.name.clone(),
                severity: runtime.rule.severity,
                state: AlertPhase::Pending,
                labels: runtime.labels.clone(),
                annotations: Labels::new(),
                value,
                active_since: now,
                starts_at: None,
                ends_at: None,
                last_evaluated_at: now,
            });
            alert.annotations = annotations;
            if kind == Some(AlertEventKind::Fired) {
                alert.starts_at = Some(now);
            }
        }
        Some(AlertEventKind::Resolved) => {
            if let Some(alert) = &mut runtime.alert {
                alert.ends_at = Some(now);
            }
        }
        _ => {}
    }
    if let Some(alert) = &mut runtime.alert {
        alert.state = runtime.state.phase;
        alert.last_evaluated_at = now;
        if value.is_some() {
            alert.value = value;
        }
    }
    kind
}

fn notified(runtime: &RuleRuntime, generator_url: &str) -> NotifiedAlert {
    let alert = runtime.alert.as_ref();
    NotifiedAlert {
        status: AlertStatus::Firing,
        labels: runtime.labels.clone(),
        annotations: alert.map(|a| a.annotations.clone()).unwrap_or_default(),
        starts_at: alert.and_then(|a| a.starts_at).unwrap_or_default(),
        ends_at: None,
        generator_url: generator_url.to_owned(),
        fingerprint: runtime.fingerprint.clone(),
    }
}
