//! The host's routes, with perfkit's layer around them and one of perfkit's extractors in
//! a handler of the host's.

use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use perfkit_axum::{ApiError, ApiPath, RequestMetricsLayer};
use perfkit_metrics::Recorder;

/// The app: `/posts/{id}` and `/health`, every request recorded into `recorder`.
pub(crate) fn app(recorder: Arc<Recorder>) -> Router {
    Router::new()
        .route("/posts/{id}", get(post))
        .route("/health", get(|| async { "ok" }))
        .layer(RequestMetricsLayer::new(recorder))
}

/// A post by number; a path that is not a number is perfkit's JSON 400.
async fn post(ApiPath(id): ApiPath<u64>) -> Result<String, ApiError> {
    if id == 0 {
        return Err(ApiError::NoSuchResource("no post has id 0".to_owned()));
    }
    Ok(format!("post {id}"))
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use tower::ServiceExt;

    use super::*;

    async fn get_status(app: &Router, path: &str) -> StatusCode {
        let request = Request::get(path).body(Body::empty()).unwrap();
        app.clone().oneshot(request).await.unwrap().status()
    }

    #[tokio::test]
    async fn every_request_is_recorded_by_route_with_its_error_kind() {
        let recorder = Arc::new(Recorder::default());
        let app = app(Arc::clone(&recorder));
        assert_eq!(get_status(&app, "/posts/7").await, StatusCode::OK);
        assert_eq!(get_status(&app, "/posts/8").await, StatusCode::OK);
        assert_eq!(get_status(&app, "/posts/0").await, StatusCode::NOT_FOUND);
        assert_eq!(get_status(&app, "/posts/x").await, StatusCode::BAD_REQUEST);
        assert_eq!(get_status(&app, "/nowhere").await, StatusCode::NOT_FOUND);

        let metrics = recorder.snapshot();
        assert_eq!(metrics.requests.total, 5);
        let posts = metrics.routes.slowest.iter().find(|r| r.route == "/posts/{id}").unwrap();
        assert_eq!(posts.count, 4, "by template, never by raw path");
        assert!(metrics.routes.slowest.iter().any(|r| r.route == perfkit_axum::UNMATCHED_ROUTE));
        assert_eq!(metrics.errors.by_kind.get("not_found"), Some(&1));
        assert_eq!(metrics.errors.by_kind.get("invalid_query"), Some(&1), "the bad path");
    }
}
