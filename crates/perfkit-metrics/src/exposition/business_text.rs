//! The facade's series written into the text format at scrape time, with HELP and TYPE lines
//! and names made to follow Prometheus's conventions: a counter's name ends in `_total`, and a
//! name described in seconds or bytes ends in that unit (`post_body` described in bytes is
//! exposed as `post_body_bytes`). The registry's own figures (names, series, refusals by
//! reason) follow.

use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::atomic::Ordering;

use metrics::Unit;
use perfkit_core::SeriesKind;

use super::ExpositionFormat;
use super::text_format::{
    write_escaped, write_exemplar, write_f64, write_header, write_label, write_u64,
};
use crate::facade::{BusinessRegistry, NameEntry, OVERFLOW_LABEL, SeriesCell};

/// The registry's own families: name, help text, labels.
pub(super) const FACADE_FAMILIES: &[(&str, &str, &[&str]); 3] = &[
    (
        "perfkit_facade_names",
        "Names emitted through the metrics facade that perfkit tracks (at most business.maxNames).",
        &[],
    ),
    (
        "perfkit_facade_series",
        "Label sets of facade names that perfkit tracks, overflow series not counted.",
        &[],
    ),
    (
        "perfkit_facade_refused_total",
        "Facade registrations past a cap or of a name under another kind: series_cap ones record into the name's overflow series, name_cap and kind_conflict ones record nothing.",
        &["reason"],
    ),
];

/// The name a facade series is exposed under.
pub(crate) fn exposed_name(name: &str, kind: SeriesKind, unit: Option<Unit>) -> Cow<'_, str> {
    let suffix = match unit {
        Some(Unit::Seconds) => Some("_seconds"),
        Some(Unit::Bytes) => Some("_bytes"),
        _ => None,
    };
    let counter = kind == SeriesKind::Counter;
    let stem = if counter { name.strip_suffix("_total").unwrap_or(name) } else { name };
    let needs_unit = suffix.is_some_and(|suffix| !stem.ends_with(suffix));
    if !needs_unit && (!counter || stem.len() < name.len()) {
        return Cow::Borrowed(name);
    }
    let mut exposed = String::with_capacity(name.len() + 16);
    exposed.push_str(stem);
    if needs_unit {
        exposed.push_str(suffix.unwrap_or_default());
    }
    if counter {
        exposed.push_str("_total");
    }
    Cow::Owned(exposed)
}

/// Appends every facade family whose exposed name is not in `taken` (the recorder's and the
/// registry's families win a clash), then the registry's own figures. In OpenMetrics a
/// histogram's buckets carry their exemplars.
pub(super) fn write_business(
    out: &mut String,
    registry: &BusinessRegistry,
    taken: &HashSet<&str>,
    format: ExpositionFormat,
) {
    // Until something is emitted (or refused) there is nothing to show, not even zeros.
    if registry.names() == 0 && registry.refusals().total() == 0 {
        return;
    }
    let mut labels = String::with_capacity(128);
    for (name, entry) in registry.sorted_names() {
        let description = entry.description();
        let unit = description.as_ref().and_then(|d| d.unit);
        let exposed = exposed_name(name, entry.kind, unit);
        if taken.contains(&*exposed) {
            continue;
        }
        let help = match &description {
            Some(d) if !d.help.is_empty() => Cow::Borrowed(d.help.as_str()),
            _ => Cow::Owned(format!("{name}, emitted through the metrics facade.")),
        };
        let kind = entry.kind.to_string();
        write_header(out, &exposed, &help, &kind, format);
        for (set, cell) in entry.series.entries() {
            labels.clear();
            for (label, value) in set {
                push_label(&mut labels, label, value);
            }
            write_series(out, &exposed, &labels, cell, format);
        }
        write_overflow(out, &exposed, entry, &mut labels, format);
    }
    write_registry_figures(out, registry, format);
}

fn push_label(labels: &mut String, name: &str, value: &str) {
    if !labels.is_empty() {
        labels.push(',');
    }
    write_label(labels, name, value);
}

fn write_overflow(
    out: &mut String,
    exposed: &str,
    entry: &NameEntry,
    labels: &mut String,
    format: ExpositionFormat,
) {
    let used = match &entry.overflow {
        SeriesCell::Counter(counter) => counter.total() > 0,
        SeriesCell::Gauge(gauge) => gauge.value() != 0.0,
        SeriesCell::Histogram(histogram) => histogram.read().count() > 0,
    };
    if used {
        labels.clear();
        push_label(labels, OVERFLOW_LABEL, "true");
        write_series(out, exposed, labels, &entry.overflow, format);
    }
}

