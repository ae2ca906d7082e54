//! The behaviour every cache backend shares (`Cache`, `CacheAdmin`, and `CacheAside` over
//! them), run against each by `conformance_tests!`.

use std::any::Any;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures::future::BoxFuture;
use perfkit_cache::{
    Bytes, CacheAside, CacheBackend, CacheError, CacheExt, Lookup, RESERVED_PREFIX,
};

/// A backend under test.
pub(crate) struct Subject {
    /// The cache under test, default TTL 300 s, compression from 1 KiB.
    pub(crate) cache: Arc<dyn CacheBackend>,
    /// Another cache on the same store under another namespace (for memory, another store).
    pub(crate) neighbour: Arc<dyn CacheBackend>,
    /// Lets `by` pass for the cache's TTLs (a manual clock, or real time for Redis).
    pub(crate) pass: Box<dyn Fn(Duration) -> BoxFuture<'static, ()> + Send + Sync>,
    /// Whatever must live as long as the test (a redis-server).
    pub(crate) _guard: Box<dyn Any + Send>,
}

/// Generates one `#[tokio::test]` per conformance case, each on a fresh subject from `$make`.
#[macro_export]
macro_rules! conformance_tests {
    ($make:path) => {
        $crate::conformance_tests!(@cases $make;
            get_set_delete_exists, missing_keys_read_as_none, ttl_is_reported_and_entries_expire,
            writes_without_ttl_get_the_default, mget_and_mset_keep_order, patterns_are_literal_prefixes,
            increment_counts_and_keeps_its_first_ttl, increment_refuses_non_integers,
            single_flight_under_100_concurrent_callers, get_or_compute_caches_and_does_not_cache_errors,
            compressed_values_round_trip, namespaces_are_isolated, stats_count_hits_and_misses,
            clear_deletes_everything_of_the_namespace, warm_preloads_entries, optimize_reports_before_and_after,
            typed_values_round_trip, cache_aside_says_how_each_value_was_found,
            reserved_keys_survive_clear_and_delete_pattern,
            application_keys_with_the_reserved_prefix_are_refused,
            reserved_reads_do_not_move_application_counters, counters_are_read_without_waiting,
            shared_reads_give_what_get_gives_and_count_alike);
    };
    (@cases $make:path; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                conformance::$case($make().await).await;
            }
        )*
    };
}

pub(crate) async fn get_set_delete_exists(s: Subject) {
    let c = &s.cache;
    c.set("a", b"1", None).await.unwrap();
    assert_eq!(c.get("a").await.unwrap(), Some(b"1".to_vec()));
    assert!(c.exists("a").await.unwrap());
    c.set("a", b"2", None).await.unwrap();
    assert_eq!(c.get("a").await.unwrap(), Some(b"2".to_vec()));
    assert!(c.delete("a").await.unwrap());
    assert!(!c.delete("a").await.unwrap());
    assert!(!c.exists("a").await.unwrap());
    assert_eq!(c.get("a").await.unwrap(), None);
    c.set("empty", b"", None).await.unwrap();
    assert_eq!(c.get("empty").await.unwrap(), Some(Vec::new()));
    c.set("binary", &[0xFE, 0xFF, 0], None).await.unwrap();
    assert_eq!(c.get("binary").await.unwrap(), Some(vec![0xFE, 0xFF, 0]));
}

pub(crate) async fn missing_keys_read_as_none(s: Subject) {
    assert_eq!(s.cache.get("nope").await.unwrap(), None);
    assert!(!s.cache.exists("nope").await.unwrap());
    assert_eq!(s.cache.ttl("nope").await.unwrap(), None);
}

pub(crate) async fn ttl_is_reported_and_entries_expire(s: Subject) {
    let c = &s.cache;
    c.set("long", b"v", Some(Duration::from_secs(60))).await.unwrap();
    let ttl = c.ttl("long").await.unwrap().unwrap();
    assert!(ttl > Duration::from_secs(55) && ttl <= Duration::from_secs(60), "{ttl:?}");
    c.set("short", b"v", Some(Duration::from_millis(200))).await.unwrap();
    assert!(c.exists("short").await.unwrap());
    (s.pass)(Duration::from_millis(400)).await;
    assert_eq!(c.get("short").await.unwrap(), None);
    assert!(!c.exists("short").await.unwrap());
    assert_eq!(c.ttl("short").await.unwrap(), None);
    assert_eq!(c.get("long").await.unwrap(), Some(b"v".to_vec()));
}

