//! Cache-aside over the demo database: read the cache, and on a miss query the database once
//! (single-flight, so a stampede costs one query) and keep the answer for the read's TTL. A
//! write invalidates exactly the keys whose answers it changed. While the database is
//! unreachable its pools' breakers refuse queries at once, so a miss answers 503 without
//! waiting out the acquire timeout.
//!
//! The TTL is the guide's access-count rule: each answer's base TTL plus a minute (by
//! default) per read of its key in the last 24 h, at most an hour, so hot pages live longer
//! and cold ones leave soon. The reads are counted in the process ([`HotKeys`], no round
//! trip per read), which also names the keys warming loads ([`CachedPosts::warm`]).

use std::sync::Arc;
use std::time::Duration;

use perfkit::cache::{Bytes, Cache, CacheAdmin, CacheAside, CacheError, HotKeys, TtlPolicy};
use perfkit_axum::ApiError;
use perfkit_sqlx::DbError;

use super::database::DemoDatabase;
use super::keys::{self, DemoKey, PAGE_PREFIX, user_page_key, user_prefix};
use super::model::{NewPost, PostsPage};
use super::settings::{HotSettings, Ttls};

/// Most posts one user may have: the write path is open, so the table stays bounded.
pub(crate) const MAX_POSTS_PER_USER: i64 = 1_000;

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
    /// The same cache, for warming's writes (no read counted).
    store: Arc<dyn Cache>,
    admin: Arc<dyn CacheAdmin>,
    database: DemoDatabase,
    ttls: Ttls,
    hot: Arc<HotKeys>,
    rule: HotSettings,
}

impl std::fmt::Debug for CachedPosts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedPosts").field("ttls", &self.ttls).finish_non_exhaustive()
    }
}