/// Appends `name{labels} ` (no braces when `labels` is empty).
fn write_start(out: &mut String, name: &str, suffix: &str, labels: &str) {
    out.push_str(name);
    out.push_str(suffix);
    if !labels.is_empty() {
        out.push('{');
        out.push_str(labels);
        out.push('}');
    }
    out.push(' ');
}

fn write_series(
    out: &mut String,
    name: &str,
    labels: &str,
    cell: &SeriesCell,
    format: ExpositionFormat,
) {
    match cell {
        SeriesCell::Counter(counter) => {
            write_start(out, name, "", labels);
            write_u64(out, counter.total());
            out.push('\n');
        }
        SeriesCell::Gauge(gauge) => {
            write_start(out, name, "", labels);
            write_f64(out, gauge.value());
            out.push('\n');
        }
        SeriesCell::Histogram(histogram) => {
            let counts = histogram.read();
            let mut cumulative = 0u64;
            for (index, count) in counts.buckets.iter().enumerate() {
                cumulative = cumulative.wrapping_add(*count);
                out.push_str(name);
                out.push_str("_bucket{");
                if !labels.is_empty() {
                    out.push_str(labels);
                    out.push(',');
                }
                out.push_str("le=\"");
                match histogram.bounds().get(index) {
                    Some(bound) => write_f64(out, *bound),
                    None => out.push_str("+Inf"),
                }
                out.push_str("\"} ");
                write_u64(out, cumulative);
                let exemplar = (format == ExpositionFormat::OpenMetrics)
                    .then(|| histogram.exemplar(index))
                    .flatten();
                if let Some(exemplar) = exemplar {
                    write_exemplar(out, &exemplar);
                }
                out.push('\n');
            }
            write_start(out, name, "_sum", labels);
            write_f64(out, counts.sum);
            out.push('\n');
            write_start(out, name, "_count", labels);
            write_u64(out, cumulative);
            out.push('\n');
        }
    }
}

fn write_registry_figures(out: &mut String, registry: &BusinessRegistry, format: ExpositionFormat) {
    let [names, series, refused] = FACADE_FAMILIES;
    write_header(out, names.0, names.1, "gauge", format);
    write_start(out, names.0, "", "");
    write_u64(out, registry.names() as u64);
    out.push('\n');
    write_header(out, series.0, series.1, "gauge", format);
    write_start(out, series.0, "", "");
    write_u64(out, registry.series() as u64);
    out.push('\n');
    write_header(out, refused.0, refused.1, "counter", format);
    let refusals = registry.refusals();
    for (reason, count) in [
        ("series_cap", &refusals.series_cap),
        ("name_cap", &refusals.name_cap),
        ("kind_conflict", &refusals.kind_conflict),
    ] {
        out.push_str(refused.0);
        out.push_str("{reason=\"");
        write_escaped(out, reason, true);
        out.push_str("\"} ");
        write_u64(out, count.load(Ordering::Relaxed));
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_end_in_total_and_units_are_suffixed_once() {
        let counter = SeriesKind::Counter;
        let histogram = SeriesKind::Histogram;
        assert_eq!(exposed_name("orders", counter, None), "orders_total");
        assert_eq!(exposed_name("orders_total", counter, None), "orders_total");
        assert!(matches!(exposed_name("orders_total", counter, None), Cow::Borrowed(_)));
        assert_eq!(exposed_name("sent", counter, Some(Unit::Bytes)), "sent_bytes_total");
        assert_eq!(exposed_name("sent_total", counter, Some(Unit::Bytes)), "sent_bytes_total");
        assert_eq!(exposed_name("body", histogram, Some(Unit::Bytes)), "body_bytes");
        assert_eq!(exposed_name("body_bytes", histogram, Some(Unit::Bytes)), "body_bytes");
        assert_eq!(exposed_name("wait", histogram, Some(Unit::Seconds)), "wait_seconds");
        assert_eq!(exposed_name("wait", histogram, Some(Unit::Milliseconds)), "wait");
        assert_eq!(exposed_name("depth", SeriesKind::Gauge, None), "depth");
    }
}
