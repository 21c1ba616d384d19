//! What the benches read from Redis: `INFO` fields (CPU time, memory, version), `INFO
//! commandstats` and the difference of two snapshots, and the lengths of a queue prefix's lanes
//! (apalis-redis keeps `<prefix>:<lane>:active` lists and `<prefix>:<lane>:scheduled` sets).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use anyhow::Context as _;
use redis::aio::MultiplexedConnection;
use serde::{Deserialize, Serialize};

/// sluice's lanes, in the order the summaries list them.
pub const LANES: [&str; 3] = ["high", "normal", "low"];

/// `INFO <section>` as key → value (`# Section` headers and blank lines skipped).
pub fn parse_info(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| l.trim_end_matches('\r').split_once(':'))
        .filter(|(k, _)| !k.starts_with('#'))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// Calls of one command and the µs Redis spent in them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct CallsUsec {
    pub calls: u64,
    pub usec: u64,
}

/// One `INFO commandstats` snapshot: command → (calls, usec) since Redis started.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CmdStats(pub BTreeMap<String, CallsUsec>);

impl CmdStats {
    /// Reads lines like `cmdstat_evalsha:calls=12,usec=340,usec_per_call=28.33,...`.
    pub fn parse(text: &str) -> CmdStats {
        let mut out = BTreeMap::new();
        for line in text.lines().map(|l| l.trim_end_matches('\r')) {
            let Some((name, fields)) = line
                .strip_prefix("cmdstat_")
                .and_then(|l| l.split_once(':'))
            else {
                continue;
            };
            let field = |key: &str| {
                fields
                    .split(',')
                    .filter_map(|kv| kv.split_once('='))
                    .find(|(k, _)| *k == key)
                    .and_then(|(_, v)| v.parse().ok())
                    .unwrap_or(0)
            };
            let stats = CallsUsec {
                calls: field("calls"),
                usec: field("usec"),
            };
            out.insert(name.to_owned(), stats);
        }
        CmdStats(out)
    }

    /// What ran between `before` and `self`: only commands called in between.
    pub fn since(&self, before: &CmdStats) -> BTreeMap<String, CallsUsec> {
        self.0
            .iter()
            .filter_map(|(name, after)| {
                let b = before.0.get(name).copied().unwrap_or_default();
                let calls = after.calls.saturating_sub(b.calls);
                (calls > 0).then(|| {
                    let usec = after.usec.saturating_sub(b.usec);
                    (name.clone(), CallsUsec { calls, usec })
                })
            })
            .collect()
    }
}

/// A lane's jobs: ready (`active` list) and waiting for their time (`scheduled` set).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct LaneCount {
    pub active: u64,
    pub scheduled: u64,
}

/// The three lanes' counts, in `LANES` order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct LaneCounts {
    pub high: LaneCount,
    pub normal: LaneCount,
    pub low: LaneCount,
}

impl LaneCounts {
    pub fn total(&self) -> u64 {
        [self.high, self.normal, self.low]
            .iter()
            .map(|l| l.active + l.scheduled)
            .sum()
    }
}

/// A connection to the Redis a bench measures.
#[derive(Clone)]
pub struct RedisProbe {
    conn: MultiplexedConnection,
}

impl RedisProbe {
    pub async fn connect(url: &str) -> anyhow::Result<RedisProbe> {
        let conn = redis::Client::open(url)
            .with_context(|| format!("Redis URL {url}"))?
            .get_multiplexed_async_connection()
            .await
            .with_context(|| format!("Redis at {url} does not answer"))?;
        Ok(RedisProbe { conn })
    }

    pub fn conn(&self) -> MultiplexedConnection {
        self.conn.clone()
    }

    pub async fn info(&self, section: &str) -> anyhow::Result<BTreeMap<String, String>> {
        let text: String = redis::cmd("INFO")
            .arg(section)
            .query_async(&mut self.conn())
            .await
            .with_context(|| format!("Redis INFO {section}"))?;
        Ok(parse_info(&text))
    }

    /// CPU seconds Redis has used (user + system, all its threads).
    pub async fn cpu_s(&self) -> anyhow::Result<f64> {
        let info = self.info("cpu").await?;
        let get = |k: &str| {
            info.get(k)
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        Ok(get("used_cpu_sys") + get("used_cpu_user"))
    }

    pub async fn used_memory(&self) -> anyhow::Result<i64> {
        let info = self.info("memory").await?;
        info.get("used_memory")
            .and_then(|v| v.parse().ok())
            .context("INFO memory has no used_memory")
    }

    pub async fn commandstats(&self) -> anyhow::Result<CmdStats> {
        let text: String = redis::cmd("INFO")
            .arg("commandstats")
            .query_async(&mut self.conn())
            .await
            .context("Redis INFO commandstats")?;
        Ok(CmdStats::parse(&text))
    }

    pub async fn lanes(&self, prefix: &str) -> anyhow::Result<LaneCounts> {
        let mut counts = [LaneCount::default(); 3];
        for (lane, count) in LANES.iter().zip(counts.iter_mut()) {
            let (active, scheduled): (u64, u64) = redis::pipe()
                .llen(format!("{prefix}:{lane}:active"))
                .zcard(format!("{prefix}:{lane}:scheduled"))
                .query_async(&mut self.conn())
                .await
                .context("reading the lanes' lengths")?;
            *count = LaneCount { active, scheduled };
        }
        let [high, normal, low] = counts;
        Ok(LaneCounts { high, normal, low })
    }

    /// Jobs queued under `prefix` (ready or scheduled, all lanes).
    pub async fn backlog(&self, prefix: &str) -> anyhow::Result<u64> {
        Ok(self.lanes(prefix).await?.total())
    }

    /// Deletes every key under `<prefix>:` (SCAN, then UNLINK what each step found).
    pub async fn drop_prefix(&self, prefix: &str) -> anyhow::Result<()> {
        let mut conn = self.conn();
        let mut cursor = 0u64;
        loop {
            let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(format!("{prefix}:*"))
                .arg("COUNT")
                .arg(10_000)
                .query_async(&mut conn)
                .await?;
            if !keys.is_empty() {
                let _: () = redis::cmd("UNLINK")
                    .arg(&keys)
                    .query_async(&mut conn)
                    .await?;
            }
            if next == 0 {
                return Ok(());
            }
            cursor = next;
        }
    }
}

/// A redis-server of the bench's own on a free port, without persistence (so that INFO figures
/// are the bench's alone), logging to `<out>/redis.log`: the process, its URL and a probe.
pub async fn private_redis(
    out: &Path,
) -> anyhow::Result<(super::child::Started, String, RedisProbe)> {
    let port = super::child::free_port()?.to_string();
    let mut cmd = tokio::process::Command::new("redis-server");
    cmd.args([
        "--port",
        &port,
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
    ]);
    let process = super::child::Started::spawn("redis", cmd, out)?;
    let url = format!("redis://127.0.0.1:{port}");
    for _ in 0..50 {
        if let Ok(probe) = RedisProbe::connect(&url).await {
            return Ok((process, url, probe));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::bail!(
        "redis-server did not start (log: {})",
        out.join("redis.log").display()
    )
}
