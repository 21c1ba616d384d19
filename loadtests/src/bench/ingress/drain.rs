//! Phase (d): one sluice-worker drains the backlog into Postgres while the bench counts the
//! rows every half second. If the worker cannot drain (the apalis-redis unpack() limit this
//! bench once found), the bench moves the scheduled jobs itself and measures a second worker.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::process::Command;

use super::backlog::{Backlog, promote_scheduled};
use super::drain_stats::{Attempt, DrainEnd, DrainRecord, samples_tsv};
use super::setup::Ctx;
use crate::bench::child::Started;
use crate::bench::procfs::{self, RssSampler};
use crate::bench::redis_probe::LaneCounts;
use crate::bench::say;

/// The row count not moving for this long ends an attempt as stalled.
const STALL: Duration = Duration::from_secs(30);
const POLL: Duration = Duration::from_millis(500);
const UNPACK_ERROR: &str = "too many results to unpack";

/// Phase (d), as `<run>/phase-d.json` and the summary's `drain` keep it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DrainPhase {
    pub note: String,
    /// Of the last attempt's worker.
    pub worker_rss_max_kib: u64,
    pub backlog_by_lane: LaneCounts,
    /// 'too many results to unpack' errors in the first worker's log.
    pub unpack_errors: u64,
    /// Jobs removed to start from exactly BENCH_BACKLOG.
    pub trimmed_jobs: u64,
    pub worker: WorkerSettings,
    pub attempt: Attempt,
    pub retry_after_promotion: Option<Attempt>,
    /// The attempt the rate comes from: the retry when there was one.
    pub result: Attempt,
}

/// The worker's settings as the environment gave them ("default" when unset).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkerSettings {
    pub concurrency_per_lane: String,
    pub fetch_batch: String,
    pub poll_interval: String,
}

async fn count_rows(ctx: &Ctx) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar("SELECT count(*) FROM updates")
        .fetch_one(&ctx.db)
        .await?)
}

pub(crate) async fn phase(ctx: &Ctx, backlog: Backlog) -> anyhow::Result<DrainPhase> {
    let lanes = ctx.redis.lanes(&ctx.prefix).await?;
    say(format!(
        "(d) backlog: {} updates {}; starting one sluice-worker",
        backlog.jobs,
        serde_json::to_string(&lanes)?
    ));
    anyhow::ensure!(
        count_rows(ctx).await? == 0,
        "the updates table is not empty before the drain"
    );
    let (first, rss) = once(ctx, "d", backlog.jobs).await?;
    say(format!(
        "(d) first attempt: {}",
        serde_json::to_string(&first)?
    ));
    let retry = match first.end {
        DrainEnd::Done => None,
        _ => Some(retry_after_promotion(ctx, &first).await?),
    };
    let args = &ctx.args;
    let setting = |v: &Option<String>| v.clone().unwrap_or_else(|| "default".to_owned());
    let phase = DrainPhase {
        note: retry.as_ref().map_or_else(
            || "worker as shipped, on the backlog as the api left it".to_owned(),
            |r| r.note.clone(),
        ),
        worker_rss_max_kib: retry.as_ref().map_or(rss, |r| r.rss),
        backlog_by_lane: lanes,
        unpack_errors: retry.as_ref().map_or(0, |r| r.unpack_errors),
        trimmed_jobs: backlog.trimmed,
        worker: WorkerSettings {
            concurrency_per_lane: setting(&args.sluice_worker_concurrency),
            fetch_batch: setting(&args.sluice_fetch_batch),
            poll_interval: setting(&args.sluice_poll_interval),
        },
        result: retry
            .as_ref()
            .map_or_else(|| first.clone(), |r| r.attempt.clone()),
        attempt: first,
        retry_after_promotion: retry.map(|r| r.attempt),
    };
    let json = serde_json::to_string_pretty(&phase)? + "\n";
    std::fs::write(ctx.out.join("phase-d.json"), json)?;
    Ok(phase)
}

/// A second attempt after the first worker could not drain.
struct Retry {
    note: String,
    unpack_errors: u64,
    attempt: Attempt,
    rss: u64,
}

