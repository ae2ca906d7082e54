//! perfkit as the `metrics` facade's recorder: `counter!`, `gauge!`, `histogram!` and
//! `describe_*` anywhere in the process land in the [`Recorder`]'s business registry.

use std::sync::Arc;

use metrics::{
    Counter, CounterFn, Gauge, GaugeFn, Histogram, HistogramFn, Key, KeyName, Metadata,
    SharedString, Unit,
};
use perfkit_core::SeriesKind;

use super::registry::SeriesCell;
use super::series::{CounterSeries, GaugeSeries, HistogramSeries};
use crate::{MetricsError, Recorder};

/// A `metrics::Recorder` over a perfkit [`Recorder`]: what the facade's macros emit goes to
/// the recorder's [`BusinessRegistry`](crate::BusinessRegistry), capped like routes, and from
/// there to the exposition, the snapshot and alert rules.
///
/// [`install`] makes it the process's global recorder. To keep another recorder as well
/// (a second exporter, a test's `DebuggingRecorder`), build a fanout of both with
/// metrics-util's `layers::FanoutBuilder` and install that with
/// `metrics::set_global_recorder`; a `FacadeRecorder` is an ordinary recorder to it.
///
/// ```
/// use std::sync::Arc;
/// use perfkit_metrics::{FacadeRecorder, Recorder};
///
/// let recorder = Arc::new(Recorder::default());
/// let facade = FacadeRecorder::new(Arc::clone(&recorder));
/// metrics::with_local_recorder(&facade, || {
///     metrics::counter!("orders_placed", "region" => "eu").increment(3);
/// });
/// let orders = &recorder.snapshot().business[0];
/// assert_eq!((orders.name.as_str(), orders.value), ("orders_placed", 3.0));
/// ```
#[derive(Debug, Clone)]
pub struct FacadeRecorder {
    recorder: Arc<Recorder>,
}

impl FacadeRecorder {
    /// A facade recorder writing into `recorder`.
    #[must_use]
    pub fn new(recorder: Arc<Recorder>) -> Self {
        FacadeRecorder { recorder }
    }
}

/// Makes a [`FacadeRecorder`] over `recorder` the process's global `metrics` recorder.
///
/// # Errors
/// [`MetricsError::RecorderAlreadyInstalled`] when the process has one already (this one,
/// installed before, or another crate's): the facade takes one recorder per process.
pub fn install(recorder: Arc<Recorder>) -> Result<(), MetricsError> {
    metrics::set_global_recorder(FacadeRecorder::new(recorder))
        .map_err(|_| MetricsError::RecorderAlreadyInstalled)
}

impl metrics::Recorder for FacadeRecorder {
    fn describe_counter(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.recorder.business().describe(SeriesKind::Counter, key.as_str(), unit, &description);
    }

    fn describe_gauge(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.recorder.business().describe(SeriesKind::Gauge, key.as_str(), unit, &description);
    }

    fn describe_histogram(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.recorder.business().describe(SeriesKind::Histogram, key.as_str(), unit, &description);
    }

    fn register_counter(&self, key: &Key, _metadata: &Metadata<'_>) -> Counter {
        match self.recorder.business().register(SeriesKind::Counter, key) {
            Some(SeriesCell::Counter(counter)) => Counter::from_arc(counter),
            _ => Counter::noop(),
        }
    }

    fn register_gauge(&self, key: &Key, _metadata: &Metadata<'_>) -> Gauge {
        match self.recorder.business().register(SeriesKind::Gauge, key) {
            Some(SeriesCell::Gauge(gauge)) => Gauge::from_arc(gauge),
            _ => Gauge::noop(),
        }
    }

    fn register_histogram(&self, key: &Key, _metadata: &Metadata<'_>) -> Histogram {
        match self.recorder.business().register(SeriesKind::Histogram, key) {
            Some(SeriesCell::Histogram(histogram)) => Histogram::from_arc(histogram),
            _ => Histogram::noop(),
        }
    }
}

impl CounterFn for CounterSeries {
    fn increment(&self, value: u64) {
        CounterSeries::increment(self, value);
    }

    fn absolute(&self, value: u64) {
        CounterSeries::absolute(self, value);
    }
}

impl GaugeFn for GaugeSeries {
    fn increment(&self, value: f64) {
        self.add(value);
    }

    fn decrement(&self, value: f64) {
        self.add(-value);
    }

    fn set(&self, value: f64) {
        GaugeSeries::set(self, value);
    }
}

impl HistogramFn for HistogramSeries {
    fn record(&self, value: f64) {
        self.record_many(value, 1);
    }

    fn record_many(&self, value: f64, count: usize) {
        HistogramSeries::record_many(self, value, u64::try_from(count).unwrap_or(u64::MAX));
    }
}
