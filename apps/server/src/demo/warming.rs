//! Warming the demo's cache from its hottest keys: before the server serves (from the keys
//! the previous run saved in the data directory, so a restarted demo answers its hottest
//! pages from the cache at once) and after every `DELETE /cache` (perfkit calls
//! [`CacheWarmer::warm`], from the keys counted since start). The hottest keys are saved
//! every [`SAVE_EVERY`] and at shutdown, written whole to a temporary file and renamed, so
//! a crash leaves the previous list, never half of one. The figures are the [`HotKeys`]'.

use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use perfkit::cache::{CacheError, CacheWarmer, HotKey, HotKeys, WarmReason, WarmRun, WarmingStats};

use super::posts::CachedPosts;
use super::settings::HotSettings;

/// How often the hottest keys are saved: the service's collection interval by default.
pub(crate) const SAVE_EVERY: Duration = Duration::from_secs(30);
/// Keys counted for the TTL rule and warming: every page of the first few hundred and
/// every user's first pages at the usual limits fit.
const TRACKED_KEYS: usize = 20_000;
/// Keys saved between runs: more than are warmed, so a restarted instance's ranking keeps
/// the near-misses too.
const SAVED_KEYS: usize = 1_000;
/// The largest saved list read back: a bigger file is not ours.
const MAX_SAVED_BYTES: u64 = 1 << 20;

/// The demo's [`CacheWarmer`]: its hot-key table, and the data access that loads a key.
#[derive(Debug)]
pub(crate) struct DemoWarmer {
    hot: Arc<HotKeys>,
    /// Set once the routes are built (the service, built first, holds this warmer).
    posts: OnceLock<Arc<CachedPosts>>,
    settings: HotSettings,
}

impl DemoWarmer {
    /// A warmer whose table starts from the list saved at `settings.saved`, when there is a
    /// readable one (a missing file is a first start; an unreadable one is logged and the
    /// demo starts cold).
    pub(crate) fn new(settings: &HotSettings) -> Result<Arc<DemoWarmer>, CacheError> {
        let hot = Arc::new(HotKeys::new(TRACKED_KEYS, settings.window)?);
        match read_saved(&settings.saved) {
            Ok(saved) => hot.restore(&saved),
            Err(error) => {
                let file = settings.saved.display();
                tracing::warn!(%error, %file, "demo: saved hot keys not read; starting cold");
            }
        }
        Ok(Arc::new(DemoWarmer { hot, posts: OnceLock::new(), settings: settings.clone() }))
    }

    pub(crate) fn hot_keys(&self) -> Arc<HotKeys> {
        Arc::clone(&self.hot)
    }

    /// The data access warming loads through; the first call wins.
    pub(crate) fn serve(&self, posts: Arc<CachedPosts>) {
        let _ = self.posts.set(posts);
    }