/// Why a key could not be warmed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum WarmError {
    #[error("the database: {0}")]
    Database(#[from] DbError),
    #[error("the cache: {0}")]
    Cache(#[from] CacheError),
    #[error("the answer did not serialize: {0}")]
    Json(#[from] serde_json::Error),
}

fn database_error(error: DbError) -> perfkit::cache::BoxError {
    Box::new(error)
}

impl CachedPosts {
    pub(crate) fn new(
        cache: Arc<dyn Cache>,
        admin: Arc<dyn CacheAdmin>,
        database: DemoDatabase,
        ttls: Ttls,
        (hot, rule): (Arc<HotKeys>, HotSettings),
    ) -> Self {
        CachedPosts {
            cache: CacheAside::new(Arc::clone(&cache)),
            store: cache,
            admin,
            database,
            ttls,
            hot,
            rule,
        }
    }

    /// The TTL `key` deserves now: `base` plus the rule's time per read counted, capped.
    fn ttl_for(&self, key: &str, base: Duration) -> Duration {
        let policy = TtlPolicy {
            base,
            per_access: self.rule.per_access,
            max: self.rule.max_ttl,
            window: self.rule.window,
        };
        policy.ttl_for(self.hot.accesses(key))
    }

    /// Loads the answer `key` names from the database into the cache, as a miss would but
    /// without reading the cache (so warming is no read in the figures). `Ok(false)`: not a
    /// key the demo makes, or a user that does not exist.
    pub(crate) async fn warm(&self, key: &str) -> Result<bool, WarmError> {
        let (json, base) = match keys::parse(key) {
            Some(DemoKey::Page { page, limit }) => {
                let total = self.database.count_posts().await?;
                let posts = self.database.posts_page(page, limit).await?;
                (serde_json::to_vec(&PostsPage { page, limit, total, posts })?, self.ttls.page)
            }
            Some(DemoKey::UserPosts { user, page, limit }) => {
                match self.database.user_posts(user, page, limit).await? {
                    Some(posts) => (serde_json::to_vec(&posts)?, self.ttls.user_posts),
                    None => return Ok(false),
                }
            }
            None => return Ok(false),
        };
        self.store.set(key, &json, Some(self.ttl_for(key, base))).await?;
        Ok(true)
    }

    /// One page of posts, as JSON. The total every page carries is cached on its own (under
    /// the pages' prefix, so a write invalidates it with them) and read only on a page miss:
    /// a hit is one cache read, and a miss one statement, not a count of the whole table too.
    pub(crate) async fn page(
        self: &Arc<Self>,
        page: u32,
        limit: u32,
    ) -> Result<(Bytes, Lookup), ApiError> {
        let this = Arc::clone(self);
        let key = keys::page_key(page, limit);
        self.cached(&key, self.ttls.page, async move {
            let total = this.total().await?;
            let posts = this.database.posts_page(page, limit).await.map_err(database_error)?;
            Ok(Some(serde_json::to_vec(&PostsPage { page, limit, total, posts })?))
        })
        .await?
        .ok_or_else(|| ApiError::Internal("a page read found nothing".to_owned()))
    }

    /// The number of posts, cached like a page. A database failure comes back as itself, so
    /// the page that needed it answers as [`database_failure`] says.
    async fn total(&self) -> Result<i64, perfkit::cache::BoxError> {
        let database = self.database.clone();
        let key = keys::total_key();
        let compute = || async {
            let total = database.count_posts().await;
            let total = total.map_err(|source| CacheError::Compute {
                key: key.clone(),
                source: database_error(source),
            })?;
            serde_json::to_vec(&total).map_err(|source| CacheError::Compute {
                key: key.clone(),
                source: Box::new(source),
            })
        };
        match self.cache.get_or_compute(&key, Some(self.ttls.page), compute).await {
            Ok((json, _)) => Ok(serde_json::from_slice(&json)?),
            Err(CacheError::Compute { source, .. }) => Err(source),
            Err(other) => Err(Box::new(other)),
        }
    }

    /// One page of a user's posts as a JSON array, or [`ApiError::NoSuchResource`] for an
    /// unknown user.
    pub(crate) async fn user_posts(
        &self,
        user: i64,
        page: u32,
        limit: u32,
    ) -> Result<(Bytes, Lookup), ApiError> {
        let database = self.database.clone();
        self.cached(&user_page_key(user, page, limit), self.ttls.user_posts, async move {
            match database.user_posts(user, page, limit).await.map_err(database_error)? {
                Some(posts) => Ok(Some(serde_json::to_vec(&posts)?)),
                None => Ok(None),
            }
        })
        .await?
        .ok_or_else(|| ApiError::NoSuchResource(format!("no user with id {user}")))
    }

    /// Adds a post by `user` and invalidates the answers it changes: every page of that
    /// user's posts and every page of all posts (each carries the total). Returns the new post's id.
    pub(crate) async fn add_post(
        &self,
        user: i64,
        post: &NewPost,
        at: i64,
    ) -> Result<i64, ApiError> {
        let count =
            self.database.count_user_posts(user).await.map_err(|error| database_failure(&error))?;
        if count >= MAX_POSTS_PER_USER {
            return Err(ApiError::Status {
                status: axum::http::StatusCode::CONFLICT,
                message: format!(
                    "user {user} has the most posts the demo keeps ({MAX_POSTS_PER_USER})"
                ),
            });
        }
        let id = self
            .database
            .add_post(user, &post.title, &post.body, at)
            .await
            .map_err(|error| database_failure(&error))?;
        // Invalidate after the write: a reader between the two sees the old answer at most
        // until here, never after.
        let invalidated = async {
            self.admin.delete_pattern(&user_prefix(user)).await?;
            self.admin.delete_pattern(PAGE_PREFIX).await
        };
        if let Err(error) = invalidated.await {
            // The post is stored; stale answers expire with their TTL.
            tracing::warn!(%error, user, "demo: could not invalidate cached answers after a write");
        }
        Ok(id)
    }

    /// The answer for `key`: from the cache, or from `load` (once for concurrent misses),
    /// cached for the TTL the rule gives `base` and the key's reads. A hit is the cached
    /// bytes themselves (shared, not copied), sent on as the answer's body. `load` gives
    /// `None` for "no such thing", which is not cached. Every answered read is counted.
    async fn cached(
        &self,
        key: &str,
        base: Duration,
        load: impl Future<Output = Result<Option<Vec<u8>>, perfkit::cache::BoxError>> + Send + 'static,
    ) -> Result<Option<(Bytes, Lookup)>, ApiError> {
        const ABSENT: &str = "absent";
        let compute = || async {
            match load.await {
                Ok(Some(value)) => Ok(value),
                Ok(None) => Err(CacheError::Compute { key: key.to_owned(), source: ABSENT.into() }),
                Err(source) => Err(CacheError::Compute { key: key.to_owned(), source }),
            }
        };
        let ttl = self.ttl_for(key, base);
        match self.cache.get_or_compute(key, Some(ttl), compute).await {
            Ok((value, lookup)) => {
                self.hot.record_read(key, lookup.is_hit());
                Ok(Some((value, Lookup::from(lookup))))
            }
            Err(CacheError::Compute { source, .. }) if source.to_string() == ABSENT => Ok(None),
            Err(CacheError::Compute { source, .. }) => match source.downcast_ref::<DbError>() {
                Some(error) => Err(database_failure(error)),
                None => Err(ApiError::Internal(source.to_string())),
            },
            Err(error) => Err(ApiError::Internal(error.to_string())),
        }
    }
}

/// A database that cannot be reached (stopped, restarting, its pool exhausted past the acquire
/// timeout, its breaker open) is a 503 the client may retry; anything else the database says
/// is a 500.
fn database_failure(error: &DbError) -> ApiError {
    if error.is_unavailable() {
        ApiError::Unavailable(format!("the demo database is not answering: {error}"))
    } else {
        ApiError::Internal(error.to_string())
    }
}
