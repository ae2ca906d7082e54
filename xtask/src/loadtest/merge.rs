//! One figure from several segments of the same load: a run split into rounds, each target's
//! segments interleaved with the others', so a machine that slows down for a minute slows
//! every target alike and the ratios stay fair. Counts add up; latency percentiles come from
//! the segments' distributions merged (each segment reports its latency at
//! [`PERCENTILE_POINTS`]), not from averaging their percentiles.

use super::wrk::WrkResult;

/// The percentiles every segment reports: enough points that the merged P50 to P99.9 are
/// read off the combined distribution to within a percentile point.
pub(crate) const PERCENTILE_POINTS: [f64; 103] = {
    let mut points = [0.0; 103];
    let mut i = 0;
    while i < 100 {
        points[i] = i as f64;
        i += 1;
    }
    points[100] = 99.5;
    points[101] = 99.9;
    points[102] = 99.99;
    points
};

/// The segments of one target as one result: requests, bytes, errors and time added up, the
/// mean weighted by requests, the maximum the largest, and each percentile that of all the
/// segments' requests together. One segment is returned as it is.
pub(crate) fn merge(segments: &[WrkResult]) -> WrkResult {
    match segments {
        [] => WrkResult::default(),
        [only] => only.clone(),
        _ => {
            let sum = |figure: fn(&WrkResult) -> u64| segments.iter().map(figure).sum::<u64>();
            let requests = sum(|s| s.requests);
            let weighted_mean =
                segments.iter().map(|s| s.latency_mean_ms * s.requests as f64).sum::<f64>()
                    / requests.max(1) as f64;
            let percentile = |p: f64| merged_percentile(segments, p);
            WrkResult {
                seconds: segments.iter().map(|s| s.seconds).sum(),
                requests,
                bytes: sum(|s| s.bytes),
                connect_errors: sum(|s| s.connect_errors),
                read_errors: sum(|s| s.read_errors),
                write_errors: sum(|s| s.write_errors),
                timeouts: sum(|s| s.timeouts),
                non_2xx: sum(|s| s.non_2xx),
                latency_mean_ms: weighted_mean,
                latency_max_ms: segments.iter().map(|s| s.latency_max_ms).fold(0.0, f64::max),
                p50_ms: percentile(50.0),
                p90_ms: percentile(90.0),
                p95_ms: percentile(95.0),
                p99_ms: percentile(99.0),
                p999_ms: percentile(99.9),
                distribution: PERCENTILE_POINTS.iter().map(|&p| percentile(p)).collect(),
            }
        }
    }
}

/// The latency below which `p` % of all the segments' requests fall: the point where the
/// request-weighted sum of the segments' distribution functions reaches `p`, found by
/// bisection. A segment without a distribution counts with its own percentiles' bound: the
/// result is then at most the largest of theirs.
fn merged_percentile(segments: &[WrkResult], p: f64) -> f64 {
    let total: f64 = segments.iter().map(|s| s.requests as f64).sum();
    let highest = segments.iter().map(|s| s.latency_max_ms).fold(0.0, f64::max);
    if total <= 0.0 || segments.iter().any(|s| s.distribution.len() != PERCENTILE_POINTS.len()) {
        return segments.iter().map(|s| percentile_of(s, p)).fold(0.0, f64::max);
    }
    let share_below = |latency: f64| {
        segments.iter().map(|s| s.requests as f64 * share_at_or_below(s, latency)).sum::<f64>()
            / total
    };
    let (mut low, mut high) = (0.0, highest);
    for _ in 0..60 {
        let middle = (low + high) / 2.0;
        if share_below(middle) * 100.0 >= p {
            high = middle;
        } else {
            low = middle;
        }
    }
    high
}

