//! perfkit-cache against the raw clients underneath, each pair in one criterion group:
//! `<group>/perfkit` is ours, the other function is the baseline.
//!
//! - `memory_get`, `memory_set`: `MemoryCache` vs raw moka of the same flavour (the sync
//!   cache, called directly, with no async wrapper) with the same byte weigher, per-entry
//!   expiry, values and key formatting. `memory_set/moka_listener` is that raw moka plus the
//!   eviction listener `MemoryCache` needs to count size evictions exactly: once a listener
//!   is installed moka takes a per-key lock and notifies on every overwrite, so this line
//!   shows how much of `memory_set/perfkit` is moka's listener cost rather than ours.
//! - `memory_get/perfkit_no_prefixes`, `memory_set/perfkit_no_prefixes`: `MemoryCache` with
//!   per-prefix figures off (`KeyPrefixConfig { depth: 0, .. }`), beside `perfkit` (on, the
//!   default): what counting reads and TTLs per key prefix costs a hit and a write.
//! - `memory_get_5k`: a 5 KB answer (the demo's page size) read with `MemoryCache::get_shared`
//!   (`perfkit_shared`, the stored bytes shared, not copied) and with `get` (`perfkit_copy`),
//!   beside raw moka holding `Bytes` (`moka_bytes`: what a user who wanted reads without a
//!   copy would write).
//! - `redis_get`, `redis_set`: `RedisCache` vs raw fred calls on the same private server.
//! - `redis_mget_100`, `redis_mset_100`: one batched call of 100 keys vs 100 single calls
//!   sent concurrently on the same pool (`join_all`, what a user would write; fred pipelines
//!   them), so the batch is judged against its real alternative, not against 100 round trips
//!   one after another.
//! - `near_get`: a `TieredCache` read answered by its front (`perfkit`) beside
//!   `MemoryCache::get` (`memory_cache`), the in-process cache a user would otherwise keep,
//!   in the same run, on the same keys and values: what coherence costs a hit (the target is
//!   1.2x). The front serves only while invalidations flow, so this needs a private
//!   redis-server like the Redis groups.
//! - `lz4_encode_4k_json`, `lz4_decode_4k_json`: perfkit's stored frame (`frame.rs`: the tag
//!   byte, lz4 with its size, the checks on decode) on a compressible 4 KiB JSON value,
//!   beside lz4_flex alone (what the framing adds) and a plain copy; the compression ratio is
//!   printed once.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use fred::prelude::{Expiration, KeysInterface, Value};
use futures::future::join_all;
use moka::notification::RemovalCause;
use perfkit_cache::{
    Bytes, Cache, CacheAdmin, KeyPrefixConfig, MemoryCache, MemoryConfig, NearCacheConfig,
    RedisCache, RedisConfig, TieredCache,
};
use perfkit_testing::RedisServer;
use tokio::runtime::Runtime;

const KEYS: usize = 1000;
const VALUE: &[u8] = br#"{"id":12345,"name":"perfkit","roles":["admin","ops"],"active":true}"#;
const TTL: Duration = Duration::from_secs(300);

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

fn keys() -> Vec<String> {
    (0..KEYS).map(|i| format!("bench:key:{i}")).collect()
}

/// Round-robin over the keys, so no single entry stays hot in the CPU cache.
fn next<'a>(keys: &'a [String], cursor: &AtomicUsize) -> &'a str {
    &keys[cursor.fetch_add(1, Ordering::Relaxed) % keys.len()]
}

type RawCache = moka::sync::Cache<String, Vec<u8>>;
type RawBuilder<V> = moka::sync::CacheBuilder<String, V, moka::sync::Cache<String, V>>;

fn raw_moka_builder<V>() -> RawBuilder<V>
where
    V: AsRef<[u8]> + Clone + Send + Sync + 'static,
{
    moka::sync::Cache::builder()
        .max_capacity(64 * 1024 * 1024)
        .weigher(|k: &String, v: &V| u32::try_from(k.len() + v.as_ref().len()).unwrap_or(u32::MAX))
        // Per-entry expiry, as MemoryCache has: moka's timer wheel, not its single-TTL queue.
        .expire_after(FixedTtl)
}

