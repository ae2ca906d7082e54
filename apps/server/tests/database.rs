//! The demo on real databases, through the real binary: with no flags an SQLite file created
//! and seeded in the data directory (and kept: a second start does not seed again), with
//! `--database-url` a PostgreSQL server; reads cached, a write invalidating, every
//! statement measured with no recorder call in the demo, and a plan from PostgreSQL; with
//! `--read-database-url` a real streaming replica serving the reads, and a frozen replica
//! (SIGSTOP) falling back to the primary.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use perfkit_testing::PostgresServer;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use support::Server;

const TOKEN: &str = "database-e2e-admin-token";
const PAGE: &str = "SELECT id, user_id, title, body FROM posts WHERE id > $2 ORDER BY id LIMIT $1";
const USER_POSTS: &str =
    "SELECT id, user_id, title, body FROM posts WHERE user_id = $1 ORDER BY id LIMIT $2 OFFSET $3";

async fn get(client: &Client, server: &Server, path: &str) -> (StatusCode, Option<String>, Value) {
    let response = client.get(server.url(path)).bearer_auth(TOKEN).send().await.unwrap();
    let status = response.status();
    let cache = response.headers().get("x-cache").map(|v| v.to_str().unwrap().to_owned());
    (status, cache, response.json().await.unwrap())
}

