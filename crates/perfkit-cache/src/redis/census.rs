//! The namespace count: how many keys perfkit's namespace holds in Redis, and how many bytes,
//! without counting any other application's keys in the same database.
//!
//! Redis keeps no per-prefix figures, so the cache counts for itself: `SCAN MATCH
//! <namespace>* COUNT <scan_batch>` over every primary (one after another on a cluster), at
//! most `count_pages_per_step` pages per refresh and one step per `count_interval`, so the
//! cost on the server is bounded however large the database is. Each page's first
//! `count_samples_per_page` keys (up to `memory_sample_limit` a pass) are measured with
//! `MEMORY USAGE`; bytes are their average times the keys. A finished pass replaces the
//! published figures; until the first one finishes, the pass so far is published, marked
//! incomplete. Keys written or expired since a page was read are missed until the next pass:
//! the figures are estimates, and say so (`CacheStats::estimated`, `CacheStats::count`).
//! Keys are counted per prefix in the same pass, through the cache's prefix table.

use std::sync::{Mutex, PoisonError};

use fred::prelude::{ClusterInterface, KeysInterface, MemoryInterface, Value};
use fred::types::Key;
use fred::types::config::Server;
use perfkit_core::Timestamp;

use super::RedisCache;
use crate::key_prefixes::{KeyTally, count_key};
use crate::{CacheError, NamespaceCount};

/// The figures of the latest finished pass (or of the first pass so far).
#[derive(Debug, Clone, Default)]
pub(crate) struct Counted {
    pub(crate) keys: u64,
    pub(crate) bytes: u64,
    pub(crate) count: Option<NamespaceCount>,
    pub(crate) tally: KeyTally,
}

/// A pass under way: where it is, and what it has counted so far.
#[derive(Debug, Default)]
struct Pass {
    /// The primaries to scan, in order; `None` for a server that is not a cluster.
    nodes: Vec<Option<Server>>,
    node: usize,
    cursor: String,
    keys: u64,
    sampled: u64,
    sampled_bytes: u64,
    tally: KeyTally,
    running: bool,
}

impl Pass {
    fn figures(&self, complete: bool, passes: u64) -> Counted {
        let bytes = if self.sampled == 0 {
            0
        } else {
            let average = u128::from(self.sampled_bytes) * u128::from(self.keys);
            u64::try_from(average / u128::from(self.sampled)).unwrap_or(u64::MAX)
        };
        Counted {
            keys: self.keys,
            bytes,
            count: Some(NamespaceCount {
                complete,
                passes,
                bytes_sampled: self.sampled,
                primaries: u32::try_from(self.nodes.len()).unwrap_or(u32::MAX),
            }),
            tally: self.tally.clone(),
        }
    }
}

/// One page of a node's `SCAN`, counted.
struct Page {
    cursor: String,
    keys: u64,
    sampled: u64,
    sampled_bytes: u64,
    tally: KeyTally,
}

/// The count of one application handle.
#[derive(Debug, Default)]
pub(crate) struct NamespaceCensus {
    pass: tokio::sync::Mutex<Pass>,
    published: Mutex<Counted>,
    last_step: Mutex<Option<Timestamp>>,
}

