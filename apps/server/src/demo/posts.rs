//! Cache-aside over the demo database: read the cache, and on a miss query the database once
//! (single-flight, so a stampede costs one query) and keep the answer for the read's TTL. A
//! write invalidates exactly the keys whose answers it changed. While the database is
//! unreachable its pools' breakers refuse queries at once, so a miss answers 503 without
//! waiting out the acquire timeout.

use std::sync::Arc;
use std::time::Duration;

use perfkit::cache::{Bytes, Cache, CacheAdmin, CacheAside, CacheError};
use perfkit_axum::ApiError;
use perfkit_sqlx::DbError;

use super::database::DemoDatabase;
use super::model::{NewPost, PostsPage};
use super::settings::Ttls;

/// Most posts one user may have: the write path is open, so the table stays bounded.
pub(crate) const MAX_POSTS_PER_USER: i64 = 1_000;
/// The prefix of every page key: a new post changes every page's `total`.
const PAGE_PREFIX: &str = "demo:posts:page:";

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
    admin: Arc<dyn CacheAdmin>,
    database: DemoDatabase,
    ttls: Ttls,
}

/// The prefix of every cached page of `user`'s posts: a new post of theirs changes them all.
fn user_prefix(user: i64) -> String {
    format!("demo:users:{user}:posts:")
}

fn user_page_key(user: i64, page: u32, limit: u32) -> String {
    format!("{}page:{page}:limit:{limit}", user_prefix(user))
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
    ) -> Self {
        CachedPosts { cache: CacheAside::new(cache), admin, database, ttls }
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
        let key = format!("{PAGE_PREFIX}{page}:limit:{limit}");
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
        let key = format!("{PAGE_PREFIX}total");
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
    /// cached for `ttl`. A hit is the cached bytes themselves (shared, not copied), sent on
    /// as the answer's body. `load` gives `None` for "no such thing", which is not cached.
    async fn cached(
        &self,
        key: &str,
        ttl: Duration,
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
        match self.cache.get_or_compute(key, Some(ttl), compute).await {
            Ok((value, lookup)) => Ok(Some((value, Lookup::from(lookup)))),
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