fn raw_moka() -> RawCache {
    raw_moka_builder().build()
}

/// Raw moka with the eviction listener MemoryCache installs to count size evictions.
fn raw_moka_with_listener() -> RawCache {
    let evictions = Arc::new(AtomicU64::new(0));
    raw_moka_builder()
        .eviction_listener(move |_, _, cause| {
            if cause == RemovalCause::Size {
                evictions.fetch_add(1, Ordering::Relaxed);
            }
        })
        .build()
}

struct FixedTtl;

impl<V> moka::Expiry<String, V> for FixedTtl {
    fn expire_after_create(&self, _: &String, _: &V, _: Instant) -> Option<Duration> {
        Some(TTL)
    }

    fn expire_after_update(
        &self,
        _: &String,
        _: &V,
        _: Instant,
        _: Option<Duration>,
    ) -> Option<Duration> {
        Some(TTL)
    }
}

fn memory(c: &mut Criterion) {
    let rt = runtime();
    let keys = keys();
    let ours = MemoryCache::new(MemoryConfig::default());
    let no_prefixes = KeyPrefixConfig { depth: 0, ..KeyPrefixConfig::default() };
    let flat =
        MemoryCache::new(MemoryConfig { key_prefixes: no_prefixes, ..MemoryConfig::default() });
    let moka = raw_moka();
    let moka_listener = raw_moka_with_listener();
    rt.block_on(async {
        for key in &keys {
            ours.set(key, VALUE, Some(TTL)).await.unwrap();
            flat.set(key, VALUE, Some(TTL)).await.unwrap();
            moka.insert(key.clone(), VALUE.to_vec());
            moka_listener.insert(key.clone(), VALUE.to_vec());
        }
    });
    let cursor = AtomicUsize::new(0);

    let mut group = c.benchmark_group("memory_get");
    group.bench_function("perfkit", |b| {
        b.to_async(&rt).iter(|| async { black_box(ours.get(next(&keys, &cursor)).await.unwrap()) });
    });
    group.bench_function("perfkit_no_prefixes", |b| {
        b.to_async(&rt).iter(|| async { black_box(flat.get(next(&keys, &cursor)).await.unwrap()) });
    });
    group.bench_function("moka", |b| {
        b.iter(|| black_box(moka.get(next(&keys, &cursor))));
    });
    group.finish();

    let mut group = c.benchmark_group("memory_set");
    group.bench_function("perfkit", |b| {
        b.to_async(&rt)
            .iter(|| async { ours.set(next(&keys, &cursor), VALUE, Some(TTL)).await.unwrap() });
    });
    group.bench_function("perfkit_no_prefixes", |b| {
        b.to_async(&rt)
            .iter(|| async { flat.set(next(&keys, &cursor), VALUE, Some(TTL)).await.unwrap() });
    });
    group.bench_function("moka", |b| {
        b.iter(|| moka.insert(next(&keys, &cursor).to_owned(), VALUE.to_vec()));
    });
    group.bench_function("moka_listener", |b| {
        b.iter(|| moka_listener.insert(next(&keys, &cursor).to_owned(), VALUE.to_vec()));
    });
    group.finish();
    memory_large(c, &rt, &keys);
}

