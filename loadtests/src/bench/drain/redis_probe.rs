//! What the benchmark reads from (and deletes in) Redis: queued jobs per prefix, `INFO` fields,
//! key sizes, and the clean-up of its own prefixes (SCAN + UNLINK, never KEYS: the Redis is
//! shared).

use std::collections::BTreeMap;

use redis::aio::MultiplexedConnection;
use serde::{Deserialize, Serialize};
use sluice_shared::lanes::Lane;

/// The parts of `INFO memory` that say where Redis's memory is.
const MEMORY_FIELDS: [&str; 7] = [
    "used_memory",
    "used_memory_dataset",
    "used_memory_overhead",
    "used_memory_startup",
    "used_memory_vm_eval",
    "used_memory_scripts",
    "mem_clients_normal",
];

/// apalis-redis registers every queue in this global sorted set.
const QUEUE_LIST: &str = "core:apalis:queues:list";

/// A key's type and `MEMORY USAGE`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct KeyInfo {
    #[serde(rename = "type")]
    pub kind: String,
    pub bytes: u64,
}

/// One Redis server.
#[derive(Clone)]
pub struct Redis {
    conn: MultiplexedConnection,
}

/// `field` of an `INFO` text.
pub fn info_field(info: &str, field: &str) -> Option<String> {
    info.lines().find_map(|l| {
        let (k, v) = l.trim_end().split_once(':')?;
        (k == field).then(|| v.to_owned())
    })
}

/// The [`MEMORY_FIELDS`] of an `INFO memory` text.
pub fn memory_fields(info: &str) -> BTreeMap<String, u64> {
    MEMORY_FIELDS
        .iter()
        .filter_map(|f| Some((f.to_string(), info_field(info, f)?.parse().ok()?)))
        .collect()
}

impl Redis {
    pub async fn connect(url: &str) -> anyhow::Result<Redis> {
        let conn = redis::Client::open(url)?
            .get_multiplexed_async_connection()
            .await?;
        Ok(Redis { conn })
    }

    async fn query<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> redis::RedisResult<T> {
        cmd.query_async(&mut self.conn.clone()).await
    }

    pub async fn info(&self, section: &str) -> String {
        self.query(redis::cmd("INFO").arg(section))
            .await
            .unwrap_or_default()
    }

