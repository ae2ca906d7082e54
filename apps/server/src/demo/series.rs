//! The names of the business series the demo emits through the `metrics` facade, and the
//! dashboard's defaults that show them. Always built: the config reads the defaults whether
//! or not the demo itself is compiled in (and refuses a demo it was built without).

/// Posts created through `POST /api/users/{id}/posts` (a counter).
pub(crate) const POSTS_CREATED: &str = "demo_posts_created";
/// Pages of `/api/posts` served, by how deep the page is (a counter with a `depth` label).
pub(crate) const PAGE_READS: &str = "demo_page_reads";
/// The size of each created post's body, in bytes (a histogram).
pub(crate) const POST_BODY_BYTES: &str = "demo_post_body_bytes";

/// The dashboard's `businessMetrics` when the demo is on and the config file names none: the
/// demo's three series (every depth of the page reads).
pub(crate) const DASHBOARD_SERIES: [&str; 3] = [POSTS_CREATED, PAGE_READS, POST_BODY_BYTES];

/// The rule the demo adds to the default alert rules: deep pages (6 and beyond) read more
/// than 600 times a minute for 2 minutes, the mark of a crawler walking the archive rather
/// than of readers. Low severity: it tells, it does not page.
pub(crate) const DEEP_READS_RULE: &str = r#"{"rules": [{
    "name": "demo_deep_page_reads",
    "severity": "low",
    "kind": "threshold",
    "series": {"name": "demo_page_reads", "labels": {"depth": "6+"}, "aggregation": "ratePerMinute"},
    "comparison": "above",
    "threshold": 600,
    "recoveryThreshold": 300,
    "for": "2m",
    "annotations": {"summary": "Pages 6+ are read {{ value }} times a minute (threshold {{ threshold }}): a crawler?"}
}]}"#;

/// The `depth` label of a read of page `page`: three values, never the page number itself,
/// so the series stay three however deep clients page.
#[cfg_attr(not(feature = "demo"), allow(dead_code))]
pub(crate) fn depth_label(page: u32) -> &'static str {
    match page {
        0 | 1 => "1",
        2..=5 => "2-5",
        _ => "6+",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_has_three_values_whatever_the_page() {
        assert_eq!(depth_label(1), "1");
        assert_eq!(depth_label(2), "2-5");
        assert_eq!(depth_label(5), "2-5");
        assert_eq!(depth_label(6), "6+");
        assert_eq!(depth_label(10_000), "6+");
    }

    #[test]
    fn the_deep_reads_rule_watches_the_page_reads_series() {
        let rules = perfkit::alerting::RuleSet::from_json(DEEP_READS_RULE).unwrap();
        assert_eq!(rules.rules.len(), 1);
        assert!(rules.validate().is_ok());
        assert!(DEEP_READS_RULE.contains(PAGE_READS));
    }

    #[test]
    fn the_dashboards_defaults_are_valid_entries() {
        for name in DASHBOARD_SERIES {
            assert!(name.parse::<perfkit_axum::BusinessMetric>().is_ok(), "{name}");
        }
    }
}
