//! The recorder: the hot path every request of an embedding service pays for.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use arc_swap::ArcSwap;
use perfkit_control::StatementSummary;
use perfkit_core::{BusinessSeries, Clock, Exemplar, SampledSpan, SystemClock, Timestamp};

use crate::buckets::{FineBuckets, MAX_VALUE};
use crate::exemplars::Exemplars;
use crate::facade::BusinessRegistry;
use crate::http::{Method, StatusClass};
use crate::interval_figures::{IntervalFigures, interval_figures, route_summary};
use crate::report::{
    ApplicationMetrics, AvailabilityFigures, DatabaseFigures, ErrorFigures, IntervalSpan,
    LatencyFigures, OwnTrafficFigures, RequestFigures, RouteFigures, RouteSummary,
    StatementFigures, Throughput, WebSocketFigures,
};
use crate::series::{RequestSeries, SeriesCounts, exposed_bucket};
use crate::shard::{CachePadded, stripe_count, thread_stripe};
use crate::slow_log::SlowLog;
use crate::statement_series::{StatementCounts, StatementSeries, statement_id};
use crate::summarize::{coarse_quantile_millis, latency_summary, mean_millis, ratio};
use crate::totals::Totals;
use crate::window::Window;
use crate::{MetricsError, OwnTraffic, RecorderConfig};
use perfkit_core::BoundedTable;

/// Hot counters of one thread stripe.
#[derive(Debug, Default)]
struct Stripe {
    latency: FineBuckets,
    db_latency: FineBuckets,
    db_duration_sum_micros: AtomicU64,
    db_slow: AtomicU64,
    pool_acquire: FineBuckets,
    pool_acquire_sum_micros: AtomicU64,
    ws_messages: AtomicU64,
    ws_opened: AtomicU64,
    errors_recorded: AtomicU64,
    slow_requests: AtomicU64,
    /// Host responses `101 Switching Protocols`: a connection handed over, not a request.
    upgrades: AtomicU64,
    /// perfkit's own `101`s (its live stream).
    own_upgrades: AtomicU64,
    /// Messages of perfkit's live stream, either direction.
    own_stream_messages: AtomicU64,
}

/// The named, capped label sets. Swapped whole on reset, so a reset also forgets the names
/// (a burst of junk route names does not hold the caps forever).
#[derive(Debug)]
struct LabelSets {
    routes: BoundedTable<RequestSeries>,
    /// Requests on routes beyond the cap.
    overflow: RequestSeries,
    error_kinds: BoundedTable<AtomicU64>,
    other_error_kinds: AtomicU64,
    statements: BoundedTable<StatementSeries>,
    /// Calls of statements beyond the cap.
    statement_overflow: StatementSeries,
}

impl LabelSets {
    fn new(config: &RecorderConfig) -> Self {
        LabelSets {
            routes: BoundedTable::new(config.max_routes),
            overflow: RequestSeries::default(),
            error_kinds: BoundedTable::new(config.max_error_kinds),
            other_error_kinds: AtomicU64::new(0),
            statements: BoundedTable::new(config.max_statements),
            statement_overflow: StatementSeries::default(),
        }
    }
}

/// Records what a service does: requests, errors, DB statements, connection-pool acquires
/// and WebSocket traffic. Share it
/// with `Arc`; every method takes `&self`.
///
/// Recording never takes a lock and never allocates once a route or kind is known: counters
/// are atomics striped per thread, durations go into fixed log-linear buckets, and the label
/// sets are capped, lock-free tables. Reading ([`snapshot`](Recorder::snapshot)) adds the
/// stripes up and is where all the arithmetic happens.
///
/// Interval figures (percentiles, error rate, throughput over "the last interval") are over
/// intervals that one owner closes with [`close_interval`](Recorder::close_interval), on its
/// own tick; reads never close an interval and never change what a later read or close
/// returns. An embedder that never closes one gets interval figures since start (or reset).
///
/// ```
/// use std::time::Duration;
/// use perfkit_metrics::{Method, Recorder};
///
/// let recorder = Recorder::default();
/// recorder.record_request(Some("/api/posts/{id}"), Method::Get, 200, Duration::from_millis(12));
/// recorder.record_request(None, Method::Post, 503, Duration::from_millis(40));
/// recorder.record_error("db_timeout");
///
/// let metrics = recorder.snapshot();
/// assert_eq!(metrics.requests.total, 2);
/// assert_eq!(metrics.errors.server_errors, 1);
/// assert_eq!(metrics.errors.by_kind["db_timeout"], 1);
/// assert_eq!(metrics.routes.slowest[0].route, "/api/posts/{id}");
/// ```
#[derive(Debug)]
pub struct Recorder {
    config: RecorderConfig,
    clock: Arc<dyn Clock>,
    stripes: Box<[CachePadded<Stripe>]>,
    stripe_mask: usize,
    unrouted: RequestSeries,
    /// perfkit's own requests (its API, dashboard, scrapes, stream), kept out of every
    /// figure of the host's: never in `totals`, the routes or the latency stripes.
    own: RequestSeries,
    /// When this recorder was built: uptime counts from here, and a reset does not move it.
    started: Timestamp,
    labels: ArcSwap<LabelSets>,
    slow_request_micros: u64,
    slow_query_micros: u64,
    slow_log: SlowLog,
    /// Interval boundaries. Closes and reads of totals that must agree with a boundary take
    /// it; recording never does.
    window: Mutex<Window>,
    /// The series emitted through the `metrics` facade, closed with the same intervals.
    business: BusinessRegistry,
}