/// The share of a segment's requests at or below `latency`, interpolated between the
/// percentile points it reported.
fn share_at_or_below(segment: &WrkResult, latency: f64) -> f64 {
    let points = PERCENTILE_POINTS.iter().zip(&segment.distribution);
    let mut previous = (0.0, 0.0);
    for (&p, &at) in points {
        if latency < at {
            let (p0, at0) = previous;
            let span = at - at0;
            let fraction = if span > 0.0 { (latency - at0) / span } else { 1.0 };
            return (p0 + (p - p0) * fraction.clamp(0.0, 1.0)) / 100.0;
        }
        previous = (p, at);
    }
    if latency >= segment.latency_max_ms {
        return 1.0;
    }
    // Between the last point and the maximum.
    let (p0, at0) = previous;
    let span = segment.latency_max_ms - at0;
    let fraction = if span > 0.0 { (latency - at0) / span } else { 1.0 };
    (p0 + (100.0 - p0) * fraction.clamp(0.0, 1.0)) / 100.0
}

/// The one of a result's own percentiles nearest above `p`.
fn percentile_of(result: &WrkResult, p: f64) -> f64 {
    match p {
        p if p <= 50.0 => result.p50_ms,
        p if p <= 90.0 => result.p90_ms,
        p if p <= 95.0 => result.p95_ms,
        p if p <= 99.0 => result.p99_ms,
        p if p <= 99.9 => result.p999_ms,
        _ => result.latency_max_ms,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A segment whose latencies are spread evenly from `low` to `high` ms.
    fn uniform(requests: u64, low: f64, high: f64) -> WrkResult {
        let at = |p: f64| low + (high - low) * p / 100.0;
        WrkResult {
            seconds: 10.0,
            requests,
            bytes: requests * 100,
            latency_mean_ms: (low + high) / 2.0,
            latency_max_ms: high,
            p50_ms: at(50.0),
            p90_ms: at(90.0),
            p95_ms: at(95.0),
            p99_ms: at(99.0),
            p999_ms: at(99.9),
            distribution: PERCENTILE_POINTS.iter().map(|&p| at(p)).collect(),
            ..WrkResult::default()
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 0.05
    }

    #[test]
    fn one_segment_is_itself_and_none_is_empty() {
        let one = uniform(1000, 0.0, 10.0);
        assert_eq!(merge(std::slice::from_ref(&one)), one);
        assert_eq!(merge(&[]), WrkResult::default());
    }

    #[test]
    fn equal_segments_merge_to_the_same_percentiles_and_add_up() {
        let merged = merge(&[uniform(1000, 0.0, 10.0), uniform(1000, 0.0, 10.0)]);
        assert_eq!((merged.requests, merged.bytes, merged.seconds), (2000, 200_000, 20.0));
        assert!(close(merged.p50_ms, 5.0) && close(merged.p95_ms, 9.5), "{merged:?}");
        assert!(close(merged.requests_per_sec(), 100.0));
    }

    #[test]
    fn percentiles_come_from_all_requests_not_from_averaged_percentiles() {
        // A fast segment (0-10 ms) with three times the requests of a slow one (10-20 ms):
        // 75 % of all requests are under 10 ms, so the merged P50 is 6.67 ms (not the 10 ms
        // an average of the two P50s would say) and the P95 is in the slow one: 18 ms.
        let merged = merge(&[uniform(3000, 0.0, 10.0), uniform(1000, 10.0, 20.0)]);
        assert!(close(merged.p50_ms, 20.0 / 3.0), "{}", merged.p50_ms);
        assert!(close(merged.p95_ms, 18.0), "{}", merged.p95_ms);
        assert!(close(merged.latency_mean_ms, 7.5));
        assert!(close(merged.latency_max_ms, 20.0));
    }

    #[test]
    fn without_distributions_the_result_is_the_largest_percentile() {
        let mut a = uniform(1000, 0.0, 10.0);
        let b = uniform(1000, 10.0, 20.0);
        a.distribution.clear();
        let merged = merge(&[a, b]);
        assert!(close(merged.p95_ms, 19.5), "an upper bound: {}", merged.p95_ms);
    }
}
