//! Serde values and small helpers over any [`Cache`], and typed cache-aside reads over
//! [`CacheAside`].

use std::future::Future;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{Cache, CacheAside, CacheError, Lookup};

/// Serde values (stored as JSON, so other applications can read them) and the prefix and
/// warming helpers, over any [`Cache`] (`Arc<dyn Cache>` included).
///
/// ```
/// use perfkit_cache::{CacheAdmin, CacheExt, MemoryCache};
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let cache = MemoryCache::default();
/// cache.set_value("point", &(3, 4), None).await?;
/// assert_eq!(cache.get_value::<(i32, i32)>("point").await?, Some((3, 4)));
/// cache.set_with_pattern("user", "1", b"ada", None).await?;
/// assert_eq!(cache.warm(&[("user:2", b"bob"), ("user:3", b"eve")], None).await?, 2);
/// assert_eq!(cache.delete_pattern("user:").await?, 3);
/// # Ok::<_, perfkit_cache::CacheError>(())
/// # }).unwrap();
/// ```
pub trait CacheExt: Cache {
    /// The value at `key`, deserialized; `None` when missing.
    fn get_value<T: DeserializeOwned>(
        &self,
        key: &str,
    ) -> impl Future<Output = Result<Option<T>, CacheError>> + Send {
        async move {
            match self.get(key).await? {
                Some(bytes) => decode(key, &bytes).map(Some),
                None => Ok(None),
            }
        }
    }

    /// Stores `value` as JSON at `key` for `ttl`.
    fn set_value<T: Serialize + Sync>(
        &self,
        key: &str,
        value: &T,
        ttl: Option<Duration>,
    ) -> impl Future<Output = Result<(), CacheError>> + Send {
        async move {
            let bytes = encode(key, value)?;
            self.set(key, &bytes, ttl).await
        }
    }

    /// Stores `value` at `prefix:id`, so
    /// [`delete_pattern`](crate::CacheAdmin::delete_pattern)`(prefix)` can drop the whole
    /// group.
    fn set_with_pattern(
        &self,
        prefix: &str,
        id: &str,
        value: &[u8],
        ttl: Option<Duration>,
    ) -> impl Future<Output = Result<(), CacheError>> + Send {
        async move { self.set(&format!("{prefix}:{id}"), value, ttl).await }
    }

    /// Preloads entries (one `mset`); how many were written.
    fn warm(
        &self,
        entries: &[(&str, &[u8])],
        ttl: Option<Duration>,
    ) -> impl Future<Output = Result<u64, CacheError>> + Send {
        async move {
            self.mset(entries, ttl).await?;
            Ok(entries.len() as u64)
        }
    }
}

impl<C: Cache + ?Sized> CacheExt for C {}

impl CacheAside {
    /// [`get_or_compute`](Self::get_or_compute) for serde values (JSON): single-flight,
    /// fail-open, with how the value was found.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use perfkit_cache::{CacheAside, Lookup, MemoryCache};
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let loader = CacheAside::new(Arc::new(MemoryCache::default()));
    /// let (roles, lookup) = loader
    ///     .get_or_compute_value("user:1:roles", None, || async { Ok(vec!["admin".to_owned()]) })
    ///     .await?;
    /// assert_eq!((roles, lookup), (vec!["admin".to_owned()], Lookup::Computed));
    /// # Ok::<_, perfkit_cache::CacheError>(())
    /// # }).unwrap();
    /// ```
    ///
    /// # Errors
    /// As `get_or_compute`, plus [`CacheError::Serialize`] for a computed value that does not
    /// serialize and [`CacheError::Deserialize`] for a cached value of another type.
    pub async fn get_or_compute_value<T, F, Fut>(
        &self,
        key: &str,
        ttl: Option<Duration>,
        compute: F,
    ) -> Result<(T, Lookup), CacheError>
    where
        T: Serialize + DeserializeOwned,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, CacheError>>,
    {
        let (bytes, lookup) = self
            .get_or_compute(key, ttl, || async move {
                let value = compute().await?;
                encode(key, &value)
            })
            .await?;
        Ok((decode(key, &bytes)?, lookup))
    }
}

fn encode<T: Serialize + ?Sized>(key: &str, value: &T) -> Result<Vec<u8>, CacheError> {
    serde_json::to_vec(value)
        .map_err(|source| CacheError::Serialize { key: key.to_owned(), source })
}

fn decode<T: DeserializeOwned>(key: &str, bytes: &[u8]) -> Result<T, CacheError> {
    serde_json::from_slice(bytes)
        .map_err(|source| CacheError::Deserialize { key: key.to_owned(), source })
}
