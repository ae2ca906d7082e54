//! Annotation templates: `{{ name }}` placeholders filled in when an alert fires.

use std::fmt::Write as _;

use perfkit_core::Severity;

use crate::labels::Labels;
use crate::rule::Subject;

/// What a template can refer to.
pub(crate) struct TemplateValues<'a> {
    pub(crate) name: &'a str,
    pub(crate) subject: Subject<'a>,
    pub(crate) severity: Severity,
    pub(crate) value: Option<f64>,
    pub(crate) threshold: Option<f64>,
    pub(crate) labels: &'a Labels,
}

const PLAIN_NAMES: [&str; 7] =
    ["name", "alertname", "metric", "unit", "severity", "value", "threshold"];

/// Splits a template into literal text and placeholder names.
fn pieces(template: &str) -> impl Iterator<Item = Result<Piece<'_>, String>> {
    let mut rest = template;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        match rest.find("{{") {
            Some(0) => {
                let Some(end) = rest.find("}}") else {
                    rest = "";
                    return Some(Err(
                        "a placeholder opened with {{ is never closed with }}".to_owned()
                    ));
                };
                let name = rest[2..end].trim();
                rest = &rest[end + 2..];
                Some(Ok(Piece::Placeholder(name)))
            }
            Some(start) => {
                let (text, tail) = rest.split_at(start);
                rest = tail;
                Some(Ok(Piece::Text(text)))
            }
            None => {
                let text = rest;
                rest = "";
                Some(Ok(Piece::Text(text)))
            }
        }
    })
}

enum Piece<'a> {
    Text(&'a str),
    Placeholder(&'a str),
}

/// Every problem with a template: unclosed or unknown placeholders.
pub(crate) fn problems(template: &str) -> Vec<String> {
    pieces(template)
        .filter_map(|piece| match piece {
            Err(e) => Some(e),
            Ok(Piece::Placeholder(name))
                if !PLAIN_NAMES.contains(&name)
                    && name.strip_prefix("labels.").is_none_or(str::is_empty) =>
            {
                Some(format!(
                    "unknown placeholder {{{{ {name} }}}}: known are {}, and labels.NAME",
                    PLAIN_NAMES.join(", ")
                ))
            }
            Ok(_) => None,
        })
        .collect()
}

/// Fills in `template`; unknown placeholders (refused by validation) render empty.
pub(crate) fn render(template: &str, values: &TemplateValues<'_>) -> String {
    let mut out = String::with_capacity(template.len() + 16);
    for piece in pieces(template) {
        match piece {
            Ok(Piece::Text(text)) => out.push_str(text),
            Ok(Piece::Placeholder(name)) => match name {
                "name" | "alertname" => out.push_str(values.name),
                "metric" => {
                    let _ = write!(out, "{}", values.subject);
                }
                "unit" => out.push_str(values.subject.unit()),
                "severity" => out.push_str(values.severity.as_str()),
                "value" => push_number(&mut out, values.value),
                "threshold" => push_number(&mut out, values.threshold),
                other => {
                    if let Some(value) =
                        other.strip_prefix("labels.").and_then(|l| values.labels.get(l))
                    {
                        out.push_str(value);
                    }
                }
            },
            Err(_) => {}
        }
    }
    out
}

/// Numbers print with at most three decimals and no trailing zeros: `1010`, `0.052`.
fn push_number(out: &mut String, value: Option<f64>) {
    let Some(value) = value else {
        out.push_str("n/a");
        return;
    };
    let start = out.len();
    let _ = write!(out, "{value:.3}");
    if out[start..].contains('.') {
        let trimmed = out.trim_end_matches('0').trim_end_matches('.').len();
        out.truncate(trimmed);
    }
}

#[cfg(test)]
mod tests {
    use perfkit_core::{Metric, SeriesAggregation, SeriesSelector};

    use super::*;

    fn values(labels: &Labels) -> TemplateValues<'_> {
        TemplateValues {
            name: "high_response_time",
            subject: Subject::Metric(Metric::ResponseTime),
            severity: Severity::High,
            value: Some(1010.0),
            threshold: Some(0.0526),
            labels,
        }
    }

    #[test]
    fn fills_in_placeholders() {
        let mut labels = Labels::new();
        labels.insert("team".to_owned(), "api".to_owned());
        let text = render(
            "{{name}}: {{ metric }} {{value}} {{unit}} > {{ threshold }} ({{labels.team}}, {{severity}})",
            &values(&labels),
        );
        assert_eq!(text, "high_response_time: responseTime 1010 ms > 0.053 (api, high)");
    }

    #[test]
    fn a_series_shows_its_selector_and_aggregation() {
        let labels = Labels::new();
        let mut selector =
            SeriesSelector::new("demo_posts_created", SeriesAggregation::RatePerMinute);
        selector.labels.insert("page".to_owned(), "1".to_owned());
        let values = TemplateValues { subject: Subject::Series(&selector), ..values(&labels) };
        assert_eq!(
            render("{{ metric }} at {{ value }} {{ unit }}", &values),
            r#"demo_posts_created{page="1"} at 1010 ratePerMinute"#
        );
        let plain = SeriesSelector::new("queue_depth", SeriesAggregation::Value);
        let values = TemplateValues { subject: Subject::Series(&plain), ..values };
        assert_eq!(render("{{ metric }} {{ value }}{{ unit }}", &values), "queue_depth 1010");
    }

    #[test]
    fn reports_unknown_and_unclosed_placeholders() {
        assert!(problems("{{ value }} and {{ labels.x }}").is_empty());
        assert_eq!(problems("{{ valu }} {{ labels. }}").len(), 2);
        assert_eq!(problems("oops {{ value").len(), 1);
    }
}