pub(crate) async fn writes_without_ttl_get_the_default(s: Subject) {
    s.cache.set("k", b"v", None).await.unwrap();
    let ttl = s.cache.ttl("k").await.unwrap().unwrap();
    assert!(ttl > Duration::from_secs(295) && ttl <= Duration::from_secs(300), "{ttl:?}");
}

pub(crate) async fn mget_and_mset_keep_order(s: Subject) {
    let c = &s.cache;
    c.mset(&[("a", b"1"), ("b", b"2"), ("c", b"3")], Some(Duration::from_secs(60))).await.unwrap();
    let values = c.mget(&["c", "missing", "a"]).await.unwrap();
    assert_eq!(values, vec![Some(b"3".to_vec()), None, Some(b"1".to_vec())]);
    assert!(c.ttl("b").await.unwrap().is_some_and(|t| t <= Duration::from_secs(60)));
    assert!(c.mget(&[]).await.unwrap().is_empty());
    c.mset(&[], None).await.unwrap();
}

pub(crate) async fn patterns_are_literal_prefixes(s: Subject) {
    let c = &s.cache;
    c.set_with_pattern("user", "1", b"a", None).await.unwrap();
    c.set_with_pattern("user", "2", b"b", None).await.unwrap();
    c.set("users:x", b"c", None).await.unwrap();
    c.set("*star", b"d", None).await.unwrap();
    c.set("u?er:3", b"e", None).await.unwrap();
    assert_eq!(c.get("user:1").await.unwrap(), Some(b"a".to_vec()));
    assert_eq!(c.delete_pattern("user:").await.unwrap(), 2);
    assert_eq!(c.get("users:x").await.unwrap(), Some(b"c".to_vec()));
    // Glob characters are literal: "*" matches only keys starting with '*'.
    assert_eq!(c.delete_pattern("*").await.unwrap(), 1);
    assert_eq!(c.delete_pattern("u?er").await.unwrap(), 1);
    assert_eq!(c.get("users:x").await.unwrap(), Some(b"c".to_vec()));
    assert_eq!(c.delete_pattern("nothing").await.unwrap(), 0);
}

pub(crate) async fn increment_counts_and_keeps_its_first_ttl(s: Subject) {
    let c = &s.cache;
    assert_eq!(c.increment("n", Some(Duration::from_secs(60))).await.unwrap(), 1);
    assert_eq!(c.increment("n", Some(Duration::from_secs(3600))).await.unwrap(), 2);
    assert_eq!(c.increment("n", None).await.unwrap(), 3);
    assert_eq!(c.get("n").await.unwrap(), Some(b"3".to_vec()));
    let ttl = c.ttl("n").await.unwrap().unwrap();
    assert!(ttl <= Duration::from_secs(60), "{ttl:?}");
    c.set("m", b"41", None).await.unwrap();
    assert_eq!(c.increment("m", None).await.unwrap(), 42);
}

pub(crate) async fn increment_refuses_non_integers(s: Subject) {
    s.cache.set("text", b"hello", None).await.unwrap();
    let error = s.cache.increment("text", None).await.unwrap_err();
    assert!(matches!(error, CacheError::NotAnInteger { ref key } if key == "text"), "{error}");
    assert_eq!(s.cache.get("text").await.unwrap(), Some(b"hello".to_vec()));
}

pub(crate) async fn single_flight_under_100_concurrent_callers(s: Subject) {
    let loader = CacheAside::new(s.cache.clone());
    let runs = Arc::new(AtomicUsize::new(0));
    let mut callers = Vec::new();
    for _ in 0..100 {
        let (loader, runs) = (loader.clone(), runs.clone());
        callers.push(tokio::spawn(async move {
            loader
                .get_or_compute("slow", None, || async move {
                    runs.fetch_add(1, Ordering::SeqCst);
                    // Long enough for every caller to arrive while it runs.
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    Ok(b"computed".to_vec())
                })
                .await
        }));
    }
    let mut computed = 0;
    for caller in callers {
        let (value, lookup) = caller.await.unwrap().unwrap();
        assert_eq!(&value[..], b"computed");
        computed += usize::from(lookup == Lookup::Computed);
    }
    assert_eq!((runs.load(Ordering::SeqCst), computed), (1, 1));
    assert_eq!(s.cache.get("slow").await.unwrap(), Some(b"computed".to_vec()));
}

