#![allow(clippy::expect_used, clippy::unwrap_used)] // a benchmark that cannot set up should stop loudly
//! What one system reading costs: a fresh one (every source refreshed) and one served from
//! the last reading, which is what a second call within 250 ms gets.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use perfkit_metrics::{SysinfoProbe, SystemProbe};

fn sample(c: &mut Criterion) {
    let mut group = c.benchmark_group("system_probe");
    let fresh = SysinfoProbe::new().expect("probe").min_sample_gap(Duration::ZERO);
    group.bench_function("sample_fresh", |b| b.iter(|| black_box(fresh.sample().expect("sample"))));
    let cached = SysinfoProbe::new().expect("probe");
    group.bench_function("sample_cached", |b| {
        b.iter(|| black_box(cached.sample().expect("sample")));
    });
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(20)
}

criterion_group! { name = benches; config = config(); targets = sample }
criterion_main!(benches);
