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
    fn the_dashboards_defaults_are_valid_entries() {
        for name in DASHBOARD_SERIES {
            assert!(name.parse::<perfkit_axum::BusinessMetric>().is_ok(), "{name}");
        }
    }
}
