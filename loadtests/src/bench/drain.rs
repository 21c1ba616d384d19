//! `sluice-load bench drain`: the worker benchmark of issue 4, in one run on one machine.
//!
//! (a) the pgbench reference (one worker-like insert per transaction), (b) one sluice-worker
//! draining a backlog, (c) two and three workers, (d) lane priority under a low backlog, (e)
//! endurance at a fixed rate on a Redis of its own. It starts every process it needs as a child
//! (pgbench, sluice-api, sluice-worker, sluice-backlog, redis-server, wrk), samples Redis and
//! Postgres itself, and writes `drain-<timestamp>.json`; logs, raw tool output and samples go
//! to `drain-<timestamp>/`. On the way out (also on error or Ctrl-C) its children are stopped,
//! its Redis keys and queue registrations deleted and its database dropped (BENCH_KEEP=1 keeps
//! them). `loadtests/bench/drain/run` builds the binaries and runs this; see its README.md.
//!
//! # Layout
//! - `config`: the knobs (flags and BENCH_* / PGBENCH_* variables), parsed once
//! - `session`: one run's names and connections; starting sluice-api and sluice-worker
//! - `procs`: child processes; `host`: /proc readings and how busy the machine was
//! - `db`, `redis_probe`: what is read from Postgres and Redis; `metrics`: from `/metrics`
//! - `mix`, `backlog`: lane mixes, queued with sluice-backlog; `pgbench`, `drains`, `priority`, `endurance`: the
//!   phases; `machine`, `summary`, `report`, `show`: the JSON and the printed summary

mod backlog;
mod config;
mod db;
mod drains;
mod endurance;
mod host;
mod machine;
pub(crate) mod metrics;
mod mix;
mod pgbench;
mod priority;
mod procs;
mod redis_probe;
mod report;
mod session;
mod show;
mod summary;

use std::{process::ExitCode, time::Duration};

use anyhow::bail;
use tokio::process::Command;

use super::child::port_open;

pub use config::DrainArgs;
use session::{Bench, say};
use summary::{Drains, Ratios, Summary, Targets};

/// Runs the benchmark; cleans up whatever happens.
pub async fn run(args: DrainArgs) -> anyhow::Result<ExitCode> {
    check_ports(&args).await?;
    let mut bench = Bench::new(args).await?;
    let outcome = super::until_signal(measure(&mut bench)).await;
    clean_up(&bench).await;
    let summary = match outcome {
        // Either signal: 130, as this bench always answered a stop.
        Err(e) if e.is::<super::Interrupted>() => {
            eprintln!("sluice-load: interrupted");
            return Ok(ExitCode::from(130));
        }
        other => other?,
    };
    std::fs::write(
        &bench.json_out,
        serde_json::to_string_pretty(&summary)? + "\n",
    )?;
    for line in report::lines(&summary, &bench.json_out) {
        println!("{line}");
    }
    Ok(ExitCode::SUCCESS)
}

/// Every listener the run will open must be free.
async fn check_ports(a: &DrainArgs) -> anyhow::Result<()> {
    let redis = std::net::SocketAddr::from(([127, 0, 0, 1], a.redis_port));
    for addr in [a.api_addr, a.api_admin, redis] {
        if port_open(addr).await {
            bail!(
                "{addr} is in use by another process; set BENCH_API_ADDR / BENCH_API_ADMIN / BENCH_REDIS_PORT"
            );
        }
    }
    for i in 0..3 {
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], a.worker_port + i));
        if port_open(addr).await {
            bail!("{addr} is in use; set BENCH_WORKER_PORT");
        }
    }
    Ok(())
}

/// A fresh database with sluice's migrations (`sluice-api migrate`) and the bot registered.
async fn fresh_database(bench: &mut Bench) -> anyhow::Result<()> {
    say(&format!(
        "creating a fresh database {} (sluice-api migrate), bot {}",
        bench.args.db, bench.bot
    ));
    db::recreate(&bench.args.pg_url, &bench.args.db).await?;
    let api = |args: &[&str]| {
        let mut cmd = Command::new(bench.bin("sluice-api"));
        cmd.args(args)
            .env("DATABASE_URL", &bench.database_url)
            .env("SLUICE_BOT_SECRET", &bench.secret);
        cmd
    };
    let bound = Duration::from_secs(120);
    procs::run(&bench.out, "migrate", api(&["migrate"]), bound).await?;
    procs::run(
        &bench.out,
        "bots-add",
        api(&["bots", "add", &bench.bot]),
        bound,
    )
    .await?;
    bench.db = Some(db::Db::connect(&bench.database_url).await?);
    Ok(())
}

/// The phases asked for, in order, and the summary of their figures.
async fn measure(bench: &mut Bench) -> anyhow::Result<Summary> {
    fresh_database(bench).await?;
    let bench = &*bench;
    let phases = &bench.args.phases;
    let pgbench = match phases.has('a') {
        true => Some(pgbench::run(bench).await?),
        false => None,
    };
    let mut drain = Drains::default();
    if phases.has('b') {
        drain.set(1, drains::run(bench, 1, 1).await?);
    }
    if phases.has('c') {
        for &n in bench.args.workers.0.iter().filter(|&&n| n > 1) {
            drain.set(
                n,
                drains::run(bench, n, u64::from(n) * 10_000_000 + 1).await?,
            );
        }
    }
    let priority = match phases.has('d') {
        true => Some(priority::run(bench).await?),
        false => None,
    };
    let endurance = match phases.has('e') {
        true => Some(endurance::run(bench).await?),
        false => None,
    };
    Ok(Summary {
        timestamp: bench.ts.clone(),
        queue_prefix: bench.prefix.clone(),
        command: bench.args.command.clone(),
        machine: machine::info(bench).await,
        worker_settings: bench.args.worker_settings.clone(),
        ratios: Ratios::of(pgbench.as_ref(), &drain),
        pgbench,
        drain,
        priority,
        endurance,
        targets: Targets::default(),
    })
}

/// Deletes the run's Redis keys and queue registrations and drops its database, unless
/// BENCH_KEEP=1. (Its children were stopped or killed when their phase ended.)
async fn clean_up(bench: &Bench) {
    let prefix = &bench.prefix;
    if bench.args.keep {
        say(&format!(
            "kept Redis prefixes {prefix}-* and database {} (BENCH_KEEP=1)",
            bench.args.db
        ));
        return;
    }
    say(&format!(
        "cleaning up: Redis keys {prefix}-*, queue registrations, database {}",
        bench.args.db
    ));
    bench.redis.drop_keys(&format!("{prefix}-*")).await;
    bench
        .redis
        .drop_queue_registrations(&format!("{prefix}-"))
        .await;
    if let Some(db) = &bench.db {
        db.close().await;
    }
    if let Err(e) = db::drop_database(&bench.args.pg_url, &bench.args.db).await {
        say(&format!("could not drop database {}: {e:#}", bench.args.db));
    }
}
