use std::future::Future;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{Cache, CacheError, Compute};

/// Serde values over any [`Cache`], stored as JSON so other applications can read them.
///
/// ```
/// use perfkit_cache::{CacheExt, MemoryCache};
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let cache = MemoryCache::default();
/// cache.set_value("point", &(3, 4), None).await?;
/// assert_eq!(cache.get_value::<(i32, i32)>("point").await?, Some((3, 4)));
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

    /// [`get_or_compute`](Cache::get_or_compute) for serde values: single-flight, fail-open.
    fn get_or_compute_value<'a, T, F, Fut>(
        &'a self,
        key: &'a str,
        ttl: Option<Duration>,
        compute: F,
    ) -> impl Future<Output = Result<T, CacheError>> + Send + 'a
    where
        T: Serialize + DeserializeOwned + Send + 'a,
        F: FnOnce() -> Fut + Send + 'a,
        Fut: Future<Output = Result<T, CacheError>> + Send + 'a,
    {
        async move {
            let compute: Compute<'a> = Box::new(move || {
                Box::pin(async move {
                    let value = compute().await?;
                    encode(key, &value)
                })
            });
            let bytes = self.get_or_compute(key, ttl, compute).await?;
            decode(key, &bytes)
        }
    }
}

impl<C: Cache + ?Sized> CacheExt for C {}

fn encode<T: Serialize + ?Sized>(key: &str, value: &T) -> Result<Vec<u8>, CacheError> {
    serde_json::to_vec(value)
        .map_err(|source| CacheError::Serialize { key: key.to_owned(), source })
}

fn decode<T: DeserializeOwned>(key: &str, bytes: &[u8]) -> Result<T, CacheError> {
    serde_json::from_slice(bytes)
        .map_err(|source| CacheError::Deserialize { key: key.to_owned(), source })
}
