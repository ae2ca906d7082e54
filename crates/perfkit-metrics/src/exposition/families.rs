//! Small builders for the `prometheus` crate's protobuf model, so collectors read as a list
//! of families rather than as field-by-field protobuf assembly. Public, so crates that add
//! their own collectors to a [`PrometheusExporter`](crate::PrometheusExporter)'s registry
//! (the orchestrator's cache statistics) build families the same way.

use prometheus::core::Desc;
use prometheus::proto::{
    Bucket, Counter, Gauge, Histogram, LabelPair, Metric, MetricFamily, MetricType,
};

/// Labels of one series, as `(name, value)` pairs in the order they are declared.
pub type FamilyLabels<'a> = &'a [(&'a str, &'a str)];

fn label_pairs(labels: FamilyLabels<'_>) -> Vec<LabelPair> {
    labels
        .iter()
        .map(|(name, value)| {
            let mut pair = LabelPair::default();
            pair.set_name((*name).to_owned());
            pair.set_value((*value).to_owned());
            pair
        })
        .collect()
}

/// A metric family under construction.
///
/// ```
/// use perfkit_metrics::FamilyBuilder;
///
/// let mut family = FamilyBuilder::gauge("cache_keys", "Keys held by the cache.");
/// family.value(&[("backend", "memory")], 42.0);
/// let family = family.finish();
/// assert_eq!(family.name(), "cache_keys");
/// ```
#[derive(Debug)]
pub struct Family {
    family: MetricFamily,
}

impl Family {
    /// A family of any type.
    #[must_use]
    pub fn new(name: &str, help: &str, kind: MetricType) -> Self {
        let mut family = MetricFamily::default();
        family.set_name(name.to_owned());
        family.set_help(help.to_owned());
        family.set_field_type(kind);
        Family { family }
    }

    /// A counter family.
    #[must_use]
    pub fn counter(name: &str, help: &str) -> Self {
        Family::new(name, help, MetricType::COUNTER)
    }

    /// A gauge family.
    #[must_use]
    pub fn gauge(name: &str, help: &str) -> Self {
        Family::new(name, help, MetricType::GAUGE)
    }

    /// A histogram family.
    #[must_use]
    pub fn histogram(name: &str, help: &str) -> Self {
        Family::new(name, help, MetricType::HISTOGRAM)
    }

    /// Adds a counter or gauge sample, according to the family's type.
    #[allow(clippy::cast_precision_loss)]
    pub fn value(&mut self, labels: FamilyLabels<'_>, value: f64) -> &mut Self {
        let mut metric = Metric::from_label(label_pairs(labels));
        if self.family.get_field_type() == MetricType::COUNTER {
            let mut counter = Counter::default();
            counter.set_value(value);
            metric.set_counter(counter);
        } else {
            let mut gauge = Gauge::default();
            gauge.set_value(value);
            metric.set_gauge(gauge);
        }
        self.family.mut_metric().push(metric);
        self
    }

    /// Adds a histogram sample: cumulative counts at each upper bound (seconds), the total
    /// count and the sum (seconds).
    pub fn histogram_sample(
        &mut self,
        labels: FamilyLabels<'_>,
        upper_bounds: &[f64],
        cumulative_counts: &[u64],
        count: u64,
        sum: f64,
    ) -> &mut Self {
        let mut histogram = Histogram::default();
        histogram.set_sample_count(count);
        histogram.set_sample_sum(sum);
        let buckets = upper_bounds
            .iter()
            .zip(cumulative_counts)
            .map(|(bound, cumulative)| {
                let mut bucket = Bucket::default();
                bucket.set_upper_bound(*bound);
                bucket.set_cumulative_count(*cumulative);
                bucket
            })
            .collect();
        histogram.set_bucket(buckets);
        let mut metric = Metric::from_label(label_pairs(labels));
        metric.set_histogram(histogram);
        self.family.mut_metric().push(metric);
        self
    }

    /// The finished family, for a `Collector::collect` result.
    #[must_use]
    pub fn finish(self) -> MetricFamily {
        self.family
    }
}

/// A descriptor for registration; the registry uses descriptors only to reject two
/// collectors claiming the same family.
///
/// # Errors
/// When the name or a label name is not a valid Prometheus name.
pub fn desc(name: &str, help: &str, labels: &[&str]) -> Result<Desc, prometheus::Error> {
    Desc::new(
        name.to_owned(),
        help.to_owned(),
        labels.iter().map(|label| (*label).to_owned()).collect(),
        std::collections::HashMap::new(),
    )
}