impl Default for Recorder {
    fn default() -> Self {
        Recorder::build(RecorderConfig::default(), Arc::new(SystemClock))
    }
}

fn micros_of(duration: Duration) -> u64 {
    u64::try_from(duration.as_micros()).unwrap_or(MAX_VALUE)
}

impl Recorder {
    /// A recorder with `config`, reading time from `clock` (only on reads and for the
    /// slow-operation log, never on the ordinary recording path).
    ///
    /// # Errors
    /// [`MetricsError::InvalidConfig`] when a setting is out of range.
    pub fn new(config: RecorderConfig, clock: Arc<dyn Clock>) -> Result<Self, MetricsError> {
        config.validate()?;
        Ok(Recorder::build(config, clock))
    }

    fn build(config: RecorderConfig, clock: Arc<dyn Clock>) -> Self {
        let stripes = stripe_count();
        let now = clock.now();
        Recorder {
            stripes: (0..stripes).map(|_| CachePadded::default()).collect(),
            stripe_mask: stripes - 1,
            unrouted: RequestSeries::default(),
            own: RequestSeries::default(),
            started: now,
            labels: ArcSwap::from_pointee(LabelSets::new(&config)),
            slow_request_micros: micros_of(config.slow_request_threshold),
            slow_query_micros: micros_of(config.slow_query_threshold),
            slow_log: SlowLog::new(config.slow_log_interval),
            window: Mutex::new(Window::new(now)),
            business: BusinessRegistry::new(config.business.clone()),
            config,
            clock,
        }
    }

    /// The settings this recorder runs with.
    #[must_use]
    pub fn config(&self) -> &RecorderConfig {
        &self.config
    }

    /// The series emitted through the `metrics` facade (see [`FacadeRecorder`](crate::FacadeRecorder)).
    #[must_use]
    pub fn business(&self) -> &BusinessRegistry {
        &self.business
    }

    #[inline]
    fn stripe(&self) -> (usize, &Stripe) {
        let index = thread_stripe();
        (index, &self.stripes[index & self.stripe_mask])
    }

    /// Records one finished request. `route` is the matched route template
    /// (`/api/posts/{id}`), never the raw path, or `None` when there is no route.
    ///
    /// A `101 Switching Protocols` (a WebSocket upgrade) is counted as an upgrade, not a
    /// request: the connection outlives the answer, so its "duration" is no latency, and
    /// it is neither a success nor an error of the request path.
    #[inline]
    pub fn record_request(
        &self,
        route: Option<&str>,
        method: Method,
        status: u16,
        duration: Duration,
    ) {
        self.record_request_with(route, method, status, duration, None);
    }

