//! A sqlx host on SQLite with perfkit installed: every statement it runs shows in
//! `/metrics/application`, `/database/statements` and the Prometheus exposition, and its
//! pool in the snapshot, with no recorder call anywhere in the host's code.

mod support;

use std::sync::Arc;

use perfkit::PerformanceService;
use perfkit_sqlx::SqlxPool;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use support::{TOKEN, get, get_json, recorder};

/// The host's own code: plain sqlx, nothing of perfkit.
async fn host_workload(pool: &sqlx::SqlitePool) -> sqlx::Result<()> {
    sqlx::raw_sql(
        "CREATE TABLE lite_posts (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL, title TEXT NOT NULL)",
    )
    .execute(pool)
    .await?;
    for id in 1..=200_i64 {
        sqlx::query("INSERT INTO lite_posts (id, user_id, title) VALUES ($1, $2, $3)")
            .bind(id)
            .bind(id % 10)
            .bind(format!("post {id}"))
            .execute(pool)
            .await?;
    }
    for user in 0..10_i64 {
        let rows: Vec<(i64, String)> =
            sqlx::query_as("SELECT id, title FROM lite_posts WHERE user_id = $1")
                .bind(user)
                .fetch_all(pool)
                .await?;
        assert_eq!(rows.len(), 20);
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statements_and_the_pool_show_with_no_call_site() {
    let recorder = recorder();
    let dir = tempfile::tempdir().unwrap();
    let options = SqliteConnectOptions::new()
        .filename(dir.path().join("host.sqlite3"))
        .create_if_missing(true);
    let pool = SqlitePoolOptions::new()
        .max_connections(3)
        .acquire_time_level(log::LevelFilter::Debug)
        .connect_with(options)
        .await
        .unwrap();
    let service = PerformanceService::builder()
        .recorder(Arc::clone(&recorder))
        .database_pool(Arc::new(SqlxPool::new(pool.clone())))
        .build()
        .unwrap();
    let api = perfkit_axum::ApiConfig { admin_token: TOKEN.to_owned(), ..Default::default() };
    let router = perfkit_axum::router(service.clone(), api).unwrap();

    host_workload(&pool).await.unwrap();
    let snapshot = service.collect_now().await;

    let (status, app) = get_json(&router, "/api/performance/metrics/application", false).await;
    assert_eq!(status, 200);
    let statements = app["database"]["statements"]["slowest"].as_array().unwrap();
    let find = |text: &str| {
        statements
            .iter()
            .find(|s| s["statement"] == text)
            .unwrap_or_else(|| panic!("{text} not among {statements:#?}"))
    };
    let insert = find("INSERT INTO lite_posts (id, user_id, title) VALUES ($1, $2, $3)");
    assert_eq!((insert["count"].as_u64(), insert["rows"].as_u64()), (Some(200), Some(200)));
    let select = find("SELECT id, title FROM lite_posts WHERE user_id = $1");
    assert_eq!((select["count"].as_u64(), select["rows"].as_u64()), (Some(10), Some(200)));
    assert!(select["p95"].as_f64().is_some_and(|p95| p95 > 0.0), "{select}");
    assert!(select["max"].as_f64() >= select["p50"].as_f64());

    let (status, listed) =
        get_json(&router, "/api/performance/database/statements?sort=total&limit=2", false).await;
    assert_eq!(status, 200);
    assert_eq!(listed["sort"], "total");
    assert_eq!(listed["statements"].as_array().unwrap().len(), 2);
    let (status, refused) =
        get_json(&router, "/api/performance/database/statements?limit=0", false).await;
    assert_eq!((status.as_u16(), refused["error"]["code"].as_str()), (422, Some("out_of_range")));

    let (status, text) = get(&router, "/api/performance/metrics/prometheus", false).await;
    assert_eq!(status, 200);
    let count = "db_statement_duration_seconds_count{statement=\"SELECT id, title FROM lite_posts WHERE user_id = $1\"} 10";
    assert!(text.contains(count), "{count} missing from:\n{text}");
    assert!(text.contains(
        "db_statement_rows_total{statement=\"INSERT INTO lite_posts (id, user_id, title) VALUES ($1, $2, $3)\"} 200"
    ));
    assert!(text.contains("db_pool_connections{state=\"max\"} 3"), "{text}");
    let acquires = text
        .lines()
        .find_map(|line| line.strip_prefix("db_pool_acquire_duration_seconds_count "))
        .and_then(|n| n.parse::<u64>().ok());
    assert!(acquires.is_some_and(|n| n >= 211), "acquires: {acquires:?}");

    // The pool's figures are in the snapshot; its acquires give the wait figures.
    assert_eq!(snapshot.db_pool_max, Some(3.0));
    assert!(snapshot.db_pool_size.is_some_and(|size| (1.0..=3.0).contains(&size)));
    assert!(snapshot.db_pool_acquire_p95.is_some() && snapshot.db_pool_waiters.is_some());

    // SQLite has no planner here: the plan endpoint says so, as JSON.
    let id = select["id"].as_str().unwrap();
    let uri = format!("/api/performance/database/statements/{id}/plan");
    let (status, body) = get_json(&router, &uri, true).await;
    assert_eq!(
        (status.as_u16(), body["error"]["code"].as_str()),
        (409, Some("conflict")),
        "{body}"
    );
    let (status, _) = get_json(&router, &uri, false).await;
    assert_eq!(status.as_u16(), 401, "plans are admin-only");
}
