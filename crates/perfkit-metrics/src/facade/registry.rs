//! The facade's series by name and label set, capped, and their figures over intervals.
//!
//! Two lock-free tables: names (capped at `maxNames`), and per name its label sets (capped at
//! `maxSeriesPerName`, then one overflow series). Looking a series up is a hash of the name, a
//! hash of the labels and a comparison, with no allocation when the name and labels already
//! follow Prometheus's rules; and most calls of the `counter!` macro with dynamic labels do not
//! even pay that, since a per-thread cache (`thread_cache.rs`) remembers recent keys. Entries are never removed, because the facade's callers keep handles to them; a
//! reset zeroes counters and histograms in place and keeps gauges (their value is a state,
//! not a count).

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use metrics::{Key, Unit};
use perfkit_core::{BusinessSeries, SeriesKind};

use super::BusinessConfig;
use super::bounds::default_bounds;
use super::names::{label_name, label_value, labels_are_clean, metric_name};
use super::series::{CounterSeries, GaugeSeries, HistogramSeries, bucket_quantile};
use super::thread_cache;
use perfkit_core::BoundedTable;

/// The label that marks a name's overflow series, which holds every label set past the cap.
pub const OVERFLOW_LABEL: &str = "perfkit_overflow";

/// A series' labels, sorted by name, with no name twice.
pub(crate) type LabelSet = Box<[(Box<str>, Box<str>)]>;

/// The live value of one series, shared with the handles given out for it.
#[derive(Debug, Clone)]
pub(crate) enum SeriesCell {
    Counter(Arc<CounterSeries>),
    Gauge(Arc<GaugeSeries>),
    Histogram(Arc<HistogramSeries>),
}

/// What `describe_*` said of a name.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Description {
    pub(crate) unit: Option<Unit>,
    pub(crate) help: String,
}

/// One name: its kind, its series and what was said of it.
#[derive(Debug)]
pub(crate) struct NameEntry {
    pub(crate) kind: SeriesKind,
    pub(crate) series: BoundedTable<SeriesCell, LabelSet>,
    pub(crate) overflow: SeriesCell,
    /// The histogram bounds every series of this name shares (empty for other kinds).
    bounds: Arc<[f64]>,
    description: Mutex<Option<Description>>,
}

impl NameEntry {
    fn new(kind: SeriesKind, name: &str, config: &BusinessConfig, unit: Option<Unit>) -> Self {
        let bounds: Arc<[f64]> = match config.buckets.get(name) {
            Some(bounds) => Arc::from(bounds.as_slice()),
            None => default_bounds(name, unit),
        };
        NameEntry {
            kind,
            series: BoundedTable::new(config.max_series_per_name),
            overflow: SeriesCell::new(kind, &bounds),
            bounds,
            description: Mutex::new(None),
        }
    }

    pub(crate) fn description(&self) -> Option<Description> {
        self.description.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    fn describe(&self, description: Description) {
        *self.description.lock().unwrap_or_else(PoisonError::into_inner) = Some(description);
    }
}

impl SeriesCell {
    fn new(kind: SeriesKind, bounds: &Arc<[f64]>) -> Self {
        match kind {
            SeriesKind::Counter => SeriesCell::Counter(Arc::default()),
            SeriesKind::Gauge => SeriesCell::Gauge(Arc::default()),
            SeriesKind::Histogram => {
                SeriesCell::Histogram(Arc::new(HistogramSeries::new(Arc::clone(bounds))))
            }
        }
    }
}

/// Registrations the caps or a kind conflict turned away, by reason.
#[derive(Debug, Default)]
pub(crate) struct Refusals {
    /// Label sets past a name's cap, recorded into its overflow series.
    pub(crate) series_cap: AtomicU64,
    /// Names past the name cap: their handles record nothing.
    pub(crate) name_cap: AtomicU64,
    /// A name registered as another kind than it was first: those handles record nothing.
    pub(crate) kind_conflict: AtomicU64,
}

impl Refusals {
    pub(crate) fn total(&self) -> u64 {
        [&self.series_cap, &self.name_cap, &self.kind_conflict]
            .iter()
            .map(|count| count.load(Ordering::Relaxed))
            .sum()
    }
}

/// Every series emitted through the `metrics` facade, capped, with figures per interval.
///
/// Owned by the [`Recorder`](crate::Recorder) (read it with
/// [`Recorder::business`](crate::Recorder::business)); the facade recorder
/// ([`FacadeRecorder`](crate::FacadeRecorder)) feeds it, the exposition reads it at scrape
/// time, and the recorder's interval close closes its interval too, so a snapshot's
/// `business` figures cover the same interval as its request figures.
#[derive(Debug)]
pub struct BusinessRegistry {
    /// Names this registry's entries in the per-thread lookup cache.
    id: u64,
    config: BusinessConfig,
    names: BoundedTable<NameEntry>,
    refusals: Refusals,
    /// The figures of the last closed interval; `None` before the first close.
    last_closed: Mutex<Option<Vec<BusinessSeries>>>,
}

impl BusinessRegistry {
    pub(crate) fn new(config: BusinessConfig) -> Self {
        BusinessRegistry {
            id: thread_cache::registry_id(),
            names: BoundedTable::new(config.max_names),
            config,
            refusals: Refusals::default(),
            last_closed: Mutex::new(None),
        }
    }