impl NamespaceCensus {
    /// The published figures.
    pub(crate) fn counted(&self) -> Counted {
        self.published.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// One bounded step of the count, unless the last step is less than `count_interval`
    /// ago or another caller is stepping now. A failed page ends the step; the pass resumes
    /// from it next time.
    pub(crate) async fn step(&self, cache: &RedisCache) {
        let config = cache.config();
        let now = cache.link.clock.now();
        {
            let mut last = self.last_step.lock().unwrap_or_else(PoisonError::into_inner);
            if last.is_some_and(|last| now.duration_since(last) < config.count_interval) {
                return;
            }
            *last = Some(now);
        }
        let Ok(mut pass) = self.pass.try_lock() else { return };
        for _ in 0..config.count_pages_per_step.max(1) {
            if !pass.running {
                let nodes = cache.primaries();
                if nodes.is_empty() {
                    return; // a cluster whose slots are not known yet
                }
                *pass = Pass { nodes, cursor: "0".to_owned(), running: true, ..Pass::default() };
            }
            let samples = config
                .memory_sample_limit
                .saturating_sub(pass.sampled)
                .min(u64::from(config.count_samples_per_page));
            let node = pass.nodes[pass.node].clone();
            let page = match cache.count_page(node, &pass.cursor, samples).await {
                Ok(page) => page,
                Err(error) => {
                    tracing::debug!(%error, "namespace count paused");
                    break;
                }
            };
            pass.keys += page.keys;
            pass.sampled += page.sampled;
            pass.sampled_bytes += page.sampled_bytes;
            for (bucket, n) in page.tally {
                *pass.tally.entry(bucket).or_default() += n;
            }
            pass.cursor = page.cursor;
            if pass.cursor == "0" {
                pass.node += 1;
                if pass.node == pass.nodes.len() {
                    let mut published =
                        self.published.lock().unwrap_or_else(PoisonError::into_inner);
                    let passes = published.count.as_ref().map_or(0, |c| c.passes) + 1;
                    *published = pass.figures(true, passes);
                    pass.running = false;
                    return;
                }
            }
        }
        let mut published = self.published.lock().unwrap_or_else(PoisonError::into_inner);
        if pass.running && !published.count.as_ref().is_some_and(|c| c.complete) {
            *published = pass.figures(false, 0);
        }
    }
}

impl RedisCache {
    /// The servers a pass scans: every primary of a cluster (none while its slots are not
    /// known), else the one server.
    fn primaries(&self) -> Vec<Option<Server>> {
        if !self.clustered() {
            return vec![None];
        }
        self.pool()
            .next()
            .cached_cluster_state()
            .map(|state| state.unique_primary_nodes().into_iter().map(Some).collect())
            .unwrap_or_default()
    }

    /// One `SCAN` page on `node` from `cursor`, its owned keys counted (per prefix too) and
    /// the first `samples` of them measured.
    async fn count_page(
        &self,
        node: Option<Server>,
        cursor: &str,
        samples: u64,
    ) -> Result<Page, CacheError> {
        let client = self.pool().next();
        let pattern = self.namespace.match_prefix("");
        let count = Some(self.config().scan_batch.max(1));
        let reply: Value = match node {
            Some(server) => {
                let on_node = client.with_cluster_node(server);
                self.call("SCAN", on_node.scan_page(cursor.to_owned(), pattern, count, None))
                    .await?
            }
            None => {
                self.call("SCAN", client.scan_page(cursor.to_owned(), pattern, count, None)).await?
            }
        };
        let (next, found) = scan_reply(reply).ok_or(CacheError::Backend {
            command: "SCAN",
            message: "unexpected reply".to_owned(),
        })?;
        let mut page =
            Page { cursor: next, keys: 0, sampled: 0, sampled_bytes: 0, tally: KeyTally::new() };
        let mut measured = Vec::new();
        for key in found {
            if !self.owns(&key) {
                continue;
            }
            page.keys += 1;
            let relative =
                String::from_utf8_lossy(&key.as_bytes()[self.namespace.as_str().len()..])
                    .into_owned();
            if self.prefixes.enabled() {
                count_key(&mut page.tally, self.prefixes.bucket(&relative));
            }
            if (measured.len() as u64) < samples {
                measured.push(key);
            }
        }
        if !measured.is_empty() {
            // Sent together: fred pipelines them on the connection (on a cluster, each to the
            // primary of its slot, which is the node just scanned).
            let usages =
                measured.into_iter().map(|key| client.memory_usage::<Option<u64>, _>(key, None));
            let usages = self.call("MEMORY USAGE", futures::future::try_join_all(usages)).await?;
            page.sampled = usages.len() as u64;
            page.sampled_bytes = usages.into_iter().map(|usage| usage.unwrap_or(0)).sum();
        }
        Ok(page)
    }
}

/// `[cursor, [key, ...]]`.
fn scan_reply(reply: Value) -> Option<(String, Vec<Key>)> {
    let Value::Array(mut parts) = reply else { return None };
    let Value::Array(keys) = parts.pop()? else { return None };
    let cursor = parts.pop()?.as_string()?;
    let keys = keys.into_iter().filter_map(|key| key.as_bytes().map(Key::from)).collect();
    Some((cursor, keys))
}
