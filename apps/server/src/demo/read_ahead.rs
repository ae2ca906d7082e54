//! Read-ahead: after a page is read from the slow source, the next page is loaded into the
//! cache in the background, through the server's job queue (a `WorkerPool` the optimizer
//! can scale and whose length is `job_queue_length` in the exposition). A full queue skips
//! the read-ahead: it is an optimization, never a duty.

use std::sync::Arc;

use perfkit::host::{HostError, WorkerPool};

use super::posts::CachedPosts;
use super::query::PAGES;

/// Queues the load of page `page + 1`, unless it is past the last page or the queue is full.
pub(crate) fn next_page(pool: &WorkerPool, posts: &Arc<CachedPosts>, page: u32, limit: u32) {
    let Some(next) = page.checked_add(1).filter(|next| PAGES.contains(next)) else { return };
    let posts = Arc::clone(posts);
    let job = async move {
        if let Err(error) = posts.page(next, limit).await {
            tracing::debug!(%error, page = next, "read-ahead failed");
        }
    };
    match pool.try_submit(job) {
        Ok(()) => {}
        Err(HostError::QueueFull { .. }) => {
            tracing::debug!(page = next, "read-ahead skipped: queue full");
        }
        Err(error) => tracing::debug!(%error, "read-ahead not queued"),
    }
}
