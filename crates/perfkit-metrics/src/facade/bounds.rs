//! Default bucket bounds of facade histograms, chosen once per name from what is known of it
//! when it first appears: its unit from `describe_histogram!`, else its name's unit suffix,
//! else Prometheus's client defaults.

use std::sync::Arc;

use metrics::Unit;

/// Prometheus's client libraries' default buckets, for durations in seconds.
const SECONDS: [f64; 11] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// Sizes from 64 B to 16 MiB, a factor of 4 apart: request bodies, payloads, rows.
const BYTES: [f64; 10] = [
    64.0,
    256.0,
    1024.0,
    4096.0,
    16_384.0,
    65_536.0,
    262_144.0,
    1_048_576.0,
    4_194_304.0,
    16_777_216.0,
];

/// The bounds a histogram named `name` gets when the configuration names none for it.
pub(crate) fn default_bounds(name: &str, unit: Option<Unit>) -> Arc<[f64]> {
    let unit = unit.or_else(|| {
        if name.ends_with("_bytes") {
            Some(Unit::Bytes)
        } else if name.ends_with("_milliseconds") || name.ends_with("_ms") {
            Some(Unit::Milliseconds)
        } else {
            None
        }
    });
    match unit {
        Some(Unit::Bytes) => Arc::from(BYTES),
        Some(Unit::Milliseconds) => SECONDS.iter().map(|s| s * 1000.0).collect(),
        Some(Unit::Microseconds) => SECONDS.iter().map(|s| s * 1e6).collect(),
        _ => Arc::from(SECONDS),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_unit_then_the_name_choose_the_bounds() {
        assert_eq!(default_bounds("post_body", Some(Unit::Bytes))[0], 64.0);
        assert_eq!(default_bounds("post_body_bytes", None)[0], 64.0);
        assert_eq!(default_bounds("checkout_ms", None)[0], 5.0);
        assert_eq!(default_bounds("checkout_seconds", None)[0], 0.005);
        assert_eq!(default_bounds("anything", None).len(), 11);
        for bounds in [&SECONDS[..], &BYTES[..]] {
            assert!(bounds.windows(2).all(|pair| pair[0] < pair[1]));
        }
    }
}