    /// The settings it runs with.
    #[must_use]
    pub fn config(&self) -> &BusinessConfig {
        &self.config
    }

    /// Names tracked now.
    #[must_use]
    pub fn names(&self) -> usize {
        self.names.len()
    }

    /// Label sets tracked now, over every name (overflow series not counted).
    #[must_use]
    pub fn series(&self) -> usize {
        self.names.iter().map(|(_, entry)| entry.series.len()).sum()
    }

    pub(crate) fn refusals(&self) -> &Refusals {
        &self.refusals
    }

    /// Every name with its entry, sorted by name.
    pub(crate) fn sorted_names(&self) -> Vec<(&str, &NameEntry)> {
        let mut names: Vec<_> = self.names.iter().collect();
        names.sort_unstable_by_key(|(name, _)| *name);
        names
    }

    fn entry(&self, kind: SeriesKind, name: &str, unit: Option<Unit>) -> Option<&NameEntry> {
        let Some(entry) =
            self.names.get_or_insert_with(name, || NameEntry::new(kind, name, &self.config, unit))
        else {
            self.refusals.name_cap.fetch_add(1, Ordering::Relaxed);
            return None;
        };
        if entry.kind != kind {
            self.refusals.kind_conflict.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        Some(entry)
    }

    /// Records what `describe_*` says of `name`: its kind, unit and help text.
    pub(crate) fn describe(&self, kind: SeriesKind, name: &str, unit: Option<Unit>, help: &str) {
        let name = metric_name(name);
        if let Some(entry) = self.entry(kind, &name, unit) {
            entry.describe(Description { unit, help: help.to_owned() });
        }
    }

    /// The series of `kind` for `key`, created when new; the name's overflow series past its
    /// cap; `None` when the name is past the name cap or has another kind.
    pub(crate) fn register(&self, kind: SeriesKind, key: &Key) -> Option<SeriesCell> {
        if let Some(cell) = thread_cache::get(self.id, kind, key) {
            return Some(cell);
        }
        let name = metric_name(key.name());
        let entry = self.entry(kind, &name, None)?;
        let clean = labels_are_clean(key.labels().map(|label| (label.key(), label.value())))
            && !has_repeated_names(key);
        let found = if clean {
            let labels = key.labels().map(|label| (label.key(), label.value()));
            self.find_or_insert(entry, &labels)
        } else {
            let fixed = fixed_labels(key);
            self.find_or_insert(entry, &fixed.iter().map(|(name, value)| (&**name, &**value)))
        };
        match found {
            Some(cell) => {
                thread_cache::put(self.id, kind, key, cell);
                Some(cell.clone())
            }
            // Not cached: each registration past the cap is counted.
            None => {
                self.refusals.series_cap.fetch_add(1, Ordering::Relaxed);
                Some(entry.overflow.clone())
            }
        }
    }

    fn find_or_insert<'a, 'e>(
        &self,
        entry: &'e NameEntry,
        labels: &(impl Iterator<Item = (&'a str, &'a str)> + Clone),
    ) -> Option<&'e SeriesCell> {
        let hasher = entry.series.hasher();
        // Order-independent: the same labels in another order are the same series.
        let hash =
            labels.clone().fold(0u64, |hash, label| hash.wrapping_add(hasher.hash_one(label)));
        let count = labels.clone().count();
        let matches = |stored: &LabelSet| {
            stored.len() == count
                && labels.clone().all(|(name, value)| {
                    stored
                        .binary_search_by(|(stored_name, _)| (**stored_name).cmp(name))
                        .is_ok_and(|at| &*stored[at].1 == value)
                })
        };
        entry.series.get_or_insert_hashed(hash, matches, || {
            let mut set: Vec<(Box<str>, Box<str>)> =
                labels.clone().map(|(name, value)| (name.into(), value.into())).collect();
            set.sort_unstable();
            (set.into_boxed_slice(), SeriesCell::new(entry.kind, &entry.bounds))
        })
    }

