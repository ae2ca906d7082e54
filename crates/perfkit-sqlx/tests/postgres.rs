//! A sqlx host on a real PostgreSQL (a private server, or `DATABASE_URL`'s): a workload with
//! one deliberately slow statement. The optimizer's recommendations name that statement,
//! measured, and `EXPLAIN` of it comes back from PostgreSQL through the API.

mod support;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use perfkit::PerformanceService;
use perfkit::optimizer::OptimizerConfig;
use perfkit_sqlx::{PgPlanner, SqlxPool};
use perfkit_testing::PostgresServer;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use support::{TOKEN, get_json, recorder};

const SLOW: &str = "SELECT count(*) FROM pg_posts, pg_sleep($1) WHERE title LIKE $2";

/// The host's own code: plain sqlx, nothing of perfkit.
async fn host_workload(pool: &sqlx::PgPool) -> sqlx::Result<()> {
    sqlx::raw_sql(
        "CREATE TABLE pg_posts (id BIGINT PRIMARY KEY, user_id BIGINT NOT NULL, title TEXT NOT NULL);
         INSERT INTO pg_posts SELECT n, n % 50, 'post ' || n FROM generate_series(1, 5000) AS n;
         CREATE INDEX pg_posts_user ON pg_posts (user_id);
         ANALYZE pg_posts;",
    )
    .execute(pool)
    .await?;
    for user in 0..50_i64 {
        let _: Vec<(i64, String)> =
            sqlx::query_as("SELECT id, title FROM pg_posts WHERE user_id = $1")
                .bind(user)
                .fetch_all(pool)
                .await?;
    }
    sqlx::query("UPDATE pg_posts SET title = $1 WHERE id = $2")
        .bind("renamed")
        .bind(7_i64)
        .execute(pool)
        .await?;
    // The deliberately slow one: 150 ms of sleep per call, three calls.
    for _ in 0..3 {
        let _: i64 =
            sqlx::query_scalar(SLOW).bind(0.15_f64).bind("post 1%").fetch_one(pool).await?;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_slowest_statement_is_named_and_explained() {
    let recorder = recorder();
    let server = PostgresServer::start();
    let options = PgConnectOptions::from_str(server.url()).unwrap();
    let pool = PgPoolOptions::new().max_connections(4).connect_with(options.clone()).await.unwrap();
    let mut config = OptimizerConfig::default();
    config.query_optimization.slow_query_ms = 100.0;
    let service = PerformanceService::builder()
        .recorder(Arc::clone(&recorder))
        .optimizer_config(config)
        .database_pool(Arc::new(SqlxPool::new(pool.clone())))
        .query_planner(Arc::new(PgPlanner::new(options, Duration::from_secs(5))))
        .build()
        .unwrap();
    let api = perfkit_axum::ApiConfig { admin_token: TOKEN.to_owned(), ..Default::default() };
    let router = perfkit_axum::router(service.clone(), api).unwrap();

    host_workload(&pool).await.unwrap();
    service.collect_now().await;

    let (status, recommendations) =
        get_json(&router, "/api/performance/optimization/recommendations", false).await;
    assert_eq!(status, 200);
    let report = recommendations
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["action"] == "reportSlowQueries")
        .unwrap_or_else(|| panic!("no slow-query report in {recommendations:#}"));
    let reason = report["reason"].as_str().unwrap();
    assert!(reason.contains(&format!("slowest: {SLOW}")), "{reason}");
    assert!(reason.contains("over 3 calls"), "{reason}");
    let first = report["details"][0].as_str().unwrap();
    assert!(first.starts_with(&format!("by P95: {SLOW} (calls 3")), "{first}");
    assert!(report["figures"]["slowestStatementP95"].as_f64().is_some_and(|p95| p95 >= 150.0));

    let (_, listed) = get_json(&router, "/api/performance/database/statements", false).await;
    let statements = listed["statements"].as_array().unwrap();
    assert_eq!(statements[0]["statement"], SLOW, "slowest first: {statements:#?}");
    let id = statements[0]["id"].as_str().unwrap();
    let (status, plan) =
        get_json(&router, &format!("/api/performance/database/statements/{id}/plan"), true).await;
    assert_eq!(status, 200, "{plan}");
    assert_eq!(plan["statement"], SLOW);
    let text = plan["plan"].as_str().unwrap();
    assert!(text.contains("Seq Scan on pg_posts"), "{text}");
    assert!(!text.contains("actual time"), "EXPLAIN without ANALYZE: nothing was run\n{text}");

    // A statement that writes is measured, but never explained.
    let by_user = statements
        .iter()
        .find(|s| s["statement"] == "SELECT id, title FROM pg_posts WHERE user_id = $1")
        .unwrap();
    assert_eq!((by_user["count"].as_u64(), by_user["rows"].as_u64()), (Some(50), Some(5000)));
    let update = statements
        .iter()
        .find(|s| s["statement"] == "UPDATE pg_posts SET title = $1 WHERE id = $2")
        .unwrap_or_else(|| panic!("the update is not among {statements:#?}"));
    let uri =
        format!("/api/performance/database/statements/{}/plan", update["id"].as_str().unwrap());
    let (status, refused) = get_json(&router, &uri, true).await;
    assert_eq!(
        (status.as_u16(), refused["error"]["code"].as_str()),
        (422, Some("validation_failed"))
    );
    let (_, title): (i64, String) = sqlx::query_as("SELECT id, title FROM pg_posts WHERE id = 7")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(title, "renamed");

    let (status, missing) =
        get_json(&router, "/api/performance/database/statements/0000000000000000/plan", true).await;
    assert_eq!((status.as_u16(), missing["error"]["code"].as_str()), (404, Some("not_found")));
}