    /// Writes the hottest keys to the saved file (whole, then renamed into place).
    pub(crate) fn save(&self) -> std::io::Result<()> {
        let keys = self.hot.hottest(SAVED_KEYS);
        let json = serde_json::to_vec(&keys).map_err(std::io::Error::other)?;
        if let Some(dir) = self.settings.saved.parent().filter(|dir| !dir.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let partial = self.settings.saved.with_extension("json.partial");
        std::fs::write(&partial, json)?;
        std::fs::rename(&partial, &self.settings.saved)
    }

    /// Saves every [`SAVE_EVERY`] until the task is aborted.
    pub(crate) fn spawn_saving(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let warmer = Arc::clone(self);
        tokio::spawn(async move {
            let mut every = tokio::time::interval(SAVE_EVERY);
            every.tick().await;
            loop {
                every.tick().await;
                if let Err(error) = warmer.save() {
                    tracing::warn!(%error, "demo: hot keys not saved");
                }
            }
        })
    }
}

/// The saved list at `path`; empty when there is none yet.
fn read_saved(path: &Path) -> std::io::Result<Vec<HotKey>> {
    let size = match std::fs::metadata(path) {
        Ok(metadata) => metadata.len(),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(error),
    };
    if size > MAX_SAVED_BYTES {
        return Err(std::io::Error::other(format!("{size} bytes, more than a saved list holds")));
    }
    let mut keys: Vec<HotKey> =
        serde_json::from_slice(&std::fs::read(path)?).map_err(std::io::Error::other)?;
    keys.truncate(SAVED_KEYS);
    Ok(keys)
}

#[async_trait]
impl CacheWarmer for DemoWarmer {
    async fn warm(&self, reason: WarmReason) -> Result<WarmRun, CacheError> {
        let Some(posts) = self.posts.get() else {
            return Err(CacheError::InvalidConfig("the demo's routes are not built yet".into()));
        };
        let mut warmed = Vec::new();
        let mut failed = 0;
        for HotKey { key, .. } in self.hot.hottest(self.settings.warm_keys) {
            match posts.warm(&key).await {
                Ok(true) => warmed.push(key),
                Ok(false) => {}
                Err(error) => {
                    failed += 1;
                    tracing::debug!(%error, key, "demo: a key was not warmed");
                }
            }
        }
        self.hot.mark_warmed(reason, &warmed, failed);
        self.hot.stats().last_run.ok_or_else(|| CacheError::InvalidConfig("no run recorded".into()))
    }

    fn figures(&self) -> WarmingStats {
        self.hot.stats()
    }
}

/// Before serving: warms from the saved keys (when warming is on and there are any) and
/// starts saving. The task it returns is given to [`after_serving`].
pub(crate) async fn before_serving(warmer: &Arc<DemoWarmer>) -> tokio::task::JoinHandle<()> {
    if warmer.settings.warm_keys > 0 && warmer.hot.stats().tracked_keys > 0 {
        match warmer.warm(WarmReason::Start).await {
            Ok(run) => tracing::info!(
                warmed = run.warmed,
                failed = run.failed,
                file = %warmer.settings.saved.display(),
                "demo: cache warmed from the hottest keys of the previous run"
            ),
            Err(error) => tracing::warn!(%error, "demo: cache not warmed at start-up"),
        }
    }
    warmer.spawn_saving()
}

/// After serving: stops the periodic save and saves once more, so the next start warms
/// what was hot until now.
pub(crate) fn after_serving(warmer: &DemoWarmer, saving: &tokio::task::JoinHandle<()>) {
    saving.abort();
    if let Err(error) = warmer.save() {
        tracing::warn!(%error, "demo: hot keys not saved at shutdown");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(dir: &Path) -> HotSettings {
        HotSettings {
            window: Duration::from_secs(3600),
            per_access: Duration::from_secs(60),
            max_ttl: Duration::from_secs(3600),
            warm_keys: 5,
            saved: dir.join("hot-keys.json"),
        }
    }

    #[test]
    fn the_hottest_keys_survive_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let first = DemoWarmer::new(&settings(dir.path())).unwrap();
        (0..3).for_each(|_| first.hot.record_read("demo:posts:page:2:limit:10", true));
        first.hot.record_read("demo:posts:page:9:limit:10", false);
        first.save().unwrap();
        let second = DemoWarmer::new(&settings(dir.path())).unwrap();
        let names: Vec<String> = second.hot.hottest(5).into_iter().map(|k| k.key).collect();
        assert_eq!(names, ["demo:posts:page:2:limit:10", "demo:posts:page:9:limit:10"]);
    }

    #[test]
    fn a_missing_or_broken_list_starts_cold() {
        let dir = tempfile::tempdir().unwrap();
        assert!(read_saved(&dir.path().join("none.json")).unwrap().is_empty());
        std::fs::write(dir.path().join("hot-keys.json"), b"{ not a list").unwrap();
        assert!(read_saved(&dir.path().join("hot-keys.json")).is_err());
        let warmer = DemoWarmer::new(&settings(dir.path())).unwrap();
        assert_eq!(warmer.figures().tracked_keys, 0);
    }
}
