//! The memory action releases memory in the real server, which allocates with mimalloc:
//! ~200 MB of demo pages cached, the cache cleared, the action run, and the server's
//! resident set at most half of what it was (glibc's `malloc_trim`, which the action
//! called before, found nothing to give back here). The system allocator's case is
//! `crates/perfkit/tests/memory_release.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use reqwest::Client;
use serde_json::json;
use support::Server;

const TOKEN: &str = "memory-release-admin-token";

/// Users whose pages are filled (the last of the demo's sample users, with about a dozen
/// small posts each: prolific authors are the low ids), posts added to each, and the body of each
/// post: with the page limits below, about 240 MB of cached pages.
const USERS: std::ops::RangeInclusive<u32> = 992..=999;
const POSTS_PER_USER: usize = 100;
const BODY_CHARS: usize = 9_500;
/// Page 1 of each user at every limit from 51 to 100: 50 distinct cached pages a user.
const LIMITS: std::ops::RangeInclusive<u32> = 51..=100;

/// Text that lz4 cannot shrink much (letters and digits from a xorshift stream).
fn body(seed: u64) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..BODY_CHARS)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            char::from(ALPHABET[usize::try_from(state % 62).unwrap()])
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cleared_cache_is_returned_to_the_os_under_mimalloc() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("big-cache.toml");
    std::fs::write(&config, "[cache]\nmemoryMaxBytes = 536870912\n").unwrap();
    let server = Server::start(
        &["--demo", "--config", config.to_str().unwrap()],
        &[("PERFKIT_ADMIN_TOKEN", TOKEN)],
    );
    let client = Client::new();
    server.wait_for_health(&client).await;
    let system = server.get_json(&client, "/api/performance/metrics/system").await;
    assert_eq!(system["process"]["heap"]["allocator"], "mimalloc", "{system}");

    for user in USERS {
        for post in 0..POSTS_PER_USER {
            let seed = u64::from(user) * 1_000 + post as u64;
            let created = client
                .post(server.url(&format!("/api/users/{user}/posts")))
                .json(&json!({ "title": format!("big {seed}"), "body": body(seed) }))
                .send()
                .await
                .unwrap();
            assert!(created.status().is_success(), "{}", created.status());
        }
        for limit in LIMITS {
            let page = server.url(&format!("/api/users/{user}/posts?page=1&limit={limit}"));
            let answer = client.get(page).send().await.unwrap();
            assert_eq!(answer.status(), 200);
            answer.bytes().await.unwrap();
        }
    }
    let stats = server.get_json(&client, "/api/performance/cache/stats").await;
    assert!(stats["bytes"].as_u64().unwrap() > 180_000_000, "~200 MB cached: {stats}");
    let filled = server.rss_bytes();

    let cleared = client
        .delete(server.url("/api/performance/cache"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert!(cleared.status().is_success(), "{}", cleared.status());
    let forced = client
        .post(server.url("/api/performance/optimization/force"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert!(forced.status().is_success(), "{}", forced.status());
    let run: serde_json::Value = forced.json().await.unwrap();
    let actions = run["actions"].as_array().unwrap();
    assert!(
        actions.iter().any(|a| a["action"] == "releaseMemory" && a["status"] == "taken"),
        "{run}"
    );
    let released = server.rss_bytes();
    assert!(
        released <= filled / 2,
        "RSS {filled} with the cache full, {released} after clear and release: not halved"
    );

    // The exposition shows mimalloc's own figure, as /metrics/system does.
    let text = server.exposition(&client).await;
    assert!(text.contains("perfkit_heap_resident_bytes{allocator=\"mimalloc\"}"), "{text}");
}