    /// Closes the interval: each series' figures over the `seconds` since the last close, and
    /// the next interval's baselines set. Kept as what later reads report.
    pub(crate) fn close(&self, seconds: f64) -> Vec<BusinessSeries> {
        let mut last = self.last_closed.lock().unwrap_or_else(PoisonError::into_inner);
        let figures = self.figures(seconds, true);
        *last = Some(figures.clone());
        figures
    }

    /// The figures of the last closed interval; before the first close, those of the running
    /// one (`seconds` long). Changes nothing.
    pub(crate) fn reported(&self, seconds: f64) -> Vec<BusinessSeries> {
        let last = self.last_closed.lock().unwrap_or_else(PoisonError::into_inner);
        match &*last {
            Some(figures) => figures.clone(),
            None => self.figures(seconds, false),
        }
    }

    /// Zeroes counters and histograms (gauges keep their state) and forgets the last closed
    /// interval. Names and label sets stay: callers hold handles to them.
    pub(crate) fn reset(&self) {
        let mut last = self.last_closed.lock().unwrap_or_else(PoisonError::into_inner);
        for (_, entry) in self.names.iter() {
            let cells = entry.series.entries().map(|(_, cell)| cell).chain([&entry.overflow]);
            for cell in cells {
                match cell {
                    SeriesCell::Counter(counter) => counter.reset(),
                    SeriesCell::Histogram(histogram) => histogram.reset(),
                    SeriesCell::Gauge(_) => {}
                }
            }
        }
        *last = None;
    }