/// Reads cached, a write that invalidates, and the statements measured; returns the
/// statements as `/database/statements` lists them.
async fn reads_writes_and_statements(client: &Client, server: &Server) -> Vec<Value> {
    let (status, cache, page) = get(client, server, "/api/posts?page=3&limit=10").await;
    assert_eq!((status, cache.as_deref()), (StatusCode::OK, Some("miss")), "{page}");
    assert_eq!(page["posts"][0]["id"], 21);
    assert_eq!(page["total"], 25_000);
    let (_, cache, _) = get(client, server, "/api/posts?page=3&limit=10").await;
    assert_eq!(cache.as_deref(), Some("hit"));
    let (_, _, before) = get(client, server, "/api/users/42/posts?limit=100").await;
    let created = client
        .post(server.url("/api/users/42/posts"))
        .json(&json!({ "title": "Measured", "body": "Timed by perfkit-sqlx." }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let (_, cache, after) = get(client, server, "/api/users/42/posts?limit=100").await;
    assert_eq!(cache.as_deref(), Some("miss"), "the write invalidated the user's posts");
    assert_eq!(after.as_array().unwrap().len(), before.as_array().unwrap().len() + 1);
    let (_, cache, page) = get(client, server, "/api/posts?page=3&limit=10").await;
    assert_eq!((cache.as_deref(), &page["total"]), (Some("miss"), &json!(25_001)));

    let (status, _, listed) = get(client, server, "/api/performance/database/statements").await;
    assert_eq!(status, StatusCode::OK);
    let statements = listed["statements"].as_array().unwrap().clone();
    for statement in [PAGE, USER_POSTS] {
        let found = statements.iter().find(|s| s["statement"] == statement);
        let found = found.unwrap_or_else(|| panic!("{statement} not among {statements:#?}"));
        assert!(found["count"].as_u64().is_some_and(|n| n >= 2), "{found}");
    }
    statements
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_no_flags_the_demo_serves_posts_from_sqlite_in_the_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let args = ["--demo", "--data-dir", data_dir.to_str().unwrap()];
    let server = Server::start(&args, &[("PERFKIT_ADMIN_TOKEN", TOKEN)]);
    let client = Client::new();
    server.wait_for_health(&client).await;
    assert_eq!(server.log_lines("seeded the demo database").len(), 1);
    assert!(data_dir.join("demo.sqlite3").is_file());
    let listening = server.log_line("perfkit-server listening").unwrap();
    assert_eq!(listening["database"], "sqlite");

    let statements = reads_writes_and_statements(&client, &server).await;
    let page = statements.iter().find(|s| s["statement"] == PAGE).unwrap();
    let uri = format!("/api/performance/database/statements/{}/plan", page["id"].as_str().unwrap());
    let (status, _, body) = get(&client, &server, &uri).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("conflict")));
    let (status, _) = server.terminate();
    assert!(status.success());

    // The data is kept: a second start finds it and seeds nothing.
    let again = Server::start(&args, &[("PERFKIT_ADMIN_TOKEN", TOKEN)]);
    again.wait_for_health(&client).await;
    assert!(again.log_lines("seeded the demo database").is_empty());
    let (_, _, page) = get(&client, &again, "/api/posts?page=1&limit=1").await;
    assert_eq!(page["total"], 25_001, "the post written before the restart is still there");
    let (status, _) = again.terminate();
    assert!(status.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_database_url_the_demo_serves_posts_from_postgres() {
    let postgres = PostgresServer::start();
    let server = Server::start(
        &["--demo", "--database-url", postgres.url()],
        &[("PERFKIT_ADMIN_TOKEN", TOKEN)],
    );
    let client = Client::new();
    server.wait_for_health(&client).await;
    let listening = server.log_line("perfkit-server listening").unwrap();
    assert_eq!(listening["database"], "postgres");

    let statements = reads_writes_and_statements(&client, &server).await;
    let page = statements.iter().find(|s| s["statement"] == PAGE).unwrap();
    let uri = format!("/api/performance/database/statements/{}/plan", page["id"].as_str().unwrap());
    let (status, _, plan) = get(&client, &server, &uri).await;
    assert_eq!(status, StatusCode::OK, "{plan}");
    assert!(plan["plan"].as_str().unwrap().contains("Limit"), "{plan}");

    // The pool is in the snapshot and the exposition.
    client
        .post(server.url("/api/performance/optimization/run"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    let text = server.exposition(&client).await;
    assert!(text.contains("db_statement_duration_seconds_count{statement="), "{text}");
    assert!(text.contains("db_pool_acquire_duration_seconds_count"), "{text}");
    let (status, _) = server.terminate();
    assert!(status.success());
}

/// Polls `/health` until the `database` check reads `status`.
async fn wait_for_database_check(client: &Client, server: &Server, status: &str) -> Value {
    let started = std::time::Instant::now();
    loop {
        let (_, _, health) = get(client, server, "/api/performance/health").await;
        if health["checks"]["database"]["status"] == status {
            return health;
        }
        assert!(started.elapsed() < support::PATIENCE, "database check never {status}: {health}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_database_down_hits_are_served_and_a_miss_gets_a_fast_json_503() {
    let postgres = PostgresServer::start_private();
    let config = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(config.path(), "[service]\nhealthCheckInterval = \"200ms\"\n").unwrap();
    let args =
        ["--demo", "--database-url", postgres.url(), "--config", config.path().to_str().unwrap()];
    let server = Server::start(&args, &[("PERFKIT_ADMIN_TOKEN", TOKEN)]);
    let client = Client::new();
    server.wait_for_health(&client).await;
    let (status, _, _) = get(&client, &server, "/api/posts?page=1&limit=10").await;
    assert_eq!(status, StatusCode::OK);
    wait_for_database_check(&client, &server, "healthy").await;

    postgres.stop().unwrap();
    let health = wait_for_database_check(&client, &server, "degraded").await;
    assert_eq!(health["checks"]["database"]["critical"], false, "{health}");
    let (status, cache, _) = get(&client, &server, "/api/posts?page=1&limit=10").await;
    assert_eq!((status, cache.as_deref()), (StatusCode::OK, Some("hit")), "hits need no database");
    let started = std::time::Instant::now();
    let (status, _, body) = get(&client, &server, "/api/posts?page=2&limit=10").await;
    let took = started.elapsed();
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["error"]["code"], "service_unavailable", "{body}");
    // The pool's acquire timeout (2 s) and some slack: never the request timeout (30 s).
    assert!(took < std::time::Duration::from_secs(5), "a miss took {took:?}");

    postgres.restart().unwrap();
    wait_for_database_check(&client, &server, "healthy").await;
    // Served again without a restart of ours, once the breaker has seen the database answer.
    let restarted = std::time::Instant::now();
    loop {
        let (status, _, page) = get(&client, &server, "/api/posts?page=2&limit=10").await;
        if status == StatusCode::OK {
            break;
        }
        assert!(restarted.elapsed() < support::PATIENCE, "never served again: {page}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let (status, _) = server.terminate();
    assert!(status.success());
}

/// Rows of `posts` fetched on `server` by anyone: PostgreSQL's own count, per server, so a
/// read the demo ran on the replica shows there and not on the primary.
async fn posts_rows_read(server: &PostgresServer) -> i64 {
    let pool = sqlx::PgPool::connect(server.url()).await.unwrap();
    // Counters are flushed at the end of a backend's transaction, within a second.
    let read: i64 = sqlx::query_scalar(
        "SELECT COALESCE(sum(seq_tup_read + COALESCE(idx_tup_fetch, 0)), 0)::bigint \
         FROM pg_stat_user_tables WHERE relname = 'posts'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    pool.close().await;
    read
}

/// Polls `/health` until `check` reads `status` and its detail contains `detail`.
async fn wait_for_check(
    client: &Client,
    server: &Server,
    check: &str,
    status: &str,
    detail: &str,
) -> Value {
    let started = std::time::Instant::now();
    loop {
        let (_, _, health) = get(client, server, "/api/performance/health").await;
        let found = &health["checks"][check];
        if found["status"] == status && found["detail"].as_str().is_some_and(|d| d.contains(detail))
        {
            return health;
        }
        assert!(
            started.elapsed() < support::PATIENCE,
            "{check} never {status} ({detail}): {health}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_read_replica_reads_go_to_it_writes_to_the_primary_and_a_frozen_one_is_skipped() {
    let primary = PostgresServer::start_private();
    let replica = primary.start_replica().unwrap();
    let config = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(config.path(), "[service]\nhealthCheckInterval = \"200ms\"\n").unwrap();
    let args = [
        "--demo",
        "--database-url",
        primary.url(),
        "--read-database-url",
        replica.url(),
        "--config",
        config.path().to_str().unwrap(),
    ];
    let server = Server::start(&args, &[("PERFKIT_ADMIN_TOKEN", TOKEN)]);
    let client = Client::new();
    server.wait_for_health(&client).await;
    // The initial posts replayed: the replica has caught up with the primary.
    wait_for_check(&client, &server, "db.replica-0", "healthy", "lag 0.0 s").await;

    let (on_replica, on_primary) =
        (posts_rows_read(&replica).await, posts_rows_read(&primary).await);
    for page in 1..=20 {
        let (status, cache, body) =
            get(&client, &server, &format!("/api/posts?page={page}&limit=10")).await;
        assert_eq!((status, cache.as_deref()), (StatusCode::OK, Some("miss")), "{body}");
        assert_eq!(body["total"], 25_000);
    }
    let started = std::time::Instant::now();
    while posts_rows_read(&replica).await < on_replica + 200 {
        assert!(started.elapsed() < support::PATIENCE, "the replica never served the reads");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        posts_rows_read(&primary).await < on_primary + 200,
        "the primary served reads that were the replica's"
    );
    // A write goes to the primary (a standby refuses writes: a 201 says it was not there).
    let created = client
        .post(server.url("/api/users/7/posts"))
        .json(&json!({ "title": "Replicated", "body": "Written on the primary." }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);

    replica.pause().unwrap();
    // Misses served by the primary, none an error; the first waits out the replica read's
    // time box (1 s) at most.
    for page in 21..=40 {
        let started = std::time::Instant::now();
        let (status, _, body) =
            get(&client, &server, &format!("/api/posts?page={page}&limit=10")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(started.elapsed() < std::time::Duration::from_secs(3), "{:?}", started.elapsed());
    }
    let health = wait_for_check(&client, &server, "db.replica-0", "degraded", "unreachable").await;
    assert_eq!(health["status"], "degraded", "{health}");
    // Each pool's figures in the exposition, by role: the replica refused and fallen back from.
    let text = server.exposition(&client).await;
    for line in ["db_role_up{role=\"primary\"} 1", "db_role_up{role=\"replica-0\"} 0"] {
        assert!(text.contains(line), "{line} not in {text}");
    }
    assert!(text.contains("db_role_fallbacks_total{role=\"replica-0\"}"), "{text}");
    assert!(text.contains("db_role_replication_lag_seconds{role=\"replica-0\"}"), "{text}");

    replica.resume().unwrap();
    wait_for_check(&client, &server, "db.replica-0", "healthy", "replica-0 up").await;
    let (status, _) = server.terminate();
    assert!(status.success());
}
