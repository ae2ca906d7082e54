//! The same-shape app: plain axum on the demo's two read routes (`/api/posts?page=&limit=`
//! and `/api/users/{id}/posts?limit=`), reading the query and path the way the demo does and
//! answering from a map of prepared pages of a given size. What a user who kept rendered
//! pages in a `HashMap` would serve: the floor the demo's cache, database and perfkit's
//! layers are measured against, request for request.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

/// The demo's page and user ranges (its `PAGES` and sample users).
const PAGES: u32 = 10_000;
const USERS: u32 = 1_000;
/// The limit wrk's demo script asks for; other limits are answered as the same page.
const LIMITS: std::ops::RangeInclusive<u32> = 1..=100;

/// The query, as text first, as the demo reads it, so a bad number is the app's own answer.
#[derive(Debug, Default, Deserialize)]
struct PageParams {
    page: Option<String>,
    limit: Option<String>,
}

/// Prepared pages by number and users' pages by id, each its own allocation of `bytes`.
struct Pages {
    posts: HashMap<u32, Bytes>,
    users: HashMap<u32, Bytes>,
}

/// The app, its map filled with a distinct JSON answer of `bytes` bytes per key.
pub(crate) fn app(bytes: usize) -> Router {
    let page = |key: u32| super::apps::prepared_json_marked(bytes, key);
    let pages = Pages {
        posts: (1..=PAGES).map(|n| (n, page(n))).collect(),
        users: (1..=USERS).map(|id| (id, page(id))).collect(),
    };
    Router::new()
        .route("/api/posts", get(list_posts))
        .route("/api/users/{id}/posts", get(user_posts))
        .with_state(Arc::new(pages))
}

async fn list_posts(State(pages): State<Arc<Pages>>, Query(params): Query<PageParams>) -> Response {
    match numbers(&params, 1..=PAGES) {
        Ok(page) => answer(pages.posts.get(&page)),
        Err(parameter) => refusal(parameter),
    }
}

async fn user_posts(
    State(pages): State<Arc<Pages>>,
    Path(id): Path<String>,
    Query(params): Query<PageParams>,
) -> Response {
    let Ok(id) = id.parse::<u32>() else {
        return (StatusCode::BAD_REQUEST, "id is not a number").into_response();
    };
    match numbers(&params, 1..=PAGES) {
        Ok(_) => answer(pages.users.get(&id)),
        Err(parameter) => refusal(parameter),
    }
}

/// The page (default 1, within `pages`) after checking the limit, or the name of the
/// parameter refused.
fn numbers(params: &PageParams, pages: std::ops::RangeInclusive<u32>) -> Result<u32, &'static str> {
    let read = |raw: Option<&str>, range: &std::ops::RangeInclusive<u32>, name| {
        let Some(raw) = raw else { return Ok(*range.start()) };
        raw.parse::<u32>().ok().filter(|value| range.contains(value)).ok_or(name)
    };
    read(params.limit.as_deref(), &LIMITS, "limit")?;
    read(params.page.as_deref(), &pages, "page")
}

fn refusal(parameter: &str) -> Response {
    (StatusCode::UNPROCESSABLE_ENTITY, format!("bad {parameter}")).into_response()
}

fn answer(page: Option<&Bytes>) -> Response {
    match page {
        Some(page) => ([(CONTENT_TYPE, "application/json")], page.clone()).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::{Body, to_bytes};
    use axum::http::Request;
    use tower::ServiceExt as _;

    async fn get_path(app: &Router, path: &str) -> (StatusCode, Bytes) {
        let request = Request::get(path).body(Body::empty()).unwrap();
        let answer = app.clone().oneshot(request).await.unwrap();
        let status = answer.status();
        (status, to_bytes(answer.into_body(), usize::MAX).await.unwrap())
    }

    #[tokio::test]
    async fn both_routes_answer_their_own_page_of_the_size_and_refuse_bad_numbers() {
        let app = app(300);
        let (status, first) = get_path(&app, "/api/posts?page=7&limit=20").await;
        assert_eq!((status, first.len()), (StatusCode::OK, 300));
        let (_, other) = get_path(&app, "/api/posts?page=8&limit=20").await;
        assert_ne!(first, other, "each page is its own answer");
        let (status, user) = get_path(&app, "/api/users/42/posts?limit=20").await;
        assert_eq!((status, user.len()), (StatusCode::OK, 300));
        assert!(serde_json::from_slice::<String>(&user).is_ok());
        for (path, refused) in [
            ("/api/posts?page=0", StatusCode::UNPROCESSABLE_ENTITY),
            ("/api/posts?page=x", StatusCode::UNPROCESSABLE_ENTITY),
            ("/api/posts?limit=1000", StatusCode::UNPROCESSABLE_ENTITY),
            ("/api/users/1001/posts", StatusCode::NOT_FOUND),
            ("/api/users/me/posts", StatusCode::BAD_REQUEST),
        ] {
            assert_eq!(get_path(&app, path).await.0, refused, "{path}");
        }
    }
}
