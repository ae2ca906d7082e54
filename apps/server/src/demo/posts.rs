//! Cache-aside over the slow source: read the cache, and on a miss query the source once
//! (single-flight, so a stampede costs one query) and keep the answer for `ttl`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use perfkit::cache::{Cache, CacheAside, CacheError};
use perfkit::metrics::Recorder;

use super::source::SlowSource;
use perfkit_axum::ApiError;

/// Whether an answer came from the cache (a caller that joined another's computation
/// missed too).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lookup {
    Hit,
    Miss,
}

impl From<perfkit::cache::Lookup> for Lookup {
    fn from(lookup: perfkit::cache::Lookup) -> Self {
        if lookup.is_hit() { Lookup::Hit } else { Lookup::Miss }
    }
}

impl Lookup {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Lookup::Hit => "hit",
            Lookup::Miss => "miss",
        }
    }
}

/// The demo's data access: JSON answers, cached.
pub(crate) struct CachedPosts {
    cache: CacheAside,
    recorder: Arc<Recorder>,
    source: SlowSource,
    ttl: Duration,
}

impl CachedPosts {
    pub(crate) fn new(
        cache: Arc<dyn Cache>,
        recorder: Arc<Recorder>,
        source: SlowSource,
        ttl: Duration,
    ) -> Self {
        CachedPosts { cache: CacheAside::new(cache), recorder, source, ttl }
    }

    /// One page of posts, as JSON.
    pub(crate) async fn page(&self, page: u32, limit: u32) -> Result<(Vec<u8>, Lookup), ApiError> {
        let source = self.source;
        let key = format!("demo:posts:page:{page}:limit:{limit}");
        self.cached(&key, "select_posts", async move {
            Ok(serde_json::to_vec(&source.posts_page(page, limit).await)?)
        })
        .await
    }

    /// A user's posts as JSON, or [`ApiError::NotFound`] for an unknown user.
    pub(crate) async fn user_posts(&self, user: u32) -> Result<(Vec<u8>, Lookup), ApiError> {
        let source = self.source;
        let key = format!("demo:users:{user}:posts");
        self.cached(&key, "select_user_posts", async move {
            match source.user_posts(user).await {
                Some(posts) => Ok(serde_json::to_vec(&posts)?),
                None => Err(format!("no user with id {user}").into()),
            }
        })
        .await
    }

    async fn cached(
        &self,
        key: &str,
        query_kind: &'static str,
        load: impl Future<Output = Result<Vec<u8>, perfkit::cache::BoxError>> + Send + 'static,
    ) -> Result<(Vec<u8>, Lookup), ApiError> {
        let compute = || async {
            let started = Instant::now();
            let loaded = load.await;
            self.recorder.record_db_query_kind(query_kind, started.elapsed());
            loaded.map_err(|source| CacheError::Compute { key: key.to_owned(), source })
        };
        let (value, lookup) = self
            .cache
            .get_or_compute(key, Some(self.ttl), compute)
            .await
            .map_err(|error| match error {
                CacheError::Compute { source, .. } => ApiError::NoSuchResource(source.to_string()),
                other => ApiError::Internal(other.to_string()),
            })?;
        let lookup = Lookup::from(lookup);
        Ok((value, lookup))
    }
}

#[cfg(test)]
mod tests {
    use perfkit::cache::{CacheAdmin, MemoryCache};

    use super::super::source::{Post, PostsPage};
    use super::*;

    fn posts() -> (CachedPosts, Arc<MemoryCache>) {
        let cache = Arc::new(MemoryCache::default());
        let store = CachedPosts::new(
            Arc::clone(&cache) as Arc<dyn Cache>,
            Arc::new(Recorder::default()),
            SlowSource::new(Duration::from_millis(50)),
            Duration::from_secs(60),
        );
        (store, cache)
    }

    #[tokio::test(start_paused = true)]
    async fn the_second_read_is_a_hit_that_skips_the_slow_source() {
        let (store, cache) = posts();
        let started = tokio::time::Instant::now();
        let (first, lookup) = store.page(2, 5).await.unwrap();
        assert_eq!((lookup, started.elapsed()), (Lookup::Miss, Duration::from_millis(50)));
        let (second, lookup) = store.page(2, 5).await.unwrap();
        assert_eq!((lookup, started.elapsed()), (Lookup::Hit, Duration::from_millis(50)));
        assert_eq!(first, second);
        let page: PostsPage = serde_json::from_slice(&second).unwrap();
        assert_eq!(page.posts.len(), 5);
        let stats = cache.stats().await;
        assert_eq!((stats.hits, stats.misses), (1, 1));
        assert!(cache.exists("demo:posts:page:2:limit:5").await.unwrap());
    }

    #[tokio::test(start_paused = true)]
    async fn records_the_source_query_and_the_cache_counts_its_reads() {
        let (store, cache) = posts();
        store.user_posts(3).await.unwrap();
        store.user_posts(3).await.unwrap();
        let app = store.recorder.snapshot();
        assert_eq!(app.database.queries, 1);
        assert_eq!(app.database.by_kind[0].kind, "select_user_posts");
        let stats = cache.stats().await;
        assert_eq!((stats.hits, stats.misses), (1, 1));
    }

    #[tokio::test(start_paused = true)]
    async fn an_unknown_user_is_not_found_and_nothing_is_cached() {
        let (store, cache) = posts();
        let error = store.user_posts(500).await.unwrap_err();
        assert_eq!(error.status(), 404);
        assert!(!cache.exists("demo:users:500:posts").await.unwrap());
        let (json, _) = store.user_posts(9).await.unwrap();
        let posts: Vec<Post> = serde_json::from_slice(&json).unwrap();
        assert!(posts.iter().all(|p| p.user_id == 9));
    }
}
