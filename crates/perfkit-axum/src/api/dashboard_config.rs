//! What the dashboard is configured with: the business series it shows, each named in the
//! selector form `name{label="value",...}`, read and checked here.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use perfkit::core::{BusinessSeries, is_valid_label_name, is_valid_metric_name};
use serde::{Deserialize, Serialize};

use crate::api::config::ApiConfigError;

/// Most entries `businessMetrics` may hold: each is a row of the Business panel (or more,
/// one per labelled series it matches) and a chart.
pub const MAX_BUSINESS_METRICS: usize = 16;

/// Longest entry of `businessMetrics`, in bytes.
const MAX_ENTRY_BYTES: usize = 1024;

/// Settings of the dashboard page, part of [`ApiConfig`](crate::ApiConfig).
///
/// ```
/// use perfkit_axum::DashboardConfig;
///
/// let config: DashboardConfig = serde_json::from_str(
///     r#"{"businessMetrics": ["orders_placed", "page_reads{depth=\"1\"}"]}"#,
/// ).unwrap();
/// assert_eq!(config.business_metrics[1].labels["depth"], "1");
/// assert!(serde_json::from_str::<DashboardConfig>(r#"{"businessMetrics": ["9lives"]}"#).is_err());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(remote = "Self", rename_all = "camelCase", default, deny_unknown_fields)]
pub struct DashboardConfig {
    /// The business series the Overview's Business panel lists and the Metrics tab charts,
    /// in this order, at most [`MAX_BUSINESS_METRICS`]; each entry shows every series it
    /// matches. Empty: the first series of the latest snapshot, whatever they are.
    pub business_metrics: Vec<BusinessMetric>,
    /// Where the page links a route's slow trace id (`/dashboard`'s `traceUrl`): the
    /// program's tracing setting (perfkit-server's `tracing.traceUrl`), not read from this
    /// table. `None`: trace ids are shown without a link.
    #[serde(skip)]
    pub trace_url: Option<perfkit::core::TraceUrl>,
}

perfkit::core::maps_only!(deserialize: DashboardConfig);

impl DashboardConfig {
    /// Checks what serde cannot: the number of entries.
    ///
    /// # Errors
    /// [`ApiConfigError::TooManyBusinessMetrics`] past [`MAX_BUSINESS_METRICS`] entries.
    pub fn validate(&self) -> Result<(), ApiConfigError> {
        if self.business_metrics.len() > MAX_BUSINESS_METRICS {
            return Err(ApiConfigError::TooManyBusinessMetrics {
                count: self.business_metrics.len(),
            });
        }
        Ok(())
    }
}

/// One entry of [`DashboardConfig::business_metrics`]: a series name and labels the series
/// must have, written `name` or `name{label="value",...}` (Prometheus's selector form, exact
/// matches only; values in double quotes, `\"`, `\\` and `\n` escaped).
///
/// It matches a series as a rule's series selector does: the same name, and every label
/// given with the value given (the series may have others). So `page_reads` shows every
/// `depth` of it and `page_reads{depth="1"}` only one.
///
/// ```
/// use perfkit_axum::BusinessMetric;
///
/// let metric: BusinessMetric = r#"orders_placed{region="eu", channel="web"}"#.parse().unwrap();
/// assert_eq!(metric.name, "orders_placed");
/// assert_eq!(metric.to_string(), r#"orders_placed{channel="web",region="eu"}"#);
/// assert!("orders-placed".parse::<BusinessMetric>().is_err());
/// assert!(r#"orders{region=eu}"#.parse::<BusinessMetric>().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct BusinessMetric {
    /// The series' name (`[a-zA-Z_:][a-zA-Z0-9_:]*`).
    pub name: String,
    /// Labels the series must have, with these values.
    pub labels: BTreeMap<String, String>,
}

impl BusinessMetric {
    /// Whether `series` has this name and every label given here, with its value.
    #[must_use]
    pub fn matches(&self, series: &BusinessSeries) -> bool {
        series.name == self.name
            && self.labels.iter().all(|(name, value)| series.labels.get(name) == Some(value))
    }
}

impl FromStr for BusinessMetric {
    type Err = ApiConfigError;

    fn from_str(text: &str) -> Result<Self, ApiConfigError> {
        let refuse = |reason: String| ApiConfigError::InvalidBusinessMetric {
            entry: text.chars().take(80).collect(),
            reason,
        };
        if text.len() > MAX_ENTRY_BYTES {
            return Err(refuse(format!("longer than {MAX_ENTRY_BYTES} bytes")));
        }
        let text = text.trim();
        let (name, labels) = match text.split_once('{') {
            None => (text, None),
            Some((name, rest)) => match rest.strip_suffix('}') {
                Some(inside) => (name.trim_end(), Some(inside)),
                None => return Err(refuse("the labels' `{` is not closed by a final `}`".into())),
            },
        };
        if !is_valid_metric_name(name) {
            return Err(refuse(format!(
                "{name:?} is not a series name ([a-zA-Z_:][a-zA-Z0-9_:]*, at most {} bytes)",
                perfkit::core::MAX_NAME_LEN
            )));
        }
        let labels = match labels {
            Some(inside) => parse_labels(inside).map_err(refuse)?,
            None => BTreeMap::new(),
        };
        Ok(BusinessMetric { name: name.to_owned(), labels })
    }
}

