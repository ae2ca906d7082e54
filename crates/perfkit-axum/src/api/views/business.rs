//! `/dashboard`'s `business`: which business series the page's Business panel lists and its
//! Metrics tab charts, chosen from the latest snapshot by the dashboard's configuration.

use perfkit::core::{BusinessSeries, MetricsSnapshot};
use serde::Serialize;

use crate::api::dashboard_config::DashboardConfig;

/// Series shown when no `businessMetrics` are configured: the first of the snapshot.
pub(crate) const UNCONFIGURED_SERIES: usize = 8;
/// Most series shown in all: an entry without labels matches every labelled series of its
/// name.
pub(crate) const MOST_SERIES: usize = 32;

/// The business series the dashboard shows.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct BusinessPanel {
    /// The configured entries (`businessMetrics`), in selector form; empty when none are
    /// configured and the first series of the snapshot are shown.
    pub(crate) configured: Vec<String>,
    /// The series shown, with their figures at the latest snapshot: in the configured
    /// entries' order (each entry's matches in the snapshot's order, a series once), else
    /// the snapshot's first [`UNCONFIGURED_SERIES`].
    pub(crate) series: Vec<BusinessSeries>,
    /// Series that would be shown but for the bound.
    pub(crate) omitted: usize,
}

impl BusinessPanel {
    pub(crate) fn of(config: &DashboardConfig, latest: Option<&MetricsSnapshot>) -> BusinessPanel {
        let all = latest.map_or(&[][..], |snapshot| snapshot.business.as_slice());
        let configured: Vec<String> =
            config.business_metrics.iter().map(ToString::to_string).collect();
        if config.business_metrics.is_empty() {
            let shown = all.len().min(UNCONFIGURED_SERIES);
            return BusinessPanel {
                configured,
                series: all[..shown].to_vec(),
                omitted: all.len() - shown,
            };
        }
        // Indexes into `all`, so a series two entries match is listed once, under the first.
        let mut chosen: Vec<usize> = Vec::new();
        let mut taken = vec![false; all.len()];
        for entry in &config.business_metrics {
            for (index, series) in all.iter().enumerate() {
                if !taken[index] && entry.matches(series) {
                    taken[index] = true;
                    chosen.push(index);
                }
            }
        }
        let omitted = chosen.len().saturating_sub(MOST_SERIES);
        chosen.truncate(MOST_SERIES);
        BusinessPanel {
            configured,
            series: chosen.into_iter().map(|index| all[index].clone()).collect(),
            omitted,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use perfkit::core::{SeriesKind, Timestamp};

    use super::*;

    fn series(name: &str, depth: Option<&str>) -> BusinessSeries {
        BusinessSeries {
            name: name.to_owned(),
            labels: depth
                .map(|d| BTreeMap::from([("depth".to_owned(), d.to_owned())]))
                .unwrap_or_default(),
            kind: SeriesKind::Counter,
            value: 1.0,
            increase: Some(1.0),
            rate_per_second: Some(0.1),
            sum: None,
            p50: None,
            p95: None,
            p99: None,
        }
    }

    fn snapshot(business: Vec<BusinessSeries>) -> MetricsSnapshot {
        MetricsSnapshot { business, ..MetricsSnapshot::empty(Timestamp::UNIX_EPOCH) }
    }

    fn config(entries: &[&str]) -> DashboardConfig {
        DashboardConfig {
            business_metrics: entries.iter().map(|e| e.parse().unwrap()).collect(),
            ..DashboardConfig::default()
        }
    }

    fn names(panel: &BusinessPanel) -> Vec<String> {
        panel
            .series
            .iter()
            .map(|s| format!("{}{}", s.name, s.labels.get("depth").map_or("", String::as_str)))
            .collect()
    }

    #[test]
    fn configured_entries_choose_in_their_order_each_series_once() {
        let latest = snapshot(vec![
            series("a_reads", Some("1")),
            series("a_reads", Some("6+")),
            series("b_posts", None),
            series("c_other", None),
        ]);
        let panel = BusinessPanel::of(
            &config(&["b_posts", "a_reads", r#"a_reads{depth="1"}"#, "zz"]),
            Some(&latest),
        );
        assert_eq!(names(&panel), ["b_posts", "a_reads1", "a_reads6+"]);
        assert_eq!(panel.configured, ["b_posts", "a_reads", r#"a_reads{depth="1"}"#, "zz"]);
        assert_eq!(panel.omitted, 0);
    }

    #[test]
    fn without_a_configuration_the_first_series_show_and_the_rest_are_counted() {
        let many: Vec<_> =
            (0..UNCONFIGURED_SERIES + 3).map(|i| series(&format!("s{i:02}"), None)).collect();
        let panel = BusinessPanel::of(&DashboardConfig::default(), Some(&snapshot(many)));
        assert_eq!(panel.series.len(), UNCONFIGURED_SERIES);
        assert_eq!(panel.omitted, 3);
        assert!(panel.configured.is_empty());
        let none = BusinessPanel::of(&config(&["a"]), None);
        assert!(none.series.is_empty() && none.omitted == 0);
    }

    #[test]
    fn matches_past_the_bound_are_counted_not_shown() {
        let many: Vec<_> =
            (0..MOST_SERIES + 2).map(|i| series("reads", Some(&i.to_string()))).collect();
        let panel = BusinessPanel::of(&config(&["reads"]), Some(&snapshot(many)));
        assert_eq!((panel.series.len(), panel.omitted), (MOST_SERIES, 2));
    }
}