/// Records why the first worker did not drain (the errors in its log), moves the scheduled
/// jobs to the active lists itself in steps of 1000 and measures a second worker.
async fn retry_after_promotion(ctx: &Ctx, first: &Attempt) -> anyhow::Result<Retry> {
    let log = std::fs::read_to_string(ctx.out.join("worker-d.log")).unwrap_or_default();
    let unpack_errors = log.lines().filter(|l| l.contains(UNPACK_ERROR)).count() as u64;
    say(format!(
        "(d) the worker did not drain the backlog ({}; '{UNPACK_ERROR}' in its log: {unpack_errors} times)",
        first.end
    ));
    say("(d) moving the scheduled jobs to the active lists in steps of 1000 and draining again");
    let note = format!(
        "the shipped worker could not start the drain ({} after {} s, {unpack_errors} '{UNPACK_ERROR}' errors): apalis-redis's fetch_next promotes every due scheduled job with one unpack(); the rate is measured after the bench moved them to the active lists in steps of 1000",
        first.end, first.seconds
    );
    let target = ctx.redis.backlog(&ctx.prefix).await? + count_rows(ctx).await?.max(0) as u64;
    promote_scheduled(ctx).await?;
    let (attempt, rss) = once(ctx, "d2", target).await?;
    say(format!(
        "(d) second attempt: {}",
        serde_json::to_string(&attempt)?
    ));
    Ok(Retry {
        note,
        unpack_errors,
        attempt,
        rss,
    })
}

fn start_worker(ctx: &Ctx, label: &str) -> anyhow::Result<Started> {
    let mut cmd = Command::new(ctx.bin.join("sluice-worker"));
    cmd.env("SLUICE_ADMIN_ADDR", ctx.args.bench_worker_admin.to_string())
        .env("SLUICE_QUEUE_PREFIX", &ctx.prefix)
        .env("DATABASE_URL", &ctx.database_url)
        .env("REDIS_URL", &ctx.redis_url)
        .env("RUST_LOG", &ctx.args.rust_log);
    Started::spawn(&format!("worker-{label}"), cmd, &ctx.out)
}

/// One worker from start until the table holds `target` rows, the count stalls or the
/// timeout passes. Returns the attempt and the worker's largest RSS.
async fn once(ctx: &Ctx, label: &str, target: u64) -> anyhow::Result<(Attempt, u64)> {
    let rows0 = count_rows(ctx).await?.max(0) as u64;
    let cmd_before = ctx.redis.commandstats().await?;
    let redis0 = ctx.redis.cpu_s().await?;
    let t0 = Instant::now();
    let mut worker = start_worker(ctx, label)?;
    let sampler = RssSampler::start(worker.pid(), &ctx.out.join(format!("rss-{label}.txt")));
    let (samples, end) = poll(ctx, &mut worker, target, t0).await;
    std::fs::write(
        ctx.out.join(format!("drain-{label}.tsv")),
        samples_tsv(&samples),
    )?;
    let worker_cpu_s = procfs::process_cpu_s(worker.pid()).unwrap_or(0.0);
    let redis1 = ctx.redis.cpu_s().await?;
    let cmd_after = ctx.redis.commandstats().await?;
    let rss = sampler.stop().await?;
    worker.stop().await;
    let record = DrainRecord {
        samples,
        target,
        rows0,
        end,
        worker_cpu_s,
        redis_cpu_s: redis1 - redis0,
        redis_commands: cmd_after.since(&cmd_before),
    };
    Ok((record.attempt(), rss))
}

/// Counts the rows every half second until the drain ends; returns the `(seconds since t0,
/// rows)` samples and how it ended.
async fn poll(
    ctx: &Ctx,
    worker: &mut Started,
    target: u64,
    t0: Instant,
) -> (Vec<(f64, i64)>, DrainEnd) {
    let timeout = Duration::from_secs(ctx.args.bench_drain_timeout_s);
    let (mut samples, mut last_n, mut last_change) = (Vec::new(), -1i64, t0);
    loop {
        let now = Instant::now();
        let n = count_rows(ctx).await.unwrap_or(last_n);
        samples.push(((now - t0).as_secs_f64(), n));
        if n != last_n {
            (last_n, last_change) = (n, now);
        }
        let end = if n >= target as i64 {
            Some(DrainEnd::Done)
        } else if !worker.is_running() {
            Some(DrainEnd::Exited)
        } else if now - last_change > STALL {
            Some(DrainEnd::Stalled)
        } else if now - t0 > timeout {
            Some(DrainEnd::Timeout)
        } else {
            None
        };
        if let Some(end) = end {
            return (samples, end);
        }
        tokio::time::sleep(POLL).await;
    }
}
