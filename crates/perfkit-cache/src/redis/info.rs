//! Reads the server figures the stats report from Redis's `INFO` text; a field that does not
//! parse reads as 0 rather than failing the stats call.

use crate::RedisServerStats;

/// Reads the figures we report from the text of `INFO` (all default sections), for database
/// `db`.
pub(crate) fn parse_info(text: &str, db: u8) -> RedisServerStats {
    let mut stats = RedisServerStats { primaries: 1, ..RedisServerStats::default() };
    let db_prefix = format!("db{db}:");
    for line in text.lines() {
        let line = line.trim_end();
        if let Some(rest) = line.strip_prefix(&db_prefix) {
            stats.db_keys = rest
                .split(',')
                .find_map(|field| field.strip_prefix("keys="))
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            continue;
        }
        let Some((name, value)) = line.split_once(':') else { continue };
        let field = match name {
            "keyspace_hits" => &mut stats.keyspace_hits,
            "keyspace_misses" => &mut stats.keyspace_misses,
            "evicted_keys" => &mut stats.evicted_keys,
            "expired_keys" => &mut stats.expired_keys,
            "used_memory" => &mut stats.used_memory,
            "maxmemory" => &mut stats.maxmemory,
            _ => continue,
        };
        *field = value.parse().unwrap_or(0);
    }
    stats
}

impl RedisServerStats {
    /// Adds another primary's figures to these.
    pub(crate) fn add(&mut self, other: &RedisServerStats) {
        self.keyspace_hits += other.keyspace_hits;
        self.keyspace_misses += other.keyspace_misses;
        self.evicted_keys += other.evicted_keys;
        self.expired_keys += other.expired_keys;
        self.used_memory += other.used_memory;
        self.maxmemory += other.maxmemory;
        self.db_keys += other.db_keys;
        self.primaries += other.primaries;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_stats_memory_and_keyspace() {
        let info = "# Memory\r\nused_memory:1048576\r\nused_memory_human:1.00M\r\nmaxmemory:0\r\n\
                    # Stats\r\nkeyspace_hits:42\r\nkeyspace_misses:8\r\nevicted_keys:3\r\n\
                    expired_keys:5\r\n# Keyspace\r\ndb0:keys=17,expires=2,avg_ttl=0\r\n\
                    db1:keys=99,expires=0,avg_ttl=0\r\n";
        let stats = parse_info(info, 0);
        assert_eq!(
            stats,
            RedisServerStats {
                keyspace_hits: 42,
                keyspace_misses: 8,
                evicted_keys: 3,
                expired_keys: 5,
                used_memory: 1_048_576,
                maxmemory: 0,
                db_keys: 17,
                primaries: 1,
            }
        );
        assert_eq!(parse_info(info, 1).db_keys, 99);
        assert_eq!(parse_info(info, 2).db_keys, 0);
    }
}
