//! The two encodings of the exposition, and which one a scraper's `Accept` header asks for.

/// Which text encoding an exposition is written in.
///
/// ```
/// use perfkit_metrics::ExpositionFormat;
///
/// // What Prometheus 2.x sends: OpenMetrics first.
/// let prometheus = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;\
///                   version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
/// assert_eq!(ExpositionFormat::negotiate(Some(prometheus)), ExpositionFormat::OpenMetrics);
/// assert_eq!(ExpositionFormat::negotiate(None), ExpositionFormat::PrometheusText);
/// assert_eq!(ExpositionFormat::negotiate(Some("text/plain")), ExpositionFormat::PrometheusText);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ExpositionFormat {
    /// The Prometheus text format 0.0.4: the default, what every scraper reads.
    #[default]
    PrometheusText,
    /// OpenMetrics 1.0 text, with exemplars on histogram buckets.
    OpenMetrics,
}

/// Most media ranges of an `Accept` header looked at; the rest are ignored.
const MAX_MEDIA_RANGES: usize = 32;

impl ExpositionFormat {
    /// The `Content-Type` of an exposition in this format.
    #[must_use]
    pub const fn content_type(self) -> &'static str {
        match self {
            ExpositionFormat::PrometheusText => "text/plain; version=0.0.4; charset=utf-8",
            ExpositionFormat::OpenMetrics => {
                "application/openmetrics-text; version=1.0.0; charset=utf-8"
            }
        }
    }

    /// The format an `Accept` header asks for: OpenMetrics where
    /// `application/openmetrics-text` (version 1.0.0, 0.0.1 or none) has a quality above 0
    /// and no lower than the text format's (`text/plain` version 0.0.4 or none, `text/*`,
    /// `*/*`); the text format otherwise, including for no header, one that names neither,
    /// and one that does not parse (as Prometheus's client libraries answer).
    #[must_use]
    pub fn negotiate(accept: Option<&str>) -> Self {
        let Some(accept) = accept else { return ExpositionFormat::PrometheusText };
        let mut open_metrics = 0.0_f64;
        let mut text = 0.0_f64;
        for range in accept.split(',').take(MAX_MEDIA_RANGES) {
            let mut parts = range.split(';');
            let media = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
            let mut quality = 1.0;
            let mut version = None;
            for parameter in parts {
                let Some((name, value)) = parameter.split_once('=') else { continue };
                let value = value.trim().trim_matches('"');
                match name.trim().to_ascii_lowercase().as_str() {
                    "q" => quality = parse_quality(value),
                    "version" => version = Some(value.to_owned()),
                    _ => {}
                }
            }
            let version = version.as_deref();
            match media.as_str() {
                "application/openmetrics-text"
                    if matches!(version, None | Some("1.0.0" | "0.0.1")) =>
                {
                    open_metrics = open_metrics.max(quality);
                }
                "text/plain" if matches!(version, None | Some("0.0.4")) => text = text.max(quality),
                "text/*" | "*/*" => text = text.max(quality),
                _ => {}
            }
        }
        if open_metrics > 0.0 && open_metrics >= text {
            ExpositionFormat::OpenMetrics
        } else {
            ExpositionFormat::PrometheusText
        }
    }
}

/// An RFC 9110 quality value (0 to 1, at most three decimals); a malformed one is 0, so a
/// range with a quality that cannot be read is not chosen.
fn parse_quality(value: &str) -> f64 {
    let well_formed = !value.is_empty()
        && value.len() <= 5
        && value.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && (value.starts_with('0') || value.starts_with('1'));
    match value.parse::<f64>() {
        Ok(quality) if well_formed && (0.0..=1.0).contains(&quality) => quality,
        _ => 0.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ExpositionFormat::{OpenMetrics, PrometheusText};

    #[test]
    fn qualities_versions_and_wildcards_decide() {
        for (accept, expected) in [
            ("application/openmetrics-text", OpenMetrics),
            ("application/openmetrics-text; version=1.0.0", OpenMetrics),
            ("Application/OpenMetrics-Text; Version=\"1.0.0\"; charset=utf-8", OpenMetrics),
            ("application/openmetrics-text;version=0.0.1", OpenMetrics),
            ("application/openmetrics-text;version=2.0.0", PrometheusText),
            ("application/openmetrics-text;q=0", PrometheusText),
            ("application/openmetrics-text;q=0.2,text/plain;q=0.9", PrometheusText),
            ("text/plain;q=0.2,application/openmetrics-text;q=0.9", OpenMetrics),
            ("text/plain;version=0.0.4;q=0.5,application/openmetrics-text;q=0.5", OpenMetrics),
            ("*/*", PrometheusText),
            ("*/*;q=0.1, application/openmetrics-text", OpenMetrics),
            ("application/openmetrics-text;q=abc", PrometheusText),
            ("application/openmetrics-text;q=1.5", PrometheusText),
            ("application/openmetrics-text;q=-1", PrometheusText),
            ("application/json", PrometheusText),
            (";;;,,,=", PrometheusText),
            ("", PrometheusText),
        ] {
            assert_eq!(ExpositionFormat::negotiate(Some(accept)), expected, "{accept:?}");
        }
    }

    #[test]
    fn content_types_name_their_versions() {
        assert!(PrometheusText.content_type().contains("version=0.0.4"));
        assert!(
            OpenMetrics.content_type().starts_with("application/openmetrics-text; version=1.0.0")
        );
    }
}