    /// `field` of `INFO <section>`, as a number (0 when missing).
    pub async fn info_number(&self, section: &str, field: &str) -> f64 {
        info_field(&self.info(section).await, field)
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0)
    }

    /// CPU seconds Redis has used (user + system).
    pub async fn cpu_s(&self) -> f64 {
        let info = self.info("cpu").await;
        ["used_cpu_user", "used_cpu_sys"]
            .iter()
            .filter_map(|f| info_field(&info, f)?.parse::<f64>().ok())
            .sum()
    }

    pub async fn used_memory(&self) -> u64 {
        self.info_number("memory", "used_memory").await as u64
    }

    pub async fn memory_json(&self) -> BTreeMap<String, u64> {
        memory_fields(&self.info("memory").await)
    }

    /// `MEMORY STATS` as text, for the phase's directory.
    pub async fn memory_stats(&self) -> String {
        match self
            .query::<redis::Value>(&redis::cmd("MEMORY").arg("STATS").clone())
            .await
        {
            Ok(v) => format!("{v:?}\n"),
            Err(e) => format!("{e}\n"),
        }
    }

    /// A one-word command with one argument that answers an integer (0 on error).
    pub async fn int(&self, name: &str, key: &str) -> i64 {
        self.query(redis::cmd(name).arg(key)).await.unwrap_or(0)
    }

    pub async fn dbsize(&self) -> u64 {
        self.query(&redis::cmd("DBSIZE")).await.unwrap_or(0)
    }

    pub async fn memory_usage(&self, key: &str) -> u64 {
        let cmd = redis::cmd("MEMORY")
            .arg("USAGE")
            .arg(key)
            .arg("SAMPLES")
            .arg(0)
            .clone();
        self.query::<Option<u64>>(&cmd)
            .await
            .ok()
            .flatten()
            .unwrap_or(0)
    }

    /// Jobs waiting under `prefix`: the lanes' active lists and scheduled sets.
    pub async fn backlog(&self, prefix: &str) -> u64 {
        let mut n = 0;
        for lane in Lane::ALL {
            let queue = lane.queue_name(prefix);
            n += self.int("LLEN", &format!("{queue}:active")).await;
            n += self.int("ZCARD", &format!("{queue}:scheduled")).await;
        }
        n as u64
    }

    /// Every key matching `pattern` (SCAN), up to `limit`.
    pub async fn scan(&self, pattern: &str, limit: usize) -> Vec<String> {
        let (mut cursor, mut keys) = (0u64, Vec::new());
        loop {
            let cmd = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(pattern)
                .arg("COUNT")
                .arg(1000)
                .clone();
            let Ok((next, batch)) = self.query::<(u64, Vec<String>)>(&cmd).await else {
                return keys;
            };
            keys.extend(batch);
            cursor = next;
            if cursor == 0 || keys.len() >= limit {
                keys.truncate(limit);
                return keys;
            }
        }
    }

    pub async fn unlink(&self, keys: &[String]) {
        for chunk in keys.chunks(1000) {
            let _: redis::RedisResult<u64> = self.query(redis::cmd("UNLINK").arg(chunk)).await;
        }
    }

    /// Type and size of the first 50 keys under `prefix`, named without the prefix.
    pub async fn keys_json(&self, prefix: &str) -> BTreeMap<String, KeyInfo> {
        let mut out = BTreeMap::new();
        for key in self.scan(&format!("{prefix}:*"), 50).await {
            let kind: String = self
                .query(redis::cmd("TYPE").arg(&key))
                .await
                .unwrap_or_default();
            let bytes = self.memory_usage(&key).await;
            let name = key
                .strip_prefix(&format!("{prefix}:"))
                .unwrap_or(&key)
                .to_owned();
            out.insert(name, KeyInfo { kind, bytes });
        }
        out
    }

    /// Deletes every key matching `pattern`.
    pub async fn drop_keys(&self, pattern: &str) {
        let keys = self.scan(pattern, usize::MAX).await;
        self.unlink(&keys).await;
    }

    /// Removes the queues whose names contain `needle` from apalis's global queue list.
    pub async fn drop_queue_registrations(&self, needle: &str) {
        let all: Vec<String> = self
            .query(redis::cmd("ZRANGE").arg(QUEUE_LIST).arg(0).arg(-1))
            .await
            .unwrap_or_default();
        let ours: Vec<&String> = all.iter().filter(|q| q.contains(needle)).collect();
        if !ours.is_empty() {
            let _: redis::RedisResult<u64> = self
                .query(redis::cmd("ZREM").arg(QUEUE_LIST).arg(ours))
                .await;
        }
    }

    pub async fn ping(&self) -> bool {
        self.query::<String>(&redis::cmd("PING"))
            .await
            .is_ok_and(|p| p == "PONG")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INFO: &str = "# Memory\r\nused_memory:1441712\r\nused_memory_human:1.37M\r\n\
        used_memory_dataset:512336\r\nused_memory_scripts:7256\r\n";

    #[test]
    fn reads_info_fields() {
        assert_eq!(info_field(INFO, "used_memory").as_deref(), Some("1441712"));
        assert_eq!(info_field(INFO, "used_memory_rss"), None);
        let m = memory_fields(INFO);
        assert_eq!(m.len(), 3);
        assert_eq!(m["used_memory_scripts"], 7256);
    }

    #[tokio::test]
    async fn counts_and_drops_a_prefix_on_a_real_redis() {
        let url =
            std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
        let r = Redis::connect(&url).await.expect("TEST_REDIS_URL answers");
        let prefix = format!("drain-probe-test-{}", ulid::Ulid::generate());
        let _: () = r
            .query(
                redis::cmd("RPUSH")
                    .arg(format!("{prefix}:high:active"))
                    .arg(&["a", "b"]),
            )
            .await
            .unwrap();
        let _: () = r
            .query(
                redis::cmd("ZADD")
                    .arg(format!("{prefix}:low:scheduled"))
                    .arg(1)
                    .arg("c"),
            )
            .await
            .unwrap();
        assert_eq!(r.backlog(&prefix).await, 3);
        let keys = r.keys_json(&prefix).await;
        assert_eq!(keys["high:active"].kind, "list");
        assert!(keys["low:scheduled"].bytes > 0);
        r.drop_keys(&format!("{prefix}:*")).await;
        assert_eq!(r.backlog(&prefix).await, 0);
        assert!(r.scan(&format!("{prefix}:*"), 10).await.is_empty());
    }
}