pub(crate) async fn get_or_compute_caches_and_does_not_cache_errors(s: Subject) {
    let loader = CacheAside::new(s.cache.clone());
    let failed = loader
        .get_or_compute("k", None, || async {
            Err(CacheError::Compute { key: "k".into(), source: "database down".into() })
        })
        .await;
    assert!(matches!(failed, Err(CacheError::Compute { .. })));
    assert_eq!(s.cache.get("k").await.unwrap(), None);
    let value = loader.get_or_compute("k", None, || async { Ok(b"v".to_vec()) }).await;
    assert_eq!(value.unwrap(), (Bytes::from_static(b"v"), Lookup::Computed));
    let again = loader.get_or_compute("k", None, || async { panic!("must not recompute") }).await;
    assert_eq!(again.unwrap(), (Bytes::from_static(b"v"), Lookup::Hit));
}

pub(crate) async fn compressed_values_round_trip(s: Subject) {
    let value = serde_json::to_vec(&serde_json::json!({
        "items": (0..100).map(|i| serde_json::json!({"id": i, "name": "perfkit", "tags": ["a", "b"]})).collect::<Vec<_>>()
    }))
    .unwrap();
    assert!(value.len() > 4096);
    s.cache.set("big", &value, None).await.unwrap();
    assert_eq!(s.cache.get("big").await.unwrap(), Some(value.clone()));
    s.cache.mset(&[("big2", &value)], None).await.unwrap();
    assert_eq!(s.cache.mget(&["big2"]).await.unwrap(), vec![Some(value.clone())]);
    let stats = s.cache.stats().await;
    assert!(stats.compressed_bytes_saved > value.len() as u64, "{stats:?}");
}

pub(crate) async fn namespaces_are_isolated(s: Subject) {
    s.cache.set("x", b"mine", None).await.unwrap();
    s.neighbour.set("x", b"theirs", None).await.unwrap();
    s.neighbour.set("*", b"theirs", None).await.unwrap();
    assert_eq!(s.cache.get("x").await.unwrap(), Some(b"mine".to_vec()));
    assert_eq!(s.cache.delete_pattern("*").await.unwrap(), 0);
    assert_eq!(s.cache.clear().await.unwrap(), 1);
    assert_eq!(s.cache.get("x").await.unwrap(), None);
    assert_eq!(s.neighbour.get("x").await.unwrap(), Some(b"theirs".to_vec()));
    assert_eq!(s.neighbour.get("*").await.unwrap(), Some(b"theirs".to_vec()));
}

pub(crate) async fn stats_count_hits_and_misses(s: Subject) {
    let c = &s.cache;
    c.set("a", b"1", None).await.unwrap();
    c.get("a").await.unwrap();
    c.get("a").await.unwrap();
    c.get("b").await.unwrap();
    c.mget(&["a", "b"]).await.unwrap();
    let stats = c.stats().await;
    assert_eq!((stats.hits, stats.misses, stats.errors), (3, 2, 0));
    assert!((stats.hit_rate - 0.6).abs() < 1e-9);
    assert!(stats.connected);
    assert!(stats.keys >= 1 && stats.bytes > 0, "{stats:?}");
    let json = serde_json::to_value(&stats).unwrap();
    assert_eq!(json["hitRate"], 0.6);
    assert_eq!(json["breaker"], "closed");
}

pub(crate) async fn shared_reads_give_what_get_gives_and_count_alike(s: Subject) {
    let c = &s.cache;
    let large = serde_json::to_vec(&(0..600).collect::<Vec<u32>>()).unwrap();
    assert!(large.len() > 1024, "compressed by every subject");
    let values: [(&str, &[u8]); 4] =
        [("text", b"{\"a\":1}"), ("tagged", &[0xFE, 0xFF, 0]), ("empty", b""), ("large", &large)];
    for (key, value) in values {
        c.set(key, value, None).await.unwrap();
    }
    for (key, value) in values {
        let shared = c.get_shared(key).await.unwrap();
        assert_eq!(shared.as_deref(), Some(value), "{key}");
        assert_eq!(c.get(key).await.unwrap().as_deref(), Some(value), "{key}");
    }
    assert_eq!(c.get_shared("missing").await.unwrap(), None);
    let stats = c.stats().await;
    assert_eq!((stats.hits, stats.misses, stats.errors), (8, 1, 0));
    assert!(matches!(
        c.get_shared(&format!("{RESERVED_PREFIX}x")).await,
        Err(CacheError::ReservedKey { .. })
    ));
}

