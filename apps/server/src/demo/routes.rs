//! The demo's HTTP routes. Each read carries `X-Cache: hit` or `miss`, so a newcomer can
//! watch cache-aside work from curl; the write answers 201 with the new post's id.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::header::{ALLOW, CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use perfkit::PerformanceService;
use perfkit::cache::Bytes;
use perfkit::host::WorkerPool;
use perfkit_axum::{ApiError, ApiJson, ApiPath, ApiQuery};

use super::business;
use super::database::DemoDatabase;
use super::model::NewPost;
use super::posts::{CachedPosts, Lookup};
use super::query::{self, PageParams};
use super::read_ahead;
use super::settings::DemoSettings;
use super::warming::DemoWarmer;

const X_CACHE: HeaderName = HeaderName::from_static("x-cache");

/// What the demo's handlers share: the cached data access and the job queue its
/// read-ahead runs on.
#[derive(Clone)]
struct Demo {
    posts: Arc<CachedPosts>,
    /// Where read-ahead jobs go, when `[demo] readAhead` is on.
    read_ahead: Option<WorkerPool>,
}

/// `GET /api/posts`, `GET /api/users/{id}/posts` (both `?page=N&limit=M`) and
/// `POST /api/users/{id}/posts`, over the
/// service's cache and `database`; with `[demo] readAhead` on, read-ahead jobs go to `jobs`
/// (the pool the service watches as its queue). Reads are counted in `warmer`'s table,
/// and warming loads through these routes' data access.
pub(crate) fn routes(
    service: &PerformanceService,
    database: DemoDatabase,
    settings: &DemoSettings,
    jobs: WorkerPool,
    warmer: &DemoWarmer,
) -> Router {
    let parts = service.parts();
    let posts = Arc::new(CachedPosts::new(
        Arc::clone(&parts.cache),
        Arc::clone(&parts.cache_admin),
        database,
        settings.ttls,
        (warmer.hot_keys(), settings.hot.clone()),
    ));
    warmer.serve(Arc::clone(&posts));
    Router::new()
        .route("/api/posts", get(list_posts).fallback(wrong_method_read_only))
        .route("/api/users/{id}/posts", get(user_posts).post(create_post).fallback(wrong_method))
        .with_state(Demo { posts, read_ahead: settings.read_ahead.then_some(jobs) })
}

async fn list_posts(
    State(demo): State<Demo>,
    ApiQuery(params): ApiQuery<PageParams>,
) -> Result<Response, ApiError> {
    let (page, limit) = query::page_and_limit(&params, query::PAGES)?;
    let (json, lookup) = demo.posts.page(page, limit).await?;
    business::page_read(page);
    if let (Lookup::Miss, Some(jobs)) = (lookup, &demo.read_ahead) {
        read_ahead::next_page(jobs, &demo.posts, page, limit);
    }
    Ok(json_answer(json, lookup))
}

async fn user_posts(
    State(Demo { posts, .. }): State<Demo>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(params): ApiQuery<PageParams>,
) -> Result<Response, ApiError> {
    let user = query::user_id(&id)?;
    let (page, limit) = query::page_and_limit(&params, query::USER_PAGES)?;
    let (json, lookup) = posts.user_posts(user, page, limit).await?;
    Ok(json_answer(json, lookup))
}

async fn create_post(
    State(Demo { posts, .. }): State<Demo>,
    ApiPath(id): ApiPath<String>,
    ApiJson(post): ApiJson<NewPost>,
) -> Result<Response, ApiError> {
    let user = query::user_id(&id)?;
    query::check_new_post(&post)?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| i64::try_from(since.as_secs()).unwrap_or(i64::MAX));
    let id = posts.add_post(user, &post, now).await?;
    business::post_created(post.body.len());
    let body = serde_json::json!({ "id": id, "userId": user });
    Ok((
        StatusCode::CREATED,
        [(CACHE_CONTROL, HeaderValue::from_static("no-store"))],
        axum::Json(body),
    )
        .into_response())
}

async fn wrong_method_read_only() -> impl IntoResponse {
    ([(ALLOW, HeaderValue::from_static("GET,HEAD"))], ApiError::MethodNotAllowed)
}

