//! TEST-ONLY: a deliberate descriptor leak, compiled in only with the
//! `leak-stream-descriptors` feature (off by default, never in a release that ships). Each
//! live-stream request opens `/dev/null` and never closes it, so `cargo xtask soak --leaky`
//! can show that the soak check fails on a server that leaks one descriptor per client.

use axum::Router;
use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::Response;

/// `router` with the leak in front of it.
pub(crate) fn keep_stream_descriptors(router: Router) -> Router {
    router.layer(middleware::from_fn(leak_on_stream))
}

async fn leak_on_stream(request: Request, next: Next) -> Response {
    if request.uri().path().ends_with("/stream")
        && let Ok(file) = std::fs::File::open("/dev/null")
    {
        // The leak itself: the descriptor outlives the request and is never closed.
        std::mem::forget(file);
    }
    next.run(request).await
}
