//! One measured wrk run and what is read around it: the server's CPU time and RSS, Redis's
//! CPU time, memory and commands, wrk's own CPU time, the whole machine's busy time (what is
//! none of these is "other": processes outside the benchmark) and the jobs queued.

use std::collections::BTreeMap;

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

use super::setup::Ctx;
use crate::bench::knobs::{WrkDuration, round_to};
use crate::bench::procfs::{self, RssSampler};
use crate::bench::redis_probe::CallsUsec;
use crate::bench::wrk::{BenchLine, WrkRun};

/// One measured phase, as `<run>/phase-<label>.json` keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Phase {
    pub wrk_command: String,
    /// `BENCH_RATE`: 0 = as fast as possible.
    pub target_rps: u64,
    pub wrk: BenchLine,
    /// CPU seconds of the server under test during the run.
    pub process_cpu_s: f64,
    pub redis_cpu_s: f64,
    pub wrk_cpu_s: f64,
    /// CPU seconds the whole machine was busy (all cores).
    pub machine_busy_cpu_s: f64,
    /// Busy time that is none of the above: other people's processes.
    pub other_cpu_s: f64,
    /// How busy the machine was just before (percent of all cores).
    pub busy_percent_before: u64,
    pub rss_max_kib: u64,
    /// Jobs the run added to the queue.
    pub jobs_queued: i64,
    pub redis_used_memory_delta_bytes: i64,
    /// Redis commands run during the phase.
    pub redis_commands: BTreeMap<String, CallsUsec>,
}

/// The counters read just before and just after a run.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Readings {
    pub process_cpu_s: f64,
    pub redis_cpu_s: f64,
    pub machine_busy_s: f64,
    /// CPU seconds of this program's finished children (wrk is the one that ends in between).
    pub children_cpu_s: f64,
    pub backlog: u64,
    pub redis_used_memory: i64,
}

/// What is known of a phase apart from the counters.
pub struct PhaseRun {
    pub wrk_command: String,
    pub target_rps: u64,
    pub wrk: BenchLine,
    pub busy_percent_before: u64,
    pub rss_max_kib: u64,
    pub redis_commands: BTreeMap<String, CallsUsec>,
}

impl Phase {
    /// The phase's figures from the counters around it.
    pub fn new(run: PhaseRun, before: &Readings, after: &Readings) -> Phase {
        let process = round_to(after.process_cpu_s - before.process_cpu_s, 3);
        let redis = round_to(after.redis_cpu_s - before.redis_cpu_s, 6);
        let wrk = round_to(after.children_cpu_s - before.children_cpu_s, 3);
        let machine = round_to(after.machine_busy_s - before.machine_busy_s, 3);
        Phase {
            wrk_command: run.wrk_command,
            target_rps: run.target_rps,
            wrk: run.wrk,
            process_cpu_s: process,
            redis_cpu_s: redis,
            wrk_cpu_s: wrk,
            machine_busy_cpu_s: machine,
            other_cpu_s: round_to(machine - process - redis - wrk, 2),
            busy_percent_before: run.busy_percent_before,
            rss_max_kib: run.rss_max_kib,
            jobs_queued: after.backlog as i64 - before.backlog as i64,
            redis_used_memory_delta_bytes: after.redis_used_memory - before.redis_used_memory,
            redis_commands: run.redis_commands,
        }
    }

    /// `8565 req/s  p50 6.92 ms  p99 19.05 ms  non-2xx 0`: the progress line after a phase.
    pub fn brief(&self) -> String {
        let ms = |us: u64| round_to(us as f64 / 1000.0, 2);
        format!(
            "{} req/s  p50 {} ms  p99 {} ms  non-2xx {}",
            self.wrk.rps.floor(),
            ms(self.wrk.lat_us.p50),
            ms(self.wrk.lat_us.p99),
            self.wrk.non_2xx_3xx
        )
    }
}

