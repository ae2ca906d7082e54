//! The facade registry's settings: how many names and series it keeps, how many series a
//! snapshot carries, and the bucket bounds of its histograms.

use std::collections::BTreeMap;

use perfkit_core::is_valid_metric_name;

/// Settings of the series emitted through the `metrics` facade. Every cap keeps memory bounded
/// whatever a caller emits: label sets beyond a name's cap fold into its overflow series, names
/// beyond the cap are dropped, and both are counted.
#[derive(Debug, Clone, PartialEq)]
pub struct BusinessConfig {
    /// Distinct names kept; registrations of further names are dropped and counted.
    pub max_names: usize,
    /// Label sets kept per name; further ones record into the name's overflow series.
    pub max_series_per_name: usize,
    /// Most series a closed interval (and so a snapshot and its history) carries; the rest
    /// are in the exposition only.
    pub max_snapshot_series: usize,
    /// Bucket upper bounds of histograms by name (the facade's name, sanitized), strictly
    /// increasing and finite; `+Inf` is always added.
    pub buckets: BTreeMap<String, Vec<f64>>,
}

impl Default for BusinessConfig {
    fn default() -> Self {
        BusinessConfig {
            max_names: 256,
            max_series_per_name: 256,
            max_snapshot_series: 128,
            buckets: BTreeMap::new(),
        }
    }
}

/// Most names, series per name or snapshot series a cap may allow.
const MAX_CAP: usize = 100_000;
/// Most bucket bounds one histogram may have.
pub(crate) const MAX_BUCKETS: usize = 64;

impl BusinessConfig {
    /// Every problem with these settings, each naming its field (camelCase, as in a config
    /// file: `business.buckets.NAME`).
    #[must_use]
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        for (field, cap) in [
            ("business.maxNames", self.max_names),
            ("business.maxSeriesPerName", self.max_series_per_name),
            ("business.maxSnapshotSeries", self.max_snapshot_series),
        ] {
            if !(1..=MAX_CAP).contains(&cap) {
                problems.push(format!("{field} must be in 1..={MAX_CAP}, got {cap}"));
            }
        }
        for (name, bounds) in &self.buckets {
            let field = format!("business.buckets.{name}");
            if !is_valid_metric_name(name) {
                problems.push(format!("{field}: {name:?} is not a Prometheus metric name"));
            }
            if bounds.is_empty() || bounds.len() > MAX_BUCKETS {
                problems.push(format!(
                    "{field}: give 1..={MAX_BUCKETS} bucket bounds, got {}",
                    bounds.len()
                ));
            }
            if bounds.iter().any(|bound| !bound.is_finite()) {
                problems.push(format!("{field}: bucket bounds must be finite (+Inf is implied)"));
            } else if bounds.windows(2).any(|pair| pair[0] >= pair[1]) {
                problems.push(format!("{field}: bucket bounds must be strictly increasing"));
            }
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_have_no_problems() {
        assert!(BusinessConfig::default().problems().is_empty());
    }

    #[test]
    fn each_problem_names_its_field() {
        let config = BusinessConfig {
            max_series_per_name: 0,
            buckets: BTreeMap::from([
                ("checkout_value".to_owned(), vec![10.0, 5.0]),
                ("latency".to_owned(), vec![0.1, f64::INFINITY]),
                ("empty".to_owned(), vec![]),
                ("bad name".to_owned(), vec![1.0]),
            ]),
            ..BusinessConfig::default()
        };
        let problems = config.problems().join("\n");
        for field in [
            "business.maxSeriesPerName must be in 1..=100000, got 0",
            "business.buckets.checkout_value: bucket bounds must be strictly increasing",
            "business.buckets.latency: bucket bounds must be finite",
            "business.buckets.empty: give 1..=64 bucket bounds, got 0",
            "business.buckets.bad name: \"bad name\" is not a Prometheus metric name",
        ] {
            assert!(problems.contains(field), "{field} missing from:\n{problems}");
        }
    }
}
