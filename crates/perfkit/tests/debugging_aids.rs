//! The debugging aids on a real service: the slow-operation helper's counts reach the
//! Prometheus exposition, and the memory profile reads each figure from its owner.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use perfkit::PerformanceService;
use perfkit::core::{ManualClock, Timestamp};

#[tokio::test]
async fn slow_operations_are_counted_in_the_exposition() {
    let clock = Arc::new(ManualClock::new(Timestamp::from_unix_millis(1_700_000_000_000)));
    let service = PerformanceService::builder().clock(clock.clone()).build().unwrap();
    let slow = &service.parts().slow_operations;
    {
        let _timed = slow.start("load_report");
        clock.advance(Duration::from_secs(3));
    }
    drop(slow.start("load_report"));
    let text = service.parts().exporter.render().unwrap();
    assert!(text.contains(r#"perfkit_operations_total{operation="load_report"} 2"#), "{text}");
    assert!(text.contains(r#"perfkit_slow_operations_total{operation="load_report"} 1"#), "{text}");
}

#[tokio::test]
async fn the_memory_profile_reads_every_owner() {
    let service = PerformanceService::builder().build().unwrap();
    service.cache().set("k", b"value", None).await.unwrap();
    assert_eq!(service.readout().memory_profile().rss_bytes, None, "no collection yet");
    service.collect_now().await;
    let profile = service.readout().memory_profile();
    assert!(profile.rss_bytes.is_some_and(|rss| rss > 0), "{profile:?}");
    assert_eq!((profile.history_len, profile.history_capacity), (1, 1000));
    assert_eq!(profile.cache_keys, 1);
    assert!(profile.cache_bytes > 0, "{profile:?}");
}