    /// Records one finished request that ran under the sampled span `span`, as
    /// [`record_request`](Self::record_request) does, and makes it the exemplar of its route's
    /// duration bucket (the latest sampled request of each bucket is kept, with its trace id,
    /// duration and time): the OpenMetrics exposition shows it on the bucket's line, the
    /// route's figures name its slowest one.
    ///
    /// ```
    /// use std::time::Duration;
    /// use perfkit_core::{SampledSpan, SpanId, TraceId};
    /// use perfkit_metrics::{Method, Recorder};
    ///
    /// let recorder = Recorder::default();
    /// let span = SampledSpan { trace_id: TraceId::from_u128(42), span_id: SpanId::from_u64(7) };
    /// recorder.record_request_traced(Some("/items"), Method::Get, 200, Duration::from_millis(30), span);
    /// assert_eq!(recorder.snapshot().routes.slowest[0].slow_trace_id, Some(span.trace_id));
    /// ```
    #[inline]
    pub fn record_request_traced(
        &self,
        route: Option<&str>,
        method: Method,
        status: u16,
        duration: Duration,
        span: SampledSpan,
    ) {
        self.record_request_with(route, method, status, duration, Some(span));
    }

    #[inline(always)]
    fn record_request_with(
        &self,
        route: Option<&str>,
        method: Method,
        status: u16,
        duration: Duration,
        span: Option<SampledSpan>,
    ) {
        let (index, stripe) = self.stripe();
        if status == SWITCHING_PROTOCOLS {
            stripe.upgrades.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let micros = micros_of(duration);
        let class = StatusClass::of(status);
        stripe.latency.record(micros);
        let labels;
        let series = match route {
            None => &self.unrouted,
            Some(route) => {
                labels = self.labels.load();
                labels
                    .routes
                    .get_or_insert_with(route, RequestSeries::default)
                    .unwrap_or(&labels.overflow)
            }
        };
        series.record(index, method, class, micros);
        if let Some(span) = span {
            self.note_exemplar(series, micros, span);
        }
        if micros >= self.slow_request_micros {
            self.note_slow_request(stripe, route, method, status, duration);
        }
    }

    /// The exemplar of a sampled request: its bucket, its duration in seconds, the time.
    #[inline(never)]
    fn note_exemplar(&self, series: &RequestSeries, micros: u64, span: SampledSpan) {
        #[allow(clippy::cast_precision_loss)]
        let value = micros as f64 / 1_000_000.0;
        let exemplar = Exemplar { span, value, timestamp: self.clock.now() };
        series.exemplars.record(exposed_bucket(micros), &exemplar);
    }

    /// Records one request to perfkit itself (its API, dashboard, assets, scrapes, live
    /// stream) in figures of its own, apart from the host's: it never counts in the
    /// request totals, throughput, error rate, latency, routes or slow requests, and so
    /// never in a snapshot or the score. With [`OwnTraffic::Ignored`] it is not recorded
    /// at all. A `101` counts as one of perfkit's upgrades.
    ///
    /// ```
    /// use std::time::Duration;
    /// use perfkit_metrics::{Method, Recorder};
    ///
    /// let recorder = Recorder::default();
    /// recorder.record_request(Some("/items"), Method::Get, 200, Duration::from_millis(3));
    /// recorder.record_own_request(Method::Get, 200, Duration::from_millis(1));
    /// recorder.record_own_request(Method::Get, 101, Duration::from_millis(1));
    /// let metrics = recorder.snapshot();
    /// assert_eq!(metrics.requests.total, 1);
    /// assert_eq!((metrics.own.requests, metrics.own.upgrades), (1, 1));
    /// ```
    #[inline]
    pub fn record_own_request(&self, method: Method, status: u16, duration: Duration) {
        if self.config.own_traffic == OwnTraffic::Ignored {
            return;
        }
        let (index, stripe) = self.stripe();
        if status == SWITCHING_PROTOCOLS {
            stripe.own_upgrades.fetch_add(1, Ordering::Relaxed);
            return;
        }
        self.own.record(index, method, StatusClass::of(status), micros_of(duration));
    }

    #[cold]
    #[inline(never)]
    fn note_slow_request(
        &self,
        stripe: &Stripe,
        route: Option<&str>,
        method: Method,
        status: u16,
        duration: Duration,
    ) {
        stripe.slow_requests.fetch_add(1, Ordering::Relaxed);
        if let Some(suppressed) = self.slow_log.permit(&*self.clock) {
            tracing::warn!(
                route = route.unwrap_or("-"),
                %method,
                status,
                duration_ms = duration.as_secs_f64() * 1000.0,
                suppressed,
                "slow request"
            );
        }
    }

    /// Counts one error of `kind` (`db_timeout`, `upstream_5xx`, ...). The first
    /// `max_error_kinds` kinds are counted by name, later ones as `other`.
    pub fn record_error(&self, kind: &str) {
        let (_, stripe) = self.stripe();
        stripe.errors_recorded.fetch_add(1, Ordering::Relaxed);
        let labels = self.labels.load();
        match labels.error_kinds.get_or_insert_with(kind, AtomicU64::default) {
            Some(count) => count.fetch_add(1, Ordering::Relaxed),
            None => labels.other_error_kinds.fetch_add(1, Ordering::Relaxed),
        };
    }

    /// Counts one WebSocket connection opened. How many are open now is the connection
    /// registry's figure, not the recorder's.
    pub fn record_ws_opened(&self) {
        self.stripe().1.ws_opened.fetch_add(1, Ordering::Relaxed);
    }

    /// Records one WebSocket message, either direction.
    pub fn record_ws_message(&self) {
        self.stripe().1.ws_messages.fetch_add(1, Ordering::Relaxed);
    }

    /// Records one message of perfkit's own live stream, either direction: with its
    /// upgrades, apart from the host's WebSocket figures (not at all with
    /// [`OwnTraffic::Ignored`]).
    pub fn record_own_stream_message(&self) {
        if self.config.own_traffic != OwnTraffic::Ignored {
            self.stripe().1.own_stream_messages.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Records one database query of `duration`, without naming its statement.
    pub fn record_db_query(&self, duration: Duration) {
        let micros = micros_of(duration);
        let (_, stripe) = self.stripe();
        stripe.db_latency.record(micros);
        stripe.db_duration_sum_micros.fetch_add(micros, Ordering::Relaxed);
        if micros >= self.slow_query_micros {
            self.note_slow_query(stripe, None, duration);
        }
    }

    /// Records one execution of `statement` that took `duration` and returned or changed
    /// `rows` rows. `statement` is the normalized text (literals taken out, like a route
    /// template: `SELECT * FROM posts WHERE user_id = ?`), never raw SQL with values in it.
    /// The first `max_statements` statements are kept one by one, later ones in one
    /// overflow series, so memory stays bounded.
    ///
    /// ```
    /// use std::time::Duration;
    /// use perfkit_metrics::Recorder;
    ///
    /// let recorder = Recorder::default();
    /// let statement = "SELECT * FROM posts WHERE user_id = ?";
    /// recorder.record_db_statement(statement, Duration::from_millis(4), 10);
    /// recorder.record_db_statement(statement, Duration::from_millis(6), 12);
    ///
    /// let database = recorder.snapshot().database;
    /// let posts = &database.statements.slowest[0];
    /// assert_eq!((posts.statement.as_str(), posts.count, posts.rows), (statement, 2, 22));
    /// assert_eq!(database.queries, 2);
    /// ```
    pub fn record_db_statement(&self, statement: &str, duration: Duration, rows: u64) {
        let micros = micros_of(duration);
        let (index, stripe) = self.stripe();
        stripe.db_latency.record(micros);
        stripe.db_duration_sum_micros.fetch_add(micros, Ordering::Relaxed);
        let slow = micros >= self.slow_query_micros;
        let labels = self.labels.load();
        let series = labels
            .statements
            .get_or_insert_with(statement, StatementSeries::default)
            .unwrap_or(&labels.statement_overflow);
        series.record(index, micros, rows, slow);
        if slow {
            self.note_slow_query(stripe, Some(statement), duration);
        }
    }

    /// Counts one call of `statement` (normalized, as given to
    /// [`record_db_statement`](Self::record_db_statement), which times the call itself) that
    /// the database cancelled at its statement timeout. The slow-query report shows the
    /// count beside the statement's other figures.
    ///
    /// ```
    /// use std::time::Duration;
    /// use perfkit_metrics::Recorder;
    ///
    /// let recorder = Recorder::default();
    /// recorder.record_db_statement("SELECT pg_sleep(?)", Duration::from_millis(100), 0);
    /// recorder.record_db_timeout("SELECT pg_sleep(?)");
    /// let slowest = recorder.snapshot().database.statements.slowest;
    /// assert_eq!((slowest[0].count, slowest[0].timeouts), (1, 1));
    /// ```
    pub fn record_db_timeout(&self, statement: &str) {
        let (index, _) = self.stripe();
        let labels = self.labels.load();
        let series = labels
            .statements
            .get_or_insert_with(statement, StatementSeries::default)
            .unwrap_or(&labels.statement_overflow);
        series.record_timeout(index);
    }

    /// Records how long one connection took to acquire from a database pool: the time a
    /// request waited for a connection, whether or not one was idle.
    pub fn record_pool_acquire(&self, duration: Duration) {
        let micros = micros_of(duration);
        let (_, stripe) = self.stripe();
        stripe.pool_acquire.record(micros);
        stripe.pool_acquire_sum_micros.fetch_add(micros, Ordering::Relaxed);
    }

    #[cold]
    #[inline(never)]
    fn note_slow_query(&self, stripe: &Stripe, statement: Option<&str>, duration: Duration) {
        stripe.db_slow.fetch_add(1, Ordering::Relaxed);
        if let Some(suppressed) = self.slow_log.permit(&*self.clock) {
            tracing::warn!(
                statement = statement.unwrap_or("-"),
                duration_ms = duration.as_secs_f64() * 1000.0,
                suppressed,
                "slow database query"
            );
        }
    }

    /// Reads every cumulative counter once.
    fn totals(&self, labels: &LabelSets) -> Totals {
        let mut totals = self.stripe_totals();
        totals.requests = self.unrouted.read();
        totals.requests.add(&labels.overflow.read());
        for (_, series) in labels.routes.iter() {
            totals.requests.add(&series.read());
        }
        totals
    }

    /// Reads the striped counters; request series are left empty.
    fn stripe_totals(&self) -> Totals {
        let mut totals = Totals::default();
        for stripe in &*self.stripes {
            stripe.latency.add_into(&mut totals.latency.counts);
            stripe.db_latency.add_into(&mut totals.db_latency.counts);
            totals.db_duration_sum_micros += stripe.db_duration_sum_micros.load(Ordering::Relaxed);
            totals.db_slow += stripe.db_slow.load(Ordering::Relaxed);
            stripe.pool_acquire.add_into(&mut totals.pool_acquire.counts);
            totals.pool_acquire_sum_micros +=
                stripe.pool_acquire_sum_micros.load(Ordering::Relaxed);
            totals.ws_messages += stripe.ws_messages.load(Ordering::Relaxed);
            totals.ws_opened += stripe.ws_opened.load(Ordering::Relaxed);
            totals.errors_recorded += stripe.errors_recorded.load(Ordering::Relaxed);
            totals.slow_requests += stripe.slow_requests.load(Ordering::Relaxed);
            totals.upgrades += stripe.upgrades.load(Ordering::Relaxed);
            totals.own_upgrades += stripe.own_upgrades.load(Ordering::Relaxed);
            totals.own_stream_messages += stripe.own_stream_messages.load(Ordering::Relaxed);
        }
        totals
    }

    /// What the Prometheus exposition needs besides the request series: read without closing
    /// the interval or summarizing anything.
    pub(crate) fn exposition_figures(&self) -> ExpositionFigures {
        let labels = self.labels.load();
        let interval_availability = self.lock_window().last_closed_availability();
        ExpositionFigures {
            interval_availability,
            start_time_seconds: self.started.as_secs_f64(),
            own: self.own.read(),
            totals: self.stripe_totals(),
            error_kinds: labels
                .error_kinds
                .iter()
                .map(|(kind, count)| (kind.to_owned(), count.load(Ordering::Relaxed)))
                .collect(),
            other_error_kinds: labels.other_error_kinds.load(Ordering::Relaxed),
            routes_tracked: labels.routes.len(),
            statements_tracked: labels.statements.len(),
        }
    }

    /// When this recorder started: the process's start for every figure that says uptime
    /// (the snapshot's `uptime`, `perfkit_start_time_seconds`, `/info`).
    #[must_use]
    pub fn started_at(&self) -> Timestamp {
        self.started
    }

    /// How long since [`Recorder::started_at`], on the recorder's clock.
    #[must_use]
    pub fn uptime(&self) -> Duration {
        self.clock.now().duration_since(self.started)
    }

    /// Seconds from this recorder's start to `now`.
    fn uptime_seconds(&self, now: Timestamp) -> f64 {
        now.duration_since(self.started).as_secs_f64()
    }

    /// The interval that reads report now (and that the latest snapshot covers, when one
    /// owner closes intervals): the last closed one, or the running one before any close.
    #[must_use]
    pub fn reported_interval(&self) -> IntervalSpan {
        let window = self.lock_window();
        window.reported_span(self.clock.now())
    }

    fn lock_window(&self) -> MutexGuard<'_, Window> {
        // The window holds plain data, consistent after every statement: a panic elsewhere
        // while it was held leaves nothing half-done.
        self.window.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Everything the recorder knows, as of now. Interval figures cover the last closed
    /// interval, or the running one (since start or reset) before the first
    /// [`close_interval`](Recorder::close_interval); cumulative figures are as of now.
    ///
    /// A read: it closes nothing and changes nothing, so any number of readers (the HTTP
    /// API, the exposition, a dashboard) can call it without moving an interval boundary.
    #[must_use]
    pub fn snapshot(&self) -> ApplicationMetrics {
        let window = self.lock_window();
        // Read under the window lock, so a concurrent close cannot slip between this read
        // and the baseline the running interval is measured from.
        let labels = self.labels.load();
        let totals = self.totals(&labels);
        let now = self.clock.now();
        let interval =
            interval_figures(&window.reported(now, &totals), window.per_minute(now, &totals));
        let business = self.business.reported(interval.span.seconds);
        drop(window);
        self.application_metrics(now, &labels, &totals, interval, business)
    }

    /// Closes the running interval now, whatever its length, and returns the figures as of
    /// the close, with interval figures over exactly the interval just closed. The next
    /// interval starts at this instant.
    ///
    /// Meant for one owner that sets interval boundaries on its own tick (the orchestrator's
    /// collector). Each call returns a different interval; the closed intervals tile time
    /// with no gap or overlap, and each recorded request counts in exactly one of them: the
    /// totals that end this interval are the baseline of the next, read once.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use perfkit_core::{ManualClock, Timestamp};
    /// use perfkit_metrics::{Method, Recorder, RecorderConfig};
    ///
    /// let clock = Arc::new(ManualClock::new(Timestamp::from_unix_millis(0)));
    /// let recorder = Recorder::new(RecorderConfig::default(), clock.clone())?;
    /// recorder.record_request(None, Method::Get, 200, Duration::from_millis(5));
    /// clock.advance(Duration::from_secs(30));
    ///
    /// let closed = recorder.close_interval();
    /// assert_eq!((closed.requests.interval, closed.interval.seconds), (1, 30.0));
    /// // Reads until the next close report that interval, and change nothing.
    /// clock.advance(Duration::from_secs(29));
    /// assert_eq!(recorder.snapshot().interval, closed.interval);
    /// assert_eq!(recorder.close_interval().requests.interval, 0);
    /// # Ok::<(), perfkit_metrics::MetricsError>(())
    /// ```
    pub fn close_interval(&self) -> ApplicationMetrics {
        let mut window = self.lock_window();
        let labels = self.labels.load();
        let totals = self.totals(&labels);
        let now = self.clock.now();
        let closed = interval_figures(window.close(now, &totals), None);
        let interval = IntervalFigures { per_minute: window.per_minute(now, &totals), ..closed };
        // Closed under the same lock, so business figures tile the same intervals.
        let business = self.business.close(interval.span.seconds);
        drop(window);
        self.application_metrics(now, &labels, &totals, interval, business)
    }

    fn application_metrics(
        &self,
        now: Timestamp,
        labels: &LabelSets,
        totals: &Totals,
        interval: IntervalFigures,
        business: Vec<BusinessSeries>,
    ) -> ApplicationMetrics {
        let database = database_figures(&self.config, labels, totals, &interval);
        let server_errors = totals.requests.in_class(StatusClass::ServerError);
        ApplicationMetrics {
            timestamp: now,
            interval: interval.span,
            uptime_seconds: self.uptime_seconds(now),
            availability: AvailabilityFigures {
                interval: interval.error_rate.map(|rate| 1.0 - rate),
                cumulative: ratio(server_errors, totals.requests.total()).map(|rate| 1.0 - rate),
            },
            own: own_figures(&self.own.read(), totals),
            requests: RequestFigures {
                upgrades: totals.upgrades,
                total: totals.requests.total(),
                interval: interval.requests,
                by_status_class: StatusClass::ALL
                    .iter()
                    .map(|class| (class.as_str().to_owned(), totals.requests.in_class(*class)))
                    .filter(|(_, count)| *count > 0)
                    .collect(),
                slow: totals.slow_requests,
            },
            response_time: LatencyFigures {
                interval: interval.latency,
                cumulative: latency_summary(&totals.latency, totals.requests.duration_sum_micros),
            },
            throughput: Throughput {
                per_second: interval.per_second,
                per_minute: interval.per_minute,
            },
            errors: self.error_figures(labels, totals, interval.error_rate),
            routes: self.route_figures(labels),
            database,
            websocket: WebSocketFigures {
                total_connections: totals.ws_opened,
                messages: totals.ws_messages,
            },
            business,
            slowest_exemplar: self.slowest_exemplar(labels, interval.span.start),
        }
    }

    fn error_figures(
        &self,
        labels: &LabelSets,
        totals: &Totals,
        interval_rate: Option<f64>,
    ) -> ErrorFigures {
        let server_errors = totals.requests.in_class(StatusClass::ServerError);
        ErrorFigures {
            server_errors,
            rate: interval_rate,
            cumulative_rate: ratio(server_errors, totals.requests.total()),
            recorded: totals.errors_recorded,
            by_kind: labels
                .error_kinds
                .iter()
                .map(|(kind, count)| (kind.to_owned(), count.load(Ordering::Relaxed)))
                .collect::<BTreeMap<_, _>>(),
            other: labels.other_error_kinds.load(Ordering::Relaxed),
        }
    }

    fn route_figures(&self, labels: &LabelSets) -> RouteFigures {
        let mut slowest: Vec<RouteSummary> =
            labels.routes.iter().map(|(route, series)| route_summary(route, series)).collect();
        slowest.sort_by(|a, b| {
            b.p95
                .partial_cmp(&a.p95)
                .unwrap_or(std::cmp::Ordering::Equal)
                .then_with(|| a.route.cmp(&b.route))
        });
        RouteFigures {
            tracked: labels.routes.len(),
            max: self.config.max_routes,
            overflow_requests: labels.overflow.read().total(),
            unrouted_requests: self.unrouted.read().total(),
            slowest,
        }
    }

    /// Visits each request series (tracked routes, then the overflow series as
    /// `Some("__overflow__")`, then unrouted requests as `None`) with its counts, read into
    /// one reused buffer; latency buckets only up to `latency_up_to` microseconds, none when
    /// `None` (see [`RequestSeries::read_into`]). The Prometheus exposition reads through this.
    pub(crate) fn for_each_series(
        &self,
        latency_up_to: Option<u64>,
        mut visit: impl FnMut(Option<&str>, &SeriesCounts, &Exemplars),
    ) {
        let labels = self.labels.load();
        let mut counts = SeriesCounts::default();
        for (route, series) in labels.routes.iter() {
            series.read_into(&mut counts, latency_up_to);
            visit(Some(route), &counts, &series.exemplars);
        }
        labels.overflow.read_into(&mut counts, latency_up_to);
        visit(Some(OVERFLOW_ROUTE), &counts, &labels.overflow.exemplars);
        self.unrouted.read_into(&mut counts, latency_up_to);
        visit(None, &counts, &self.unrouted.exemplars);
    }

    /// The slowest exemplar recorded from `since` on, over every request series.
    fn slowest_exemplar(&self, labels: &LabelSets, since: Timestamp) -> Option<Exemplar> {
        labels
            .routes
            .iter()
            .map(|(_, series)| series)
            .chain([&labels.overflow, &self.unrouted])
            .flat_map(|series| series.exemplars.iter())
            .filter(|exemplar| exemplar.timestamp >= since)
            .max_by(|a, b| a.value.total_cmp(&b.value))
    }

    /// Visits each statement series (tracked statements, then the overflow series as
    /// [`OVERFLOW_STATEMENT`]) with its counts, read into one reused buffer. The Prometheus
    /// exposition reads through this.
    pub(crate) fn for_each_statement(&self, mut visit: impl FnMut(&str, &StatementCounts)) {
        let labels = self.labels.load();
        let mut counts = StatementCounts::default();
        for (statement, series) in labels.statements.iter() {
            series.read_into(&mut counts);
            visit(statement, &counts);
        }
        labels.statement_overflow.read_into(&mut counts);
        visit(OVERFLOW_STATEMENT, &counts);
    }

    /// Zeroes every figure, forgets every route, error kind and statement, and every closed
    /// interval: a new running interval starts now. Facade series are zeroed in place (their
    /// callers hold handles to them), gauges kept.
    pub fn reset(&self) {
        // Held throughout, so a close never reads half-zeroed counters as its boundary.
        let mut window = self.lock_window();
        self.labels.store(Arc::new(LabelSets::new(&self.config)));
        self.unrouted.reset();
        self.own.reset();
        for stripe in &*self.stripes {
            stripe.latency.reset();
            stripe.db_latency.reset();
            stripe.pool_acquire.reset();
            for counter in [
                &stripe.db_duration_sum_micros,
                &stripe.db_slow,
                &stripe.pool_acquire_sum_micros,
                &stripe.ws_messages,
                &stripe.ws_opened,
                &stripe.errors_recorded,
                &stripe.slow_requests,
                &stripe.upgrades,
                &stripe.own_upgrades,
                &stripe.own_stream_messages,
            ] {
                counter.store(0, Ordering::Relaxed);
            }
        }
        self.business.reset();
        window.reset(self.clock.now());
    }
}

/// Figures for the exposition, read in one pass (see [`Recorder::exposition_figures`]).
#[derive(Debug)]
pub(crate) struct ExpositionFigures {
    /// Striped counters; `requests` is empty (series are visited one by one instead).
    pub(crate) totals: Totals,
    /// Availability over the last closed interval (the latest snapshot's), `None` before
    /// the first close or when it had no requests.
    pub(crate) interval_availability: Option<f64>,
    /// When the recorder started, Unix seconds.
    pub(crate) start_time_seconds: f64,
    /// perfkit's own requests.
    pub(crate) own: SeriesCounts,
    pub(crate) error_kinds: Vec<(String, u64)>,
    pub(crate) other_error_kinds: u64,
    pub(crate) routes_tracked: usize,
    pub(crate) statements_tracked: usize,
}

/// `101 Switching Protocols`: an upgrade, not a request.
const SWITCHING_PROTOCOLS: u16 = 101;

fn own_figures(counts: &SeriesCounts, totals: &Totals) -> OwnTrafficFigures {
    OwnTrafficFigures {
        requests: counts.total(),
        server_errors: counts.in_class(StatusClass::ServerError),
        upgrades: totals.own_upgrades,
        stream_messages: totals.own_stream_messages,
        avg: mean_millis(counts.duration_sum_micros, counts.total()),
    }
}

/// The route label of requests folded into the overflow series.
pub const OVERFLOW_ROUTE: &str = "__overflow__";

/// The statement label of calls folded into the overflow series.
pub const OVERFLOW_STATEMENT: &str = "__overflow__";

fn statement_summary(statement: &str, counts: &StatementCounts) -> StatementSummary {
    #[allow(clippy::cast_precision_loss)]
    let total_ms = counts.duration_sum_micros as f64 / 1000.0;
    #[allow(clippy::cast_precision_loss)]
    let max = (counts.calls > 0).then(|| counts.max_micros as f64 / 1000.0);
    StatementSummary {
        id: statement_id(statement),
        statement: statement.to_owned(),
        count: counts.calls,
        slow: counts.slow,
        timeouts: counts.timeouts,
        rows: counts.rows,
        total_ms,
        avg: mean_millis(counts.duration_sum_micros, counts.calls),
        p50: coarse_quantile_millis(&counts.latency, 0.50),
        p95: coarse_quantile_millis(&counts.latency, 0.95),
        max,
    }
}

fn database_figures(
    config: &RecorderConfig,
    labels: &LabelSets,
    totals: &Totals,
    interval: &IntervalFigures,
) -> DatabaseFigures {
    let mut counts = StatementCounts::default();
    let mut slowest: Vec<StatementSummary> = labels
        .statements
        .iter()
        .map(|(statement, series)| {
            series.read_into(&mut counts);
            statement_summary(statement, &counts)
        })
        .collect();
    // Slowest P95 first; between equals, the one that cost more time in all.
    slowest.sort_by(|a, b| {
        b.p95
            .partial_cmp(&a.p95)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then_with(|| b.total_ms.total_cmp(&a.total_ms))
            .then_with(|| a.statement.cmp(&b.statement))
    });
    labels.statement_overflow.read_into(&mut counts);
    DatabaseFigures {
        queries: totals.db_latency.total(),
        slow_queries: totals.db_slow,
        interval: interval.db_latency.clone(),
        cumulative: latency_summary(&totals.db_latency, totals.db_duration_sum_micros),
        statements: StatementFigures {
            tracked: labels.statements.len(),
            max: config.max_statements,
            overflow_queries: counts.calls,
            slowest,
        },
        pool_acquire: LatencyFigures {
            interval: interval.pool_acquire.clone(),
            cumulative: latency_summary(&totals.pool_acquire, totals.pool_acquire_sum_micros),
        },
    }
}