/// `label="value", ...` (a trailing comma allowed, as Prometheus allows it).
fn parse_labels(inside: &str) -> Result<BTreeMap<String, String>, String> {
    let mut labels = BTreeMap::new();
    let mut rest = inside.trim_start();
    while !rest.is_empty() {
        let Some((label, after)) = rest.split_once('=') else {
            return Err(format!("{rest:?} is not label=\"value\""));
        };
        let label = label.trim();
        if !is_valid_label_name(label) {
            return Err(format!(
                "{label:?} is not a label name ([a-zA-Z_][a-zA-Z0-9_]*, not starting with __)"
            ));
        }
        let (value, after) = quoted(after.trim_start())
            .ok_or_else(|| format!("the value of {label:?} is not in double quotes"))?;
        if labels.insert(label.to_owned(), value).is_some() {
            return Err(format!("label {label:?} is given twice"));
        }
        rest = after.trim_start();
        rest = match rest.strip_prefix(',') {
            Some(next) => next.trim_start(),
            None if rest.is_empty() => rest,
            None => return Err(format!("expected `,` or `}}` before {rest:?}")),
        };
    }
    Ok(labels)
}

/// A double-quoted value at the start of `text` and what follows it; `None` when `text` does
/// not start with one (or an escape is unknown).
fn quoted(text: &str) -> Option<(String, &str)> {
    let body = text.strip_prefix('"')?;
    let mut value = String::new();
    let mut chars = body.char_indices();
    while let Some((at, c)) = chars.next() {
        match c {
            '"' => return Some((value, &body[at + 1..])),
            '\\' => match chars.next()?.1 {
                '\\' => value.push('\\'),
                '"' => value.push('"'),
                'n' => value.push('\n'),
                _ => return None,
            },
            c => value.push(c),
        }
    }
    None
}

impl fmt::Display for BusinessMetric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        if self.labels.is_empty() {
            return Ok(());
        }
        f.write_str("{")?;
        for (i, (name, value)) in self.labels.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{name}=\"")?;
            for c in value.chars() {
                match c {
                    '\\' => f.write_str("\\\\")?,
                    '"' => f.write_str("\\\"")?,
                    '\n' => f.write_str("\\n")?,
                    c => write!(f, "{c}")?,
                }
            }
            f.write_str("\"")?;
        }
        f.write_str("}")
    }
}

impl TryFrom<String> for BusinessMetric {
    type Error = ApiConfigError;

    fn try_from(text: String) -> Result<Self, ApiConfigError> {
        text.parse()
    }
}

impl From<BusinessMetric> for String {
    fn from(metric: BusinessMetric) -> String {
        metric.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<BusinessMetric, String> {
        text.parse::<BusinessMetric>().map_err(|error| error.to_string())
    }

    #[test]
    fn names_and_labels_are_read_and_written_back() {
        let plain = parse("demo_posts_created").unwrap();
        assert!(plain.labels.is_empty());
        assert_eq!(plain.to_string(), "demo_posts_created");
        let labelled = parse(r#" reads { depth = "2-5" , kind="a\"b\\c\nd", } "#).unwrap();
        assert_eq!(labelled.name, "reads");
        assert_eq!(labelled.labels["depth"], "2-5");
        assert_eq!(labelled.labels["kind"], "a\"b\\c\nd");
        assert_eq!(parse(&labelled.to_string()).unwrap(), labelled, "written back, read again");
        assert!(parse("reads{}").unwrap().labels.is_empty());
    }

    #[test]
    fn malformed_entries_say_what_is_wrong() {
        for (bad, why) in [
            ("", "not a series name"),
            ("9lives", "not a series name"),
            ("posts-created", "not a series name"),
            ("reads{depth=\"1\"", "not closed"),
            ("reads{depth=1}", "double quotes"),
            ("reads{depth}", "label=\"value\""),
            ("reads{__name__=\"x\"}", "not a label name"),
            ("reads{a=\"1\",a=\"2\"}", "twice"),
            ("reads{a=\"1\" b=\"2\"}", "expected `,`"),
            ("reads{a=\"\\t\"}", "double quotes"),
        ] {
            let message = parse(bad).unwrap_err();
            assert!(message.contains(why), "{bad:?}: {message}");
            assert!(message.contains("business metric"), "{bad:?}: {message}");
        }
        assert!(parse(&"a".repeat(MAX_ENTRY_BYTES + 1)).unwrap_err().contains("longer"));
    }

    #[test]
    fn an_entry_matches_every_series_with_its_name_and_labels() {
        let series = |labels: &[(&str, &str)]| BusinessSeries {
            labels: labels.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
            ..BusinessSeries::new("reads", perfkit::core::SeriesKind::Counter, 1.0)
        };
        let all = parse("reads").unwrap();
        let one = parse(r#"reads{depth="1"}"#).unwrap();
        assert!(all.matches(&series(&[("depth", "1")])) && all.matches(&series(&[])));
        assert!(one.matches(&series(&[("depth", "1"), ("other", "x")])));
        assert!(!one.matches(&series(&[("depth", "6+")])) && !one.matches(&series(&[])));
    }

    #[test]
    fn the_config_reads_maps_only_and_is_bounded() {
        let config: DashboardConfig =
            serde_json::from_str(r#"{"businessMetrics": ["a", "b{x=\"1\"}"]}"#).unwrap();
        assert_eq!(config.business_metrics.len(), 2);
        assert_eq!(config.validate(), Ok(()));
        assert!(serde_json::from_str::<DashboardConfig>("[]").is_err());
        assert!(serde_json::from_str::<DashboardConfig>(r#"{"other": 1}"#).is_err());
        let many = DashboardConfig {
            business_metrics: vec![parse("a").unwrap(); MAX_BUSINESS_METRICS + 1],
            ..DashboardConfig::default()
        };
        assert!(matches!(many.validate(), Err(ApiConfigError::TooManyBusinessMetrics { .. })));
        assert_eq!(
            serde_json::to_string(&config.business_metrics).unwrap(),
            r#"["a","b{x=\"1\"}"]"#
        );
    }
}
