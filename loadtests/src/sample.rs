//! What the run watches besides its own requests, once a second: sluice's queue depth from the
//! metrics endpoint, the resident memory of watched processes, Redis memory, and Postgres
//! sessions waiting on a lock.

use std::collections::BTreeMap;
use std::time::Duration;

use sqlx::PgPool;

use crate::dbsnap::{WaitTally, lock_waiters};

/// One second's readings; a source that is not configured or did not answer stays empty.
#[derive(Debug, Clone, Default)]
pub struct Sample {
    pub queue_depth: BTreeMap<String, f64>,
    pub rss_bytes: BTreeMap<String, u64>,
    pub redis_used_memory: Option<u64>,
    pub lock_waits: Option<u64>,
    /// Distinct lock waits seen since the sampler started.
    pub lock_waits_seen: Option<u64>,
}

pub struct Sampler {
    http: reqwest::Client,
    metrics_url: Option<String>,
    watch: Vec<(String, u32)>,
    redis: Option<redis::aio::MultiplexedConnection>,
    db: Option<PgPool>,
    /// Postgres keeps no cumulative counter of lock waits: the run counts the distinct waits it
    /// observes.
    waits: WaitTally,
}

impl Sampler {
    pub async fn new(
        metrics_url: Option<String>,
        watch: Vec<(String, u32)>,
        redis_url: Option<&str>,
        db: Option<PgPool>,
    ) -> anyhow::Result<Sampler> {
        let redis = match redis_url {
            Some(url) => Some(
                redis::Client::open(url)?
                    .get_multiplexed_async_connection()
                    .await?,
            ),
            None => None,
        };
        Ok(Sampler {
            http: reqwest::Client::builder()
                .timeout(Duration::from_millis(800))
                .build()?,
            metrics_url,
            watch,
            redis,
            db,
            waits: WaitTally::default(),
        })
    }

    /// Distinct lock waits seen so far (None when Postgres is not watched).
    pub fn lock_waits_seen(&self) -> Option<u64> {
        self.db.as_ref().map(|_| self.waits.count() as u64)
    }

    pub async fn sample(&mut self) -> Sample {
        let (queue_depth, redis_used_memory, lock_rows) = tokio::join!(
            queue_depth(&self.http, self.metrics_url.as_deref()),
            redis_memory(&mut self.redis),
            async {
                match self.db.as_ref() {
                    Some(db) => lock_waiters(db).await.ok(),
                    None => None,
                }
            }
        );
        let lock_waits = lock_rows.map(|rows| {
            self.waits.observe(&rows);
            rows.len() as u64
        });
        let rss_bytes = self
            .watch
            .iter()
            .filter_map(|(name, pid)| rss(*pid).map(|b| (name.clone(), b)))
            .collect();
        Sample {
            queue_depth,
            rss_bytes,
            redis_used_memory,
            lock_waits,
            lock_waits_seen: self.lock_waits_seen(),
        }
    }
}

async fn queue_depth(http: &reqwest::Client, url: Option<&str>) -> BTreeMap<String, f64> {
    let Some(url) = url else {
        return BTreeMap::new();
    };
    match http.get(url).send().await {
        Ok(r) => match r.text().await {
            Ok(text) => parse_queue_depth(&text),
            Err(_) => BTreeMap::new(),
        },
        Err(_) => BTreeMap::new(),
    }
}

/// `sluice_queue_depth{lane="normal",state="pending"} 12` → `"normal:pending" -> 12`.
pub fn parse_queue_depth(exposition: &str) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for line in exposition.lines() {
        let Some(rest) = line.strip_prefix("sluice_queue_depth{") else {
            continue;
        };
        let Some((labels, value)) = rest.split_once('}') else {
            continue;
        };
        let label = |name: &str| {
            labels.split(',').find_map(|kv| {
                let (k, v) = kv.split_once('=')?;
                (k.trim() == name).then(|| v.trim().trim_matches('"').to_owned())
            })
        };
        if let (Some(lane), Some(state), Ok(v)) =
            (label("lane"), label("state"), value.trim().parse::<f64>())
        {
            out.insert(format!("{lane}:{state}"), v);
        }
    }
    out
}

/// Resident set size of `pid` from /proc (Linux), bytes.
pub fn rss(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

async fn redis_memory(conn: &mut Option<redis::aio::MultiplexedConnection>) -> Option<u64> {
    let conn = conn.as_mut()?;
    let info: String = redis::cmd("INFO")
        .arg("memory")
        .query_async(conn)
        .await
        .ok()?;
    info.lines()
        .find_map(|l| l.strip_prefix("used_memory:"))
        .and_then(|v| v.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_queue_depth_from_an_exposition() {
        let text = "# HELP sluice_queue_depth Jobs\n# TYPE sluice_queue_depth gauge\n\
            sluice_queue_depth{lane=\"high\",state=\"pending\"} 3\n\
            sluice_queue_depth{state=\"inflight\",lane=\"low\"} 12.5\n\
            sluice_queue_oldest_age_seconds{lane=\"high\"} 1\n";
        let d = parse_queue_depth(text);
        assert_eq!(d.len(), 2);
        assert_eq!(d["high:pending"], 3.0);
        assert_eq!(d["low:inflight"], 12.5);
    }

    #[test]
    fn reads_our_own_rss() {
        let bytes = rss(std::process::id()).unwrap();
        assert!(bytes > 1024 * 1024, "{bytes}");
    }
}
