//! Several instances on one Redis: three real `perfkit-server` processes on one private
//! redis-server list each other at `/instances`, take turns running the optimizer (each run
//! logs its start and end in wall microseconds; no two overlap), and clear the shared cache
//! once between them while perfkit's own keys stay.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::{Duration, Instant};

use perfkit_testing::{RedisServer, unique_namespace};
use reqwest::{Client, StatusCode};
use serde_json::Value;
use support::{PATIENCE, Server, redis_command};

const TOKEN: &str = "instances-admin-token-0123456789ab";
const IDS: [&str; 3] = ["api-1", "api-2", "api-3"];
const ROUNDS: usize = 20;

fn start_three(redis: &RedisServer, namespace: &str) -> Vec<Server> {
    IDS.iter()
        .map(|id| {
            Server::start(
                &["--redis-url", redis.url(), "--namespace", namespace, "--instance-id", id],
                &[("PERFKIT_ADMIN_TOKEN", TOKEN)],
            )
        })
        .collect()
}

/// Asks `path` of `server` until `done` holds for the JSON answer.
async fn until(
    client: &Client,
    server: &Server,
    path: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let started = Instant::now();
    loop {
        let answer: Value =
            client.get(server.url(path)).send().await.unwrap().json().await.unwrap();
        if done(&answer) {
            return answer;
        }
        assert!(started.elapsed() < PATIENCE, "{path} never became what was expected: {answer}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn admin(client: &Client, method: reqwest::Method, url: String) -> (StatusCode, Value) {
    let response = client.request(method, url).bearer_auth(TOKEN).send().await.unwrap();
    (response.status(), response.json().await.unwrap())
}

/// Every "run finished in its turn" line of every server (the forced runs asked for, and
/// each server's scheduled check): (instance, kind, start µs, end µs).
fn turns(servers: &[Server]) -> Vec<(String, String, u128, u128)> {
    let micros = |line: &Value, field: &str| -> u128 {
        line[field].as_str().expect("a µs field").parse().expect("µs")
    };
    servers
        .iter()
        .flat_map(|server| server.log_lines("optimizer run finished in its turn"))
        .map(|line| {
            let instance = line["instance"].as_str().unwrap().to_owned();
            let kind = line["kind"].as_str().unwrap().to_owned();
            (instance, kind, micros(&line, "started_us"), micros(&line, "finished_us"))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_servers_on_one_redis_list_each_other_and_take_turns() {
    let redis = RedisServer::start_private();
    let namespace = unique_namespace("instances");
    let servers = start_three(&redis, &namespace);
    let client = Client::new();
    for server in &servers {
        server.wait_for_health(&client).await;
    }

    // Each lists all three, itself included, with a latest snapshot.
    for (server, id) in servers.iter().zip(IDS) {
        let answer = until(&client, server, "/api/performance/instances", |answer| {
            answer["instances"].as_array().is_some_and(|list| list.len() == 3)
        })
        .await;
        assert_eq!(answer["answeredBy"], id);
        let listed: Vec<&str> = answer["instances"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["instance"].as_str().unwrap())
            .collect();
        assert_eq!(listed, IDS);
        for instance in answer["instances"].as_array().unwrap() {
            assert!(instance["latest"]["timestamp"].is_string(), "{instance}");
            assert!(instance["announcedAt"].is_string(), "{instance}");
        }
    }

    // 20 rounds of a forced run asked of all three at once: every one is served, in turn.
    let started = Instant::now();
    for _ in 0..ROUNDS {
        let mut round = tokio::task::JoinSet::new();
        for server in &servers {
            let (client, url) = (client.clone(), server.url("/api/performance/optimization/force"));
            round.spawn(async move { admin(&client, reqwest::Method::POST, url).await });
        }
        while let Some(outcome) = round.join_next().await {
            let (status, body) = outcome.unwrap();
            assert_eq!(status, StatusCode::OK, "{body}");
            assert!(body["id"].is_u64(), "{body}");
        }
    }
    let elapsed = started.elapsed();

    // Every run logged its turn (the log readers may lag the answers a little).
    let forced =
        |turns: &[(String, String, u128, u128)]| turns.iter().filter(|t| t.1 == "forced").count();
    let deadline = Instant::now() + PATIENCE;
    let mut turns = turns(&servers);
    while forced(&turns) < ROUNDS * IDS.len() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
        turns = self::turns(&servers);
    }
    assert_eq!(forced(&turns), ROUNDS * IDS.len(), "one logged turn per forced run");
    for id in IDS {
        let ran = turns.iter().filter(|t| t.0 == id && t.1 == "forced").count();
        assert_eq!(ran, ROUNDS, "{id} ran every round");
    }
    // Every run, forced or scheduled, on any server: none starts before the previous ends.
    turns.sort_by_key(|t| t.2);
    for pair in turns.windows(2) {
        let (before, after) = (&pair[0], &pair[1]);
        assert!(before.2 <= before.3, "{before:?}");
        assert!(
            after.2 >= before.3,
            "runs overlapped: {} ran {}..{} µs, {} started at {} µs",
            before.0,
            before.2,
            before.3,
            after.0,
            after.2
        );
    }
    let busy: u128 = turns.iter().map(|t| t.3 - t.2).sum();
    println!(
        "{} runs ({} forced) on 3 servers in {elapsed:?}; {busy} µs inside runs in all, none \
         overlapping",
        turns.len(),
        forced(&turns)
    );

    // The shared namespace is cleared once: clears asked of all three at once delete each
    // application key exactly once between them, and perfkit's own keys stay.
    const KEYS: usize = 50;
    for n in 0..KEYS {
        assert_eq!(
            redis_command(redis.port(), &["SET", &format!("{namespace}user:{n}"), "x"]),
            "+OK"
        );
    }
    let mut clears = tokio::task::JoinSet::new();
    for server in &servers {
        let (client, url) = (client.clone(), server.url("/api/performance/cache"));
        clears.spawn(async move { admin(&client, reqwest::Method::DELETE, url).await });
    }
    let mut deleted = Vec::new();
    while let Some(outcome) = clears.join_next().await {
        let (status, body) = outcome.unwrap();
        assert_eq!(status, StatusCode::OK, "{body}");
        deleted.push(body["deleted"].as_u64().unwrap());
    }
    deleted.sort_unstable();
    assert_eq!(deleted, [0, 0, KEYS as u64], "one clear did the work, the others found it done");
    assert_eq!(redis_command(redis.port(), &["EXISTS", &format!("{namespace}user:0")]), ":0");
    let answer: Value = client
        .get(servers[0].url("/api/performance/instances"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["instances"].as_array().unwrap().len(), 3, "announcements survive a clear");

    // A server that stops withdraws itself; the others stop listing it at once.
    let mut servers = servers;
    let stopped = servers.pop().unwrap();
    let (status, _) = stopped.terminate();
    assert!(status.success(), "{status}");
    until(&client, &servers[0], "/api/performance/instances", |answer| {
        answer["instances"].as_array().is_some_and(|list| list.len() == 2)
    })
    .await;
}