pub(crate) async fn clear_deletes_everything_of_the_namespace(s: Subject) {
    for key in ["a", "b:c", "*"] {
        s.cache.set(key, b"v", None).await.unwrap();
    }
    assert_eq!(s.cache.clear().await.unwrap(), 3);
    assert_eq!(s.cache.mget(&["a", "b:c", "*"]).await.unwrap(), vec![None, None, None]);
    assert_eq!(s.cache.clear().await.unwrap(), 0);
}

pub(crate) async fn warm_preloads_entries(s: Subject) {
    let warmed = s.cache.warm(&[("w1", b"1"), ("w2", b"2")], None).await.unwrap();
    assert_eq!(warmed, 2);
    assert_eq!(s.cache.get("w2").await.unwrap(), Some(b"2".to_vec()));
}

pub(crate) async fn optimize_reports_before_and_after(s: Subject) {
    s.cache.set("a", b"1", None).await.unwrap();
    let report = s.cache.optimize().await.unwrap();
    assert!(report.before.keys >= 1, "{report:?}");
    let json = serde_json::to_value(&report).unwrap();
    assert!(json["before"]["bytes"].is_u64() && json["after"]["keys"].is_u64(), "{json}");
    assert_eq!(s.cache.get("a").await.unwrap(), Some(b"1".to_vec()));
}

