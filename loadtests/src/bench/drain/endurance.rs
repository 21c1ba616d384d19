//! (e) Endurance: sluice-api at a fixed rate (wrk with the ingress benchmark's `update.lua`)
//! with one worker draining, on a Redis of its own by default (so `used_memory` is sluice's
//! alone): Redis memory, DBSIZE, api and worker RSS every few seconds, then what the
//! idempotency keys cost and what is left without them.

mod figures;
mod idempotency;
mod target;
mod traffic;

use std::time::{Duration, Instant};

use super::{
    host::PhaseWindow,
    metrics,
    session::{Bench, say},
};

pub use figures::EnduranceFigures;
use figures::{Readings, Sample, Three};
use target::Target;

/// Waits for the worker to write every accepted update (up to 2 min), then two vacuum intervals.
async fn let_the_tail_drain(bench: &Bench, accepted: u64) -> anyhow::Result<()> {
    for _ in 0..240 {
        if bench.db().count_rows(None).await? >= accepted {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    tokio::time::sleep(Duration::from_secs(12)).await;
    Ok(())
}

fn write_samples(bench: &Bench, samples: &[Sample]) {
    let lines: Vec<String> = samples.iter().map(Sample::tsv).collect();
    let text = format!("{}\n{}\n", figures::TSV_HEADER, lines.join("\n"));
    let _ = std::fs::write(bench.out.join("endurance.tsv"), text);
}

pub async fn run(bench: &Bench) -> anyhow::Result<EnduranceFigures> {
    let a = &bench.args;
    say(&format!(
        "(e) endurance: sluice-api at {} req/s for {}s (update.lua), one worker, {} Redis",
        a.endurance_rate, a.endurance_s, a.endurance_redis
    ));
    bench.db().truncate().await?;
    let mut t = Target::start(bench).await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let window = PhaseWindow::begin(bench.wait_quiet().await);
    t.t0 = Instant::now();
    let mut samples = vec![t.sample().await?];
    let before = t.snapshot("memory-stats-before.txt").await;
    let keys_before = t.redis.keys_json(&t.prefix).await;
    let (wrk, command) = traffic::run(&t, &mut samples).await?;
    let_the_tail_drain(bench, wrk.requests.saturating_sub(wrk.non_2xx_3xx)).await?;
    samples.push(t.sample().await?);
    let exposition = bench
        .scrape(bench.worker_admin(0), Some("metrics-endurance.txt"))
        .await;
    let machine = window.end();
    let after = t.snapshot("memory-stats-after.txt").await;
    let rows = bench.db().count_rows(None).await?;
    let bookkeeping = t
        .bookkeeping(metrics::sum(&exposition, "sluice_vacuumed_total", ""))
        .await;
    let keys = idempotency::measure_and_drop(&t.redis, &t.prefix).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let dropped = t.snapshot("memory-stats-dropped.txt").await;
    // What is left of the prefix once the idempotency keys are gone (a handful of keys).
    let keys_left = t.redis.keys_json(&t.prefix).await;
    let log = t.stop().await;
    write_samples(bench, &samples);
    let figures = EnduranceFigures::of(Readings {
        command,
        redis: a.endurance_redis.clone(),
        scrape: a.scrape,
        slow_statements: bench.slow_statements(&[log]),
        samples,
        wrk,
        rows,
        used_memory: Three {
            before: before.used_memory,
            after: after.used_memory,
            dropped: dropped.used_memory,
        },
        dbsize: Three {
            before: before.dbsize,
            after: after.dbsize,
            dropped: dropped.dbsize,
        },
        info_memory: Three {
            before: before.info,
            after: after.info,
            dropped: dropped.info,
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