/// Where a wrk run goes, at what rate, and the first update_id of its requests (each run has
/// its own range, so that sluice never answers a repeat as a duplicate).
pub(crate) struct Target<'a> {
    pub label: &'a str,
    pub url: &'a str,
    pub rate: u64,
    pub id_base: u64,
}

/// One wrk run with the bench's script; raw output in `wrk-<label>.txt`, its @@bench line in
/// `wrk-<label>.json`. Returns the command line and the figures.
pub(crate) async fn run_wrk(
    ctx: &Ctx,
    target: &Target<'_>,
    duration: WrkDuration,
) -> anyhow::Result<(String, BenchLine)> {
    let run = WrkRun {
        url: target.url.to_owned(),
        duration,
        latency: true,
        env: vec![
            ("BENCH_BOT", super::BOT.to_owned()),
            ("BENCH_SECRET", ctx.secret.clone()),
            ("BENCH_ID_BASE", target.id_base.to_string()),
            ("BENCH_THREADS", ctx.args.wrk_threads.to_string()),
            ("BENCH_RATE", target.rate.to_string()),
        ],
    };
    let label = target.label;
    let text = ctx
        .wrk
        .run(&run, &ctx.out.join(format!("wrk-{label}.txt")))
        .await
        .with_context(|| format!("wrk ({label})"))?;
    let line = BenchLine::parse(&text).with_context(|| {
        format!(
            "wrk ({label}); see {}",
            ctx.out.join(format!("wrk-{label}.txt")).display()
        )
    })?;
    std::fs::write(
        ctx.out.join(format!("wrk-{label}.json")),
        serde_json::to_string(&line)? + "\n",
    )?;
    Ok((ctx.wrk.command_line(&run), line))
}

async fn readings(ctx: &Ctx, pid: u32) -> anyhow::Result<Readings> {
    Ok(Readings {
        backlog: ctx.redis.backlog(&ctx.prefix).await?,
        redis_used_memory: ctx.redis.used_memory().await?,
        redis_cpu_s: ctx.redis.cpu_s().await?,
        process_cpu_s: procfs::process_cpu_s(pid)?,
        machine_busy_s: procfs::machine_busy_s()?,
        children_cpu_s: procfs::finished_children_cpu_s()?,
    })
}

/// [`run_wrk`] for WRK_DURATION against the server `pid`, after waiting for a quiet machine,
/// with the counters around it; writes `phase-<label>.json`.
pub(crate) async fn measure(ctx: &Ctx, pid: u32, target: &Target<'_>) -> anyhow::Result<Phase> {
    let label = target.label;
    let quiet =
        procfs::wait_quiet(std::time::Duration::from_secs(ctx.args.bench_quiet_wait_s)).await?;
    let sampler = RssSampler::start(pid, &ctx.out.join(format!("rss-{label}.txt")));
    let cmd_before = ctx.redis.commandstats().await?;
    let before = readings(ctx, pid).await?;
    let (wrk_command, wrk) = run_wrk(ctx, target, ctx.args.wrk_duration).await?;
    let after = Readings {
        machine_busy_s: procfs::machine_busy_s()?,
        children_cpu_s: procfs::finished_children_cpu_s()?,
        process_cpu_s: procfs::process_cpu_s(pid)?,
        redis_cpu_s: ctx.redis.cpu_s().await?,
        ..before
    };
    let cmd_after = ctx.redis.commandstats().await?;
    let after = Readings {
        backlog: ctx.redis.backlog(&ctx.prefix).await?,
        redis_used_memory: ctx.redis.used_memory().await?,
        ..after
    };
    let run = PhaseRun {
        wrk_command,
        target_rps: target.rate,
        wrk,
        busy_percent_before: quiet,
        rss_max_kib: sampler.stop().await?,
        redis_commands: cmd_after.since(&cmd_before),
    };
    let phase = Phase::new(run, &before, &after);
    std::fs::write(
        ctx.out.join(format!("phase-{label}.json")),
        serde_json::to_string_pretty(&phase)? + "\n",
    )?;
    Ok(phase)
}