pub(crate) async fn typed_values_round_trip(s: Subject) {
    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct User {
        id: u32,
        name: String,
    }
    let c = &s.cache;
    let user = User { id: 7, name: "ada".into() };
    c.set_value("user:7", &user, None).await.unwrap();
    assert_eq!(c.get("user:7").await.unwrap(), Some(br#"{"id":7,"name":"ada"}"#.to_vec()));
    assert_eq!(c.get_value::<User>("user:7").await.unwrap(), Some(user));
    let loader = CacheAside::new(c.clone());
    let (computed, lookup) = loader
        .get_or_compute_value("user:8", None, || async { Ok(User { id: 8, name: "bob".into() }) })
        .await
        .unwrap();
    assert_eq!((computed.id, lookup), (8, Lookup::Computed));
    let (cached, lookup) = loader
        .get_or_compute_value::<User, _, _>("user:8", None, || async { panic!("cached") })
        .await
        .unwrap();
    assert_eq!((cached.name.as_str(), lookup), ("bob", Lookup::Hit));
    assert!(matches!(c.get_value::<u32>("user:8").await, Err(CacheError::Deserialize { .. })));
}

pub(crate) async fn cache_aside_says_how_each_value_was_found(s: Subject) {
    let loader = CacheAside::new(s.cache.clone());
    // A caller arriving while another computes joins it; one arriving after reads a hit.
    let (started, release) =
        (Arc::new(tokio::sync::Notify::new()), Arc::new(tokio::sync::Notify::new()));
    let leader = {
        let (loader, started, release) = (loader.clone(), started.clone(), release.clone());
        tokio::spawn(async move {
            loader
                .get_or_compute("k", None, || async move {
                    started.notify_one();
                    release.notified().await;
                    Ok(b"v".to_vec())
                })
                .await
        })
    };
    started.notified().await;
    let joiner = {
        let loader = loader.clone();
        tokio::spawn(async move {
            loader.get_or_compute("k", None, || async { panic!("joined, not computed") }).await
        })
    };
    // The joiner is waiting on the flight once its read has missed: give it real time to.
    tokio::time::sleep(Duration::from_millis(50)).await;
    release.notify_one();
    assert_eq!(leader.await.unwrap().unwrap(), (Bytes::from_static(b"v"), Lookup::Computed));
    assert_eq!(joiner.await.unwrap().unwrap(), (Bytes::from_static(b"v"), Lookup::Joined));
    let hit = loader.get_or_compute("k", None, || async { panic!("cached") }).await.unwrap();
    assert_eq!(hit, (Bytes::from_static(b"v"), Lookup::Hit));
    assert!(hit.1.is_hit() && hit.1.as_str() == "hit");
    // Reads: leader miss, joiner miss, one hit; EXISTS checks are not reads.
    let stats = s.cache.counters();
    assert_eq!((stats.hits, stats.misses), (1, 2), "{stats:?}");
}

pub(crate) async fn reserved_keys_survive_clear_and_delete_pattern(s: Subject) {
    let reserved = s.cache.reserved();
    assert!(Arc::ptr_eq(&reserved, &s.cache.reserved()), "one reserved handle");
    reserved.set("history:a", b"kept", None).await.unwrap();
    reserved.set("lock", b"kept", None).await.unwrap();
    for key in ["a", "~x", "~perfkit", "b:c"] {
        s.cache.set(key, b"v", None).await.unwrap();
    }
    assert_eq!(s.cache.delete_pattern("~").await.unwrap(), 2, "~x and ~perfkit only");
    assert_eq!(s.cache.delete_pattern(RESERVED_PREFIX).await.unwrap(), 0);
    assert_eq!(s.cache.delete_pattern("").await.unwrap(), 2);
    s.cache.set("a", b"v", None).await.unwrap();
    assert_eq!(s.cache.clear().await.unwrap(), 1);
    assert_eq!(s.cache.clear().await.unwrap(), 0);
    assert_eq!(reserved.get("history:a").await.unwrap(), Some(b"kept".to_vec()));
    assert_eq!(reserved.mget(&["lock"]).await.unwrap(), vec![Some(b"kept".to_vec())]);
    // The reserved sub-namespace does not leak into the application's keys either way.
    assert_eq!(s.cache.get("history:a").await.unwrap(), None);
    s.cache.set("app", b"v", None).await.unwrap();
    assert_eq!(reserved.get("app").await.unwrap(), None);
}

pub(crate) async fn application_keys_with_the_reserved_prefix_are_refused(s: Subject) {
    let c = &s.cache;
    let key = format!("{RESERVED_PREFIX}history:a");
    let refused = |result: Result<(), CacheError>| {
        assert!(
            matches!(result, Err(CacheError::ReservedKey { ref key }) if key.starts_with(RESERVED_PREFIX)),
            "{result:?}"
        );
    };
    refused(c.set(&key, b"v", None).await);
    refused(c.get(&key).await.map(drop));
    refused(c.delete(&key).await.map(drop));
    refused(c.exists(&key).await.map(drop));
    refused(c.ttl(&key).await.map(drop));
    refused(c.increment(&key, None).await.map(drop));
    refused(c.mget(&["a", key.as_str()]).await.map(drop));
    refused(c.mset(&[("a", b"v"), (key.as_str(), b"v")], None).await);
    assert_eq!(c.get("a").await.unwrap(), None, "a refused batch writes nothing");
    let loader = CacheAside::new(c.clone());
    refused(
        loader.get_or_compute(&key, None, || async { panic!("refused first") }).await.map(drop),
    );
    let error = c.set(&key, b"v", None).await.unwrap_err().to_string();
    assert!(error.contains("reserved prefix"), "{error}");
    // Through the reserved handle the same key is an ordinary one.
    c.reserved().set("history:a", b"v", None).await.unwrap();
    assert!(c.reserved().exists("history:a").await.unwrap());
}

pub(crate) async fn reserved_reads_do_not_move_application_counters(s: Subject) {
    let c = &s.cache;
    c.set("a", b"1", None).await.unwrap();
    c.get("a").await.unwrap();
    c.get("b").await.unwrap();
    let before = c.counters();
    let reserved = c.reserved();
    reserved.set("history:a", b"[]", None).await.unwrap();
    reserved.get("history:a").await.unwrap();
    reserved.get("missing").await.unwrap();
    reserved.mget(&["history:a", "missing"]).await.unwrap();
    let after = c.counters();
    assert_eq!((after.hits, after.misses, after.errors), (before.hits, before.misses, 0));
    assert_eq!((after.hits, after.misses), (1, 1));
    let stats = c.stats().await;
    assert_eq!((stats.hits, stats.misses), (1, 1));
}

pub(crate) async fn counters_are_read_without_waiting(s: Subject) {
    let c = &s.cache;
    c.set("a", b"1", None).await.unwrap();
    for _ in 0..3 {
        c.get("a").await.unwrap();
    }
    c.get("none").await.unwrap();
    let counters = c.counters();
    assert_eq!((counters.hits, counters.misses), (3, 1));
    assert!((counters.hit_rate - 0.75).abs() < 1e-9);
    assert!(counters.connected);
    let stats = c.stats().await;
    // After a refresh, the synchronous read carries what the refresh learned.
    let counters = c.counters();
    assert_eq!(counters, stats);
    assert!(counters.keys >= 1 && counters.bytes > 0, "{counters:?}");
}