    /// Every series' figures, sorted by name and labels, at most `maxSnapshotSeries` of them.
    /// With `close`, the interval's baselines move to now.
    fn figures(&self, seconds: f64, close: bool) -> Vec<BusinessSeries> {
        let mut all = Vec::new();
        for (name, entry) in self.sorted_names() {
            for (labels, cell) in entry.series.entries() {
                let labels = labels.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect();
                all.push(series_figures(name, labels, cell, seconds, close));
            }
            if let Some(overflow) = overflow_figures(name, entry, seconds, close) {
                all.push(overflow);
            }
        }
        all.sort_by(|a, b| (&a.name, &a.labels).cmp(&(&b.name, &b.labels)));
        all.truncate(self.config.max_snapshot_series);
        all
    }
}

/// The overflow series' figures, when anything was ever recorded into it.
fn overflow_figures(
    name: &str,
    entry: &NameEntry,
    seconds: f64,
    close: bool,
) -> Option<BusinessSeries> {
    let used = match &entry.overflow {
        SeriesCell::Counter(counter) => counter.total() > 0,
        SeriesCell::Histogram(histogram) => histogram.read().count() > 0,
        SeriesCell::Gauge(gauge) => gauge.value() != 0.0,
    };
    used.then(|| {
        let labels = BTreeMap::from([(OVERFLOW_LABEL.to_owned(), "true".to_owned())]);
        series_figures(name, labels, &entry.overflow, seconds, close)
    })
}

#[allow(clippy::cast_precision_loss)] // counts far below 2^53 in practice
fn series_figures(
    name: &str,
    labels: BTreeMap<String, String>,
    cell: &SeriesCell,
    seconds: f64,
    close: bool,
) -> BusinessSeries {
    let rate = |increase: u64| (seconds > 0.0).then(|| increase as f64 / seconds);
    let mut figures =
        BusinessSeries { labels, ..BusinessSeries::new(name, SeriesKind::Gauge, 0.0) };
    match cell {
        SeriesCell::Counter(counter) => {
            let (total, increase) = if close { counter.close() } else { counter.since_close() };
            figures.kind = SeriesKind::Counter;
            figures.value = total as f64;
            figures.increase = Some(increase as f64);
            figures.rate_per_second = rate(increase);
        }
        SeriesCell::Gauge(gauge) => figures.value = gauge.value(),
        SeriesCell::Histogram(histogram) => {
            let (now, growth) = histogram.interval(close);
            let increase = growth.iter().sum();
            let quantile = |q| bucket_quantile(histogram.bounds(), &growth, q);
            figures.kind = SeriesKind::Histogram;
            figures.value = now.count() as f64;
            figures.increase = Some(increase as f64);
            figures.rate_per_second = rate(increase);
            figures.sum = Some(now.sum);
            figures.p50 = quantile(0.50);
            figures.p95 = quantile(0.95);
            figures.p99 = quantile(0.99);
        }
    }
    figures
}

/// Whether a label name appears twice; quadratic, without allocating, for the handful of
/// labels a series has.
fn has_repeated_names(key: &Key) -> bool {
    key.labels()
        .enumerate()
        .any(|(i, label)| key.labels().take(i).any(|earlier| earlier.key() == label.key()))
}

/// `key`'s labels with names and values made valid; of a name given twice, the last value.
fn fixed_labels(key: &Key) -> Vec<(String, String)> {
    let mut fixed: Vec<(String, String)> = Vec::new();
    for label in key.labels() {
        let name = label_name(label.key());
        let value = label_value(label.value()).to_owned();
        match fixed.iter_mut().find(|(existing, _)| *existing == name) {
            Some(slot) => slot.1 = value,
            None => fixed.push((Cow::into_owned(name), value)),
        }
    }
    fixed
}

#[cfg(test)]
mod tests {
    use metrics::Label;

    use super::*;

    fn key(name: &str, labels: &[(&str, &str)]) -> Key {
        let labels: Vec<Label> =
            labels.iter().map(|(k, v)| Label::new(k.to_string(), v.to_string())).collect();
        Key::from_parts(name.to_owned(), labels)
    }

    fn counter(registry: &BusinessRegistry, key: &Key) -> Arc<CounterSeries> {
        match registry.register(SeriesKind::Counter, key) {
            Some(SeriesCell::Counter(counter)) => counter,
            other => panic!("not a counter: {other:?}"),
        }
    }

    #[test]
    fn the_same_labels_in_any_order_are_one_series() {
        let registry = BusinessRegistry::new(BusinessConfig::default());
        let a = counter(&registry, &key("orders", &[("region", "eu"), ("plan", "pro")]));
        let b = counter(&registry, &key("orders", &[("plan", "pro"), ("region", "eu")]));
        assert!(Arc::ptr_eq(&a, &b));
        let c = counter(&registry, &key("orders", &[("plan", "pro")]));
        assert!(!Arc::ptr_eq(&a, &c));
        assert_eq!((registry.names(), registry.series()), (1, 2));
    }

    #[test]
    fn invalid_names_and_labels_are_fixed_into_one_series() {
        let registry = BusinessRegistry::new(BusinessConfig::default());
        let a = counter(&registry, &key("orders.placed", &[("the region", "eu")]));
        let b = counter(&registry, &key("orders_placed", &[("the_region", "eu")]));
        assert!(Arc::ptr_eq(&a, &b));
        let repeated = counter(&registry, &key("orders_placed", &[("x", "1"), ("x", "2")]));
        let once = counter(&registry, &key("orders_placed", &[("x", "2")]));
        assert!(Arc::ptr_eq(&repeated, &once));
        a.increment(2);
        let figures = registry.close(1.0);
        assert_eq!(figures[0].name, "orders_placed");
        assert_eq!(figures[0].labels["the_region"], "eu");
    }

