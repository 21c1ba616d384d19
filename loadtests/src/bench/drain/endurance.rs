//! (e) Endurance: sluice-api at a fixed rate (wrk with the ingress benchmark's `update.lua`)
//! with one worker draining, on a Redis of its own by default (so `used_memory` is sluice's
//! alone): Redis memory, DBSIZE, api and worker RSS every few seconds, then what the
//! idempotency keys cost and what is left without them.

mod figures;
mod idempotency;
mod traffic;

use std::time::{Duration, Instant};

use sluice_shared::lanes::Lane;
use tokio::process::Command;

use super::{
    host::{self, PhaseWindow},
    metrics,
    procs::{self, Proc},
    redis_probe::Redis,
    session::{Bench, say},
};

pub use figures::EnduranceFigures;
use figures::{Bookkeeping, Readings, Sample, Three};

/// The processes of (e) and where they keep their queues.
struct Target<'a> {
    bench: &'a Bench,
    prefix: String,
    redis: Redis,
    api: Proc,
    worker: Proc,
    t0: Instant,
}

impl Target<'_> {
    /// One sample (after scraping both `/metrics`, as Prometheus would, when BENCH_SCRAPE=1).
    async fn sample(&self, seconds: f64) -> anyhow::Result<Sample> {
        let b = self.bench;
        if b.args.scrape {
            b.scrape(b.args.api_admin, None).await;
            b.scrape(b.worker_admin(0), None).await;
        }
        Ok(Sample {
            seconds,
            used_memory: self.redis.used_memory().await,
            dbsize: self.redis.dbsize().await,
            api_rss_kib: host::rss_kib(self.api.pid),
            worker_rss_kib: host::rss_kib(self.worker.pid),
            backlog: self.redis.backlog(&self.prefix).await,
            rows: b.db().count_rows(None).await?,
        })
    }

    fn elapsed(&self) -> f64 {
        (self.t0.elapsed().as_secs_f64() * 1000.0).round() / 1000.0
    }

    /// Finished jobs' data hash and done set entries left in the lanes.
    async fn bookkeeping(&self, vacuumed: f64) -> Bookkeeping {
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

fn write_file(bench: &Bench, name: &str, text: &str) {
    let _ = std::fs::write(bench.out.join(name), text);
}

pub async fn run(bench: &Bench) -> anyhow::Result<EnduranceFigures> {
    let a = &bench.args;
    say(&format!(
        "(e) endurance: sluice-api at {} req/s for {}s (update.lua), one worker, {} Redis",
        a.endurance_rate, a.endurance_s, a.endurance_redis
    ));
    bench.db().truncate().await?;
    let (own_redis, url) = match a.endurance_redis.as_str() {
        "private" => {
            let (p, url) = private_redis(bench).await?;
            (Some(p), url)
        }
        _ => (None, a.redis_url.clone()),
    };
    let prefix = format!("{}-end", bench.prefix);
    let api = bench.start_api(&prefix, &url).await?;
    let mut worker = bench.start_worker("worker-end", &prefix, 0, &url)?;
    procs::wait_ready(&bench.http, bench.worker_admin(0), &mut worker).await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let window = PhaseWindow::begin(bench.wait_quiet().await);
    let redis = Redis::connect(&url).await?;
    let t = Target {
        bench,
        prefix,
        redis,
        api,
        worker,
        t0: Instant::now(),
    };
    let mut samples = vec![t.sample(0.0).await?];
    let (mem0, db0, info0) = (
        t.redis.used_memory().await,
        t.redis.dbsize().await,
        t.redis.memory_json().await,
    );
    write_file(
        bench,
        "memory-stats-before.txt",
        &t.redis.memory_stats().await,
    );
    let keys_before = t.redis.keys_json(&t.prefix).await;
    let (wrk, command) = traffic::run(&t, &mut samples).await?;
    let accepted = wrk.requests.saturating_sub(wrk.non_2xx_3xx);
    // Let the worker finish the tail, then give the vacuum two intervals.
    for _ in 0..240 {
        if bench.db().count_rows(None).await? >= accepted {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    tokio::time::sleep(Duration::from_secs(12)).await;
    samples.push(t.sample(t.elapsed()).await?);
    let exposition = bench
        .scrape(bench.worker_admin(0), Some("metrics-endurance.txt"))
        .await;
    let machine = window.end();
    let (mem1, db1, info1) = (
        t.redis.used_memory().await,
        t.redis.dbsize().await,
        t.redis.memory_json().await,
    );
    let rows = bench.db().count_rows(None).await?;
    write_file(
        bench,
        "memory-stats-after.txt",
        &t.redis.memory_stats().await,
    );
    let bookkeeping = t
        .bookkeeping(metrics::sum(&exposition, "sluice_vacuumed_total", ""))
        .await;
    let keys = idempotency::measure_and_drop(&t.redis, &t.prefix).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (mem2, db2, info2) = (
        t.redis.used_memory().await,
        t.redis.dbsize().await,
        t.redis.memory_json().await,
    );
    write_file(
        bench,
        "memory-stats-dropped.txt",
        &t.redis.memory_stats().await,
    );
    // What is left of the prefix once the idempotency keys are gone (a handful of keys).
    let keys_left = t.redis.keys_json(&t.prefix).await;
    let Target {
        redis,
        prefix,
        api,
        worker,
        ..
    } = t;
    let log = worker.log.clone();
    worker.stop().await;
    api.stop().await;
    match own_redis {
        Some(p) => p.stop().await,
        None => redis.drop_keys(&format!("{prefix}:*")).await,
    }
    let samples_tsv: Vec<String> = samples.iter().map(Sample::tsv).collect();
    write_file(
        bench,
        "endurance.tsv",
        &format!("{}\n{}\n", figures::TSV_HEADER, samples_tsv.join("\n")),
    );
    let figures = EnduranceFigures::of(Readings {
        command,
        redis: a.endurance_redis.clone(),
        scrape: a.scrape,
        slow_statements: bench.slow_statements(&[log]),
        samples,
        wrk,
        rows,
        used_memory: Three {
            before: mem0,
            after: mem1,
            dropped: mem2,
        },
        dbsize: Three {
            before: db0,
            after: db1,
            dropped: db2,
        },
        info_memory: Three {
            before: info0,
            after: info1,
            dropped: info2,
        },
        keys_before,
        keys_left,
        idempotency_keys: keys.count,
        key_bytes: keys.bytes_each,
        ttl_left_s: keys.ttl_left_s,
        bookkeeping,
        machine,
    });
    report(&figures);
    bench.db().truncate().await?;
    Ok(figures)
}

fn report(f: &EnduranceFigures) {
    let (m, k) = (&f.used_memory_mb, &f.idempotency_keys);
    say(&format!(
        "(e) {} updates in {} requests ({:.0} req/s), {} lost; used_memory {} -> {} MB (max {}); {} bytes/update; idempotency keys {} x {} B; without them {} MB; worker RSS {} -> {} MB, api {} -> {} MB",
        f.accepted,
        f.wrk.requests,
        f.wrk.rps.floor(),
        f.lost,
        m.before,
        m.after,
        m.max,
        super::show::opt(f.growth_bytes_per_update),
        k.count,
        k.memory_usage_bytes_each,
        m.after_dropping_idempotency_keys,
        f.worker_rss_mb.before,
        f.worker_rss_mb.after,
        f.api_rss_mb.before,
        f.api_rss_mb.after
    ));
}

#[cfg(test)]
mod tests;