async fn wrong_method() -> impl IntoResponse {
    ([(ALLOW, HeaderValue::from_static("GET,HEAD,POST"))], ApiError::MethodNotAllowed)
}

fn json_answer(json: Bytes, lookup: Lookup) -> Response {
    (
        [
            (CONTENT_TYPE, HeaderValue::from_static("application/json")),
            (CACHE_CONTROL, HeaderValue::from_static("no-store")),
            (X_CACHE, HeaderValue::from_static(lookup.as_str())),
        ],
        json,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use axum::body::{Body, to_bytes};
    use axum::http::{Request, StatusCode};
    use tower::ServiceExt;

    use super::*;
    use crate::demo::settings::{DatabaseChoice, HotSettings, PoolSettings, Ttls};

    async fn app() -> (Router, tempfile::TempDir) {
        app_with(jobs(), false).await
    }

    fn jobs() -> WorkerPool {
        WorkerPool::new(perfkit::host::WorkerPoolConfig::default()).unwrap()
    }

    async fn app_with(jobs: WorkerPool, read_ahead: bool) -> (Router, tempfile::TempDir) {
        let (app, dir, _) = app_with_service(jobs, read_ahead).await;
        (app, dir)
    }

    async fn app_with_service(
        jobs: WorkerPool,
        read_ahead: bool,
    ) -> (Router, tempfile::TempDir, PerformanceService) {
        let dir = tempfile::tempdir().unwrap();
        let pool = PoolSettings { size: 4, acquire_timeout: Duration::from_secs(2) };
        let database =
            DemoDatabase::open(&DatabaseChoice::Sqlite(dir.path().to_owned()), &[], pool)
                .await
                .unwrap();
        let service = PerformanceService::builder().build().unwrap();
        let settings = DemoSettings {
            database: DatabaseChoice::Sqlite(dir.path().to_owned()),
            pool,
            ttls: Ttls { page: Duration::from_secs(300), user_posts: Duration::from_secs(600) },
            hot: HotSettings {
                window: Duration::from_secs(3600),
                per_access: Duration::from_secs(60),
                max_ttl: Duration::from_secs(3600),
                warm_keys: 5,
                saved: dir.path().join("hot-keys.json"),
            },
            read_ahead,
            read_database_urls: Vec::new(),
        };
        let warmer = DemoWarmer::new(&settings.hot).unwrap();
        (routes(&service, database, &settings, jobs, &warmer), dir, service)
    }

    async fn get(app: &Router, uri: &str) -> (StatusCode, Option<String>, serde_json::Value) {
        send(app, Request::get(uri).body(Body::empty()).unwrap()).await
    }

    async fn send(
        app: &Router,
        request: Request<Body>,
    ) -> (StatusCode, Option<String>, serde_json::Value) {
        let response = app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let cache = response.headers().get("x-cache").map(|v| v.to_str().unwrap().to_owned());
        let body = to_bytes(response.into_body(), 1 << 22).await.unwrap();
        (status, cache, serde_json::from_slice(&body).unwrap())
    }

    fn post(uri: &str, body: &serde_json::Value) -> Request<Body> {
        Request::post(uri)
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .unwrap()
    }

    #[tokio::test]
    async fn serves_pages_from_sqlite_then_from_the_cache() {
        let (app, _dir) = app().await;
        let (status, cache, first) = get(&app, "/api/posts?page=2&limit=3").await;
        assert_eq!((status, cache.as_deref()), (StatusCode::OK, Some("miss")));
        assert_eq!(first["posts"].as_array().unwrap().len(), 3);
        assert_eq!(first["posts"][0]["id"], 4);
        assert_eq!(first["total"], crate::demo::seed::POSTS);
        let (_, cache, second) = get(&app, "/api/posts?page=2&limit=3").await;
        assert_eq!((cache.as_deref(), second), (Some("hit"), first));
        let (status, _, posts) = get(&app, "/api/users/7/posts").await;
        assert_eq!(status, StatusCode::OK);
        let posts = posts.as_array().unwrap();
        assert!(!posts.is_empty() && posts.iter().all(|p| p["userId"] == 7));
    }

    /// The guide's intelligent TTL: a page read often is cached longer when next computed
    /// (base 5 min + 1 min per read counted, at most the cap); a page read once keeps the base.
    #[tokio::test]
    async fn a_hot_page_is_cached_longer_than_a_cold_one() {
        let (app, _dir, service) = app_with_service(jobs(), false).await;
        for _ in 0..10 {
            get(&app, "/api/posts?page=1&limit=10").await;
        }
        let cache = &service.parts().cache;
        let ttl = |key: &'static str| async move { cache.ttl(key).await.unwrap().unwrap() };
        assert!(ttl("demo:posts:page:1:limit:10").await <= Duration::from_secs(300));
        service.parts().cache_admin.delete_pattern("demo:posts:page:").await.unwrap();
        let (_, lookup, _) = get(&app, "/api/posts?page=1&limit=10").await;
        assert_eq!(lookup.as_deref(), Some("miss"));
        get(&app, "/api/posts?page=2&limit=10").await;
        let hot = ttl("demo:posts:page:1:limit:10").await;
        assert!(hot > Duration::from_secs(890) && hot <= Duration::from_secs(900), "{hot:?}");
        assert!(ttl("demo:posts:page:2:limit:10").await <= Duration::from_secs(300));
        for _ in 0..100 {
            get(&app, "/api/posts?page=1&limit=10").await;
        }
        service.parts().cache_admin.delete_pattern("demo:posts:page:").await.unwrap();
        get(&app, "/api/posts?page=1&limit=10").await;
        let capped = ttl("demo:posts:page:1:limit:10").await;
        assert!(capped <= Duration::from_secs(3600) && capped > Duration::from_secs(3590));
    }

    #[tokio::test]
    async fn a_users_posts_come_in_pages() {
        let (app, _dir) = app().await;
        // User 1 has the most posts of the sample data (hundreds): every page is full and bounded.
        let ids = |page: &serde_json::Value| -> Vec<i64> {
            let posts = page.as_array().unwrap();
            assert!(posts.iter().all(|p| p["userId"] == 1), "{page}");
            posts.iter().map(|p| p["id"].as_i64().unwrap()).collect()
        };
        let (_, _, first) = get(&app, "/api/users/1/posts").await;
        let (_, _, second) = get(&app, "/api/users/1/posts?page=2").await;
        let (first, second) = (ids(&first), ids(&second));
        assert_eq!((first.len(), second.len()), (10, 10), "the default limit is 10");
        assert!(first.windows(2).chain(second.windows(2)).all(|w| w[0] < w[1]), "oldest first");
        assert!(first.last() < second.first(), "page 2 follows page 1");
        let (_, _, five) = get(&app, "/api/users/1/posts?page=3&limit=5").await;
        assert_eq!(ids(&five), second[..5], "page 3 of 5 is the first half of page 2 of 10");
        let (status, _, beyond) = get(&app, "/api/users/1/posts?page=1000&limit=100").await;
        assert_eq!((status, beyond), (StatusCode::OK, serde_json::json!([])));
        let (status, _, _) = get(&app, "/api/users/1/posts?limit=101").await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    }

    #[tokio::test]
    async fn a_write_invalidates_the_users_posts_and_the_pages() {
        let (app, _dir) = app().await;
        // User 900 has a handful of posts: one page of 100 holds them all.
        let all = "/api/users/900/posts?limit=100";
        let (_, _, before) = get(&app, all).await;
        get(&app, "/api/users/900/posts?limit=1").await;
        get(&app, "/api/posts?page=1&limit=5").await;
        let (_, cache, _) = get(&app, all).await;
        assert_eq!(cache.as_deref(), Some("hit"));

        let new = serde_json::json!({ "title": "Fresh", "body": "Just written." });
        let (status, _, created) = send(&app, post("/api/users/900/posts", &new)).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");

        let (_, cache, _) = get(&app, "/api/users/900/posts?limit=1").await;
        assert_eq!(
            cache.as_deref(),
            Some("miss"),
            "every page of the user's posts was invalidated"
        );
        let (_, cache, after) = get(&app, all).await;
        assert_eq!(cache.as_deref(), Some("miss"), "the user's posts were invalidated");
        let after = after.as_array().unwrap();
        assert_eq!(after.len(), before.as_array().unwrap().len() + 1);
        assert_eq!(after.last().unwrap()["id"], created["id"]);
        let (_, cache, page) = get(&app, "/api/posts?page=1&limit=5").await;
        assert_eq!(cache.as_deref(), Some("miss"), "pages carry the total: invalidated");
        assert_eq!(page["total"], crate::demo::seed::POSTS + 1);
    }

    #[tokio::test]
    async fn a_page_read_from_the_database_reads_the_next_one_ahead_on_the_job_queue() {
        let jobs = jobs();
        let (app, _dir) = app_with(jobs.clone(), true).await;
        let (_, cache, _) = get(&app, "/api/posts?page=5&limit=2").await;
        assert_eq!(cache.as_deref(), Some("miss"));
        // The read-ahead job runs on the pool; wait for it to have run.
        for _ in 0..1000 {
            if jobs.stats().completed >= 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(jobs.stats().completed, 1);
        let (_, cache, _) = get(&app, "/api/posts?page=6&limit=2").await;
        assert_eq!(cache.as_deref(), Some("hit"), "page 6 was read ahead");
        // A hit queues nothing.
        let (_, cache, _) = get(&app, "/api/posts?page=5&limit=2").await;
        assert_eq!(cache.as_deref(), Some("hit"));
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(jobs.stats().completed, 1);
    }

    #[tokio::test]
    async fn without_read_ahead_no_job_is_queued() {
        let jobs = jobs();
        let (app, _dir) = app_with(jobs.clone(), false).await;
        let (_, cache, _) = get(&app, "/api/posts?page=5&limit=2").await;
        assert_eq!(cache.as_deref(), Some("miss"));
        let (_, cache, _) = get(&app, "/api/posts?page=6&limit=2").await;
        assert_eq!(cache.as_deref(), Some("miss"));
        assert_eq!(jobs.stats().completed, 0);
    }

    #[tokio::test]
    async fn bad_parameters_get_the_json_error() {
        let (app, _dir) = app().await;
        for (uri, status, code) in [
            ("/api/posts?limit=0", StatusCode::UNPROCESSABLE_ENTITY, "out_of_range"),
            ("/api/posts?page=100000", StatusCode::UNPROCESSABLE_ENTITY, "out_of_range"),
            ("/api/posts?page=abc", StatusCode::BAD_REQUEST, "invalid_query"),
            ("/api/posts?page=%FF", StatusCode::BAD_REQUEST, "invalid_query"),
            ("/api/users/abc/posts", StatusCode::BAD_REQUEST, "invalid_query"),
            ("/api/users/0/posts", StatusCode::NOT_FOUND, "not_found"),
            ("/api/users/4000000000000/posts", StatusCode::NOT_FOUND, "not_found"),
        ] {
            let (got, _, body) = get(&app, uri).await;
            assert_eq!(got, status, "{uri}: {body}");
            assert_eq!(body["error"]["code"], code, "{uri}: {body}");
            assert!(body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{uri}");
        }
        let empty = serde_json::json!({ "title": "", "body": "x" });
        let (status, _, body) = send(&app, post("/api/users/1/posts", &empty)).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("validation_failed"))
        );
        let extra = serde_json::json!({ "title": "t", "body": "b", "userId": 9 });
        let (status, _, _) = send(&app, post("/api/users/1/posts", &extra)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let nobody = serde_json::json!({ "title": "t", "body": "b" });
        let (status, _, _) = send(&app, post("/api/users/0/posts", &nobody)).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }

    #[tokio::test]
    async fn a_wrong_method_gets_the_json_405() {
        let (app, _dir) = app().await;
        for uri in ["/api/posts", "/api/users/1/posts"] {
            let request = Request::delete(uri).body(Body::empty()).unwrap();
            let (status, _, body) = send(&app, request).await;
            assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{uri}");
            assert_eq!(body["error"]["code"], "method_not_allowed", "{uri}: {body}");
        }
    }
}