    #[test]
    fn label_sets_past_the_cap_share_one_overflow_series() {
        let config = BusinessConfig { max_series_per_name: 3, ..BusinessConfig::default() };
        let registry = BusinessRegistry::new(config);
        for user in 0..10 {
            counter(&registry, &key("logins", &[("user", &user.to_string())])).increment(1);
        }
        assert_eq!(registry.series(), 3);
        assert_eq!(registry.refusals().series_cap.load(Ordering::Relaxed), 7);
        let figures = registry.close(10.0);
        assert_eq!(figures.len(), 4);
        let overflow = figures.iter().find(|s| s.labels.contains_key(OVERFLOW_LABEL)).unwrap();
        assert_eq!((overflow.value, overflow.rate_per_second), (7.0, Some(0.7)));
    }

    #[test]
    fn names_past_the_cap_and_kind_conflicts_are_refused_and_counted() {
        let config = BusinessConfig { max_names: 1, ..BusinessConfig::default() };
        let registry = BusinessRegistry::new(config);
        assert!(registry.register(SeriesKind::Counter, &key("a", &[])).is_some());
        assert!(registry.register(SeriesKind::Gauge, &key("a", &[])).is_none());
        assert!(registry.register(SeriesKind::Counter, &key("b", &[])).is_none());
        assert_eq!(registry.refusals().kind_conflict.load(Ordering::Relaxed), 1);
        assert_eq!(registry.refusals().name_cap.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn closes_report_growth_and_reads_change_nothing() {
        let registry = BusinessRegistry::new(BusinessConfig::default());
        let orders = counter(&registry, &key("orders", &[]));
        orders.increment(30);
        assert_eq!(registry.reported(30.0)[0].increase, Some(30.0), "running, before a close");
        assert_eq!(registry.close(30.0)[0].rate_per_second, Some(1.0));
        orders.increment(60);
        assert_eq!(registry.reported(5.0)[0].increase, Some(30.0), "the last closed interval");
        let next = registry.close(30.0);
        assert_eq!((next[0].value, next[0].increase), (90.0, Some(60.0)));
        registry.reset();
        assert_eq!(registry.reported(1.0)[0].value, 0.0);
    }

    #[test]
    fn histograms_take_configured_bounds_and_report_percentiles() {
        let config = BusinessConfig {
            buckets: BTreeMap::from([("checkout_value".to_owned(), vec![10.0, 50.0, 100.0])]),
            ..BusinessConfig::default()
        };
        let registry = BusinessRegistry::new(config);
        let Some(SeriesCell::Histogram(values)) =
            registry.register(SeriesKind::Histogram, &key("checkout_value", &[]))
        else {
            panic!("not a histogram");
        };
        assert_eq!(values.bounds(), [10.0, 50.0, 100.0]);
        (0..100).for_each(|i| values.record_many(f64::from(i), 1));
        let figures = &registry.close(10.0)[0];
        assert_eq!(figures.kind, SeriesKind::Histogram);
        assert_eq!((figures.value, figures.sum), (100.0, Some(4950.0)));
        // 11 values in [0, 10], 40 in (10, 50], 49 in (50, 100]: interpolated within a
        // bucket, as histogram_quantile() would over the same buckets.
        assert_eq!(figures.p50, Some(10.0 + 40.0 * (39.0 / 40.0)));
        assert_eq!(figures.p95, Some(50.0 + 50.0 * (44.0 / 49.0)));
    }

    #[test]
    fn a_snapshot_carries_at_most_its_cap_of_series() {
        let config = BusinessConfig { max_snapshot_series: 5, ..BusinessConfig::default() };
        let registry = BusinessRegistry::new(config);
        for i in 0..20 {
            registry.register(SeriesKind::Gauge, &key(&format!("g{i:02}"), &[]));
        }
        let names: Vec<_> = registry.close(1.0).into_iter().map(|s| s.name).collect();
        assert_eq!(names, ["g00", "g01", "g02", "g03", "g04"]);
    }
}
