//! (e)'s processes: a private redis-server (unless BENCH_ENDURANCE_REDIS=shared), sluice-api and
//! one worker on it, and what is read from them: samples, Redis snapshots, finished-job
//! bookkeeping.

use std::{
    collections::BTreeMap,
    time::{Duration, Instant},
};

use sluice_shared::lanes::Lane;
use tokio::process::Command;

use super::figures::{Bookkeeping, Sample};
use crate::bench::drain::{
    host,
    procs::{self, Proc},
    redis_probe::Redis,
    session::Bench,
};

/// The processes of (e) and where they keep their queues.
pub struct Target<'a> {
    pub bench: &'a Bench,
    pub prefix: String,
    pub redis: Redis,
    api: Proc,
    worker: Proc,
    own_redis: Option<Proc>,
    pub t0: Instant,
}

/// Redis's memory at one moment.
pub struct Snapshot {
    pub used_memory: u64,
    pub dbsize: u64,
    pub info: BTreeMap<String, u64>,
}

/// A redis-server of our own, without persistence like the shared one.
async fn private_redis(bench: &Bench) -> anyhow::Result<(Proc, String)> {
    let port = bench.args.redis_port;
    let mut cmd = Command::new("redis-server");
    cmd.args([
        "--bind",
        "127.0.0.1",
        "--port",
        &port.to_string(),
        "--save",
        "",
    ])
    .args(["--appendonly", "no", "--protected-mode", "yes", "--dir"])
    .arg(&bench.out);
    let proc = procs::spawn(&bench.out, "redis-private", cmd)?;
    let url = format!("redis://127.0.0.1:{port}");
    for _ in 0..50 {
        if let Ok(r) = Redis::connect(&url).await
            && r.ping().await
        {
            return Ok((proc, url));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::bail!(
        "redis-server on port {port} did not answer: {}",
        proc.tail(5)
    )
}

impl<'a> Target<'a> {
    /// Redis, sluice-api and a ready worker, on `<prefix>-end`.
    pub async fn start(bench: &'a Bench) -> anyhow::Result<Target<'a>> {
        let (own_redis, url) = match bench.args.endurance_redis.as_str() {
            "private" => {
                let (p, url) = private_redis(bench).await?;
                (Some(p), url)
            }
            _ => (None, bench.args.redis_url.clone()),
        };
        let prefix = format!("{}-end", bench.prefix);
        let api = bench.start_api(&prefix, &url).await?;
        let mut worker = bench.start_worker("worker-end", &prefix, 0, &url)?;
        procs::wait_ready(bench.worker_admin(0), &mut worker).await?;
        let redis = Redis::connect(&url).await?;
        let t0 = Instant::now();
        Ok(Target {
            bench,
            prefix,
            redis,
            api,
            worker,
            own_redis,
            t0,
        })
    }

    /// One sample (after scraping both `/metrics`, as Prometheus would, when BENCH_SCRAPE=1).
    pub async fn sample(&self) -> anyhow::Result<Sample> {
        let b = self.bench;
        if b.args.scrape {
            b.scrape(b.args.api_admin, None).await;
            b.scrape(b.worker_admin(0), None).await;
        }
        Ok(Sample {
            seconds: self.elapsed(),
            used_memory: self.redis.used_memory().await,
            dbsize: self.redis.dbsize().await,
            api_rss_kib: host::rss_kib(self.api.pid()),
            worker_rss_kib: host::rss_kib(self.worker.pid()),
            backlog: self.redis.backlog(&self.prefix).await,
            rows: b.db().count_rows(None).await?,
        })
    }

    /// Seconds since the traffic's start, to the millisecond.
    pub fn elapsed(&self) -> f64 {
        (self.t0.elapsed().as_secs_f64() * 1000.0).round() / 1000.0
    }

    /// `used_memory`, DBSIZE and INFO memory now; MEMORY STATS to `<out>/<stats_file>`.
    pub async fn snapshot(&self, stats_file: &str) -> Snapshot {
        let _ = std::fs::write(
            self.bench.out.join(stats_file),
            self.redis.memory_stats().await,
        );
        Snapshot {
            used_memory: self.redis.used_memory().await,
            dbsize: self.redis.dbsize().await,
            info: self.redis.memory_json().await,
        }
    }

    /// Finished jobs' data hash and done set entries left in the lanes.
    pub async fn bookkeeping(&self, vacuumed: f64) -> Bookkeeping {
        let (mut data, mut done) = (0, 0);
        for lane in Lane::ALL {
            let queue = lane.queue_name(&self.prefix);
            data += self.redis.int("HLEN", &format!("{queue}:data")).await;
            done += self.redis.int("SCARD", &format!("{queue}:done")).await;
        }
        Bookkeeping {
            data_hash_entries: data as u64,
            done_set_entries: done as u64,
            vacuumed_total: vacuumed as u64,
        }
    }

    /// Stops the worker, the api and our redis-server (or deletes the prefix on the shared one);
    /// the worker's log, for its slow statements.
    pub async fn stop(self) -> std::path::PathBuf {
        let log = self.worker.log.clone();
        self.worker.stop().await;
        self.api.stop().await;
        match self.own_redis {
            Some(p) => p.stop().await,
            None => self.redis.drop_keys(&format!("{}:*", self.prefix)).await,
        }
        log
    }
}