/// Reads of a demo-page-sized answer: shared, copied, and raw moka of `Bytes`.
fn memory_large(c: &mut Criterion, rt: &Runtime, keys: &[String]) {
    let page = Bytes::from(br#"{"id":1,"title":"a post","body":"text"},"#.repeat(128));
    assert!(page.len() > 5000 && page.len() < MemoryConfig::default().compression_threshold);
    let ours = MemoryCache::new(MemoryConfig::default());
    let moka: moka::sync::Cache<String, Bytes> = raw_moka_builder().build();
    rt.block_on(async {
        for key in keys {
            ours.set(key, &page, Some(TTL)).await.unwrap();
            moka.insert(key.clone(), page.clone());
        }
    });
    let cursor = AtomicUsize::new(0);
    let mut group = c.benchmark_group("memory_get_5k");
    group.bench_function("perfkit_shared", |b| {
        b.to_async(rt)
            .iter(|| async { black_box(ours.get_shared(next(keys, &cursor)).await.unwrap()) });
    });
    group.bench_function("perfkit_copy", |b| {
        b.to_async(rt).iter(|| async { black_box(ours.get(next(keys, &cursor)).await.unwrap()) });
    });
    group.bench_function("moka_bytes", |b| {
        b.iter(|| black_box(moka.get(next(keys, &cursor))));
    });
    group.finish();
}

fn redis(c: &mut Criterion) {
    let rt = runtime();
    let server = RedisServer::start_private();
    let namespace = "bench:";
    let config = RedisConfig {
        url: server.url().to_owned(),
        namespace: namespace.to_owned(),
        ..RedisConfig::default()
    };
    let ours = rt.block_on(RedisCache::connect(config)).unwrap();
    // The baseline uses the same pool, so both sides share connections and pipelining.
    let raw = ours.pool().clone();
    let keys = keys();
    let full_keys: Vec<String> = keys.iter().map(|k| format!("{namespace}{k}")).collect();
    rt.block_on(async {
        for key in &keys {
            ours.set(key, VALUE, Some(TTL)).await.unwrap();
        }
    });
    let cursor = AtomicUsize::new(0);
    let px = Some(Expiration::PX(300_000));

    let mut group = c.benchmark_group("redis_get");
    group.bench_function("perfkit", |b| {
        b.to_async(&rt).iter(|| async { black_box(ours.get(next(&keys, &cursor)).await.unwrap()) });
    });
    group.bench_function("fred", |b| {
        b.to_async(&rt).iter(|| async {
            let value: Value = raw.get(next(&full_keys, &cursor)).await.unwrap();
            black_box(value)
        });
    });
    group.finish();

    let mut group = c.benchmark_group("redis_set");
    group.bench_function("perfkit", |b| {
        b.to_async(&rt)
            .iter(|| async { ours.set(next(&keys, &cursor), VALUE, Some(TTL)).await.unwrap() });
    });
    group.bench_function("fred", |b| {
        b.to_async(&rt).iter(|| async {
            let key = next(&full_keys, &cursor);
            let _: () = raw.set(key, VALUE, px.clone(), None, false).await.unwrap();
        });
    });
    group.finish();

    let batch: Vec<&str> = keys.iter().take(100).map(String::as_str).collect();
    let entries: Vec<(&str, &[u8])> = batch.iter().map(|k| (*k, VALUE)).collect();

    let mut group = c.benchmark_group("redis_mget_100");
    group.bench_function("perfkit", |b| {
        b.to_async(&rt).iter(|| async { black_box(ours.mget(&batch).await.unwrap()) });
    });
    group.bench_function("concurrent_gets", |b| {
        b.to_async(&rt).iter(|| async {
            let values = join_all(batch.iter().map(|key| ours.get(key))).await;
            black_box(values.into_iter().map(Result::unwrap).count())
        });
    });
    group.finish();

    let mut group = c.benchmark_group("redis_mset_100");
    group.bench_function("perfkit", |b| {
        b.to_async(&rt).iter(|| async { ours.mset(&entries, Some(TTL)).await.unwrap() });
    });
    group.bench_function("concurrent_sets", |b| {
        b.to_async(&rt).iter(|| async {
            let sets = entries.iter().map(|(key, value)| ours.set(key, value, Some(TTL)));
            join_all(sets).await.into_iter().for_each(Result::unwrap);
        });
    });
    group.finish();

    rt.block_on(async { ours.clear().await.unwrap() });
    drop(ours);
    drop(server);
}

fn near(c: &mut Criterion) {
    let rt = runtime();
    let server = RedisServer::start_private();
    let config = RedisConfig {
        url: server.url().to_owned(),
        namespace: "bench-near:".to_owned(),
        ..RedisConfig::default()
    };
    // The front keeps entries as long as the memory cache does, so every read is a hit.
    let near = NearCacheConfig { ttl: TTL, ..NearCacheConfig::default() };
    let tiered = rt.block_on(TieredCache::connect(config, near)).unwrap();
    let memory = MemoryCache::new(MemoryConfig::default());
    let keys = keys();
    rt.block_on(async {
        let started = Instant::now();
        while !tiered.is_tracking() {
            assert!(started.elapsed() < Duration::from_secs(10), "tracking did not start");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        for key in &keys {
            tiered.set(key, VALUE, Some(TTL)).await.unwrap();
            memory.set(key, VALUE, Some(TTL)).await.unwrap();
        }
    });
    let cursor = AtomicUsize::new(0);
    let before = tiered.counters().near.unwrap();

    let mut group = c.benchmark_group("near_get");
    group.bench_function("perfkit", |b| {
        b.to_async(&rt)
            .iter(|| async { black_box(tiered.get(next(&keys, &cursor)).await.unwrap()) });
    });
    group.bench_function("memory_cache", |b| {
        b.to_async(&rt)
            .iter(|| async { black_box(memory.get(next(&keys, &cursor)).await.unwrap()) });
    });
    group.finish();

    // The subject timed front hits, not Redis round trips (with a filter that skips this
    // group, nothing ran, and nothing went to Redis either).
    let after = tiered.counters().near.unwrap();
    assert_eq!(after.back_hits, before.back_hits, "a near_get read went to Redis");
    rt.block_on(async { tiered.clear().await.unwrap() });
    drop(tiered);
    drop(server);
}

fn json_4k() -> Vec<u8> {
    let mut items = Vec::new();
    let mut i = 0;
    loop {
        items.push(format!(
            r#"{{"id":{i},"name":"user-{i}","email":"user{i}@example.com","roles":["reader"],"active":{}}}"#,
            i % 3 == 0
        ));
        let json = format!("[{}]", items.join(","));
        if json.len() >= 4096 {
            return json.into_bytes()[..4096].to_vec();
        }
        i += 1;
    }
}

fn lz4(c: &mut Criterion) {
    let value = json_4k();
    // The backends' default threshold: values of 1 KiB and more are compressed.
    let threshold = 1024;
    let framed = perfkit_cache::encode_stored(&value, threshold);
    let compressed = lz4_flex::compress_prepend_size(&value);
    #[allow(clippy::cast_precision_loss)]
    let ratio = framed.len() as f64 / value.len() as f64;
    eprintln!(
        "lz4 frame of 4 KiB JSON: {} -> {} bytes, ratio {ratio:.3}",
        value.len(),
        framed.len()
    );
    assert_eq!(perfkit_cache::decode_stored(&framed).unwrap(), value, "the frame round-trips");

    let mut group = c.benchmark_group("lz4_encode_4k_json");
    group.bench_function("perfkit_frame", |b| {
        b.iter(|| black_box(perfkit_cache::encode_stored(black_box(&value), threshold)));
    });
    group.bench_function("lz4_flex", |b| {
        b.iter(|| black_box(lz4_flex::compress_prepend_size(black_box(&value))));
    });
    group.bench_function("copy", |b| b.iter(|| black_box(black_box(&value).to_vec())));
    group.finish();

    let mut group = c.benchmark_group("lz4_decode_4k_json");
    group.bench_function("perfkit_frame", |b| {
        b.iter(|| black_box(perfkit_cache::decode_stored(black_box(&framed)).unwrap()));
    });
    group.bench_function("lz4_flex", |b| {
        b.iter(|| black_box(lz4_flex::decompress_size_prepended(black_box(&compressed)).unwrap()));
    });
    group.bench_function("copy", |b| b.iter(|| black_box(black_box(&value).to_vec())));
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(500))
        .sample_size(30)
}

criterion_group! { name = benches; config = config(); targets = memory, redis, near, lz4 }
criterion_main!(benches);
