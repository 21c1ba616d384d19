//! `sluice-load bench`: the benchmarks that start sluice's binaries, load them with wrk and
//! measure; `loadtests/bench/<name>/run` only builds the binaries and starts these.
//!
//! # Layout
//! - `ingress`: reference vs sluice-api vs fixed rate vs drain, one JSON summary per run;
//! - `admission`: sluice-api with rate limiting off, local and in Redis, in rotating slices;
//! - `drain`: pgbench reference, worker drains, lane priority and endurance (the worker bench);
//! - `ordering`: what per-chat ordering costs (many chats off vs on, one hot chat);
//! - `knobs`: settings both read from the environment (wrk durations, secrets, time stamps);
//! - `wrk`: running wrk as a child and reading its output;
//! - `child`: the processes a bench starts, stopped when it ends however it ends;
//! - `pg`: creating and dropping the benches' databases;
//! - `procfs`: CPU time, RSS and machine load from /proc;
//! - `redis_probe`: what the benches read from Redis (INFO, commandstats, lane lengths).

pub mod admission;
pub mod child;
pub mod drain;
pub mod ingress;
pub mod knobs;
pub mod ordering;
pub mod pg;
pub mod procfs;
pub mod redis_probe;
pub mod wrk;

use std::process::ExitCode;

/// `sluice-load bench <name>`.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    #[command(subcommand)]
    pub which: BenchCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum BenchCommand {
    /// The ingress benchmark (loadtests/bench/ingress/README.md): writes
    /// loadtests/results/ingress-<timestamp>.json.
    Ingress(Box<ingress::IngressArgs>),
    /// What admission control costs: sluice-api with SLUICE_RATE_SCOPE off, local and redis.
    Admission(admission::AdmissionArgs),
    /// The worker benchmark (loadtests/bench/drain/README.md): pgbench reference, drains, lane
    /// priority, endurance; writes loadtests/results/drain-<timestamp>.json.
    Drain(Box<drain::DrainArgs>),
    /// What per-chat ordering costs (loadtests/bench/ordering/run): a drain of many chats with
    /// SLUICE_ORDERING=off and =chat, and one hot chat; writes loadtests/results/ordering-<ts>.json.
    Ordering(Box<ordering::OrderingArgs>),
}

/// Runs one benchmark; Ctrl-C or SIGTERM stop it, and its own clean-up still runs.
pub async fn bench(args: BenchArgs) -> anyhow::Result<ExitCode> {
    match args.which {
        BenchCommand::Ingress(args) => ingress::run(*args).await,
        BenchCommand::Admission(args) => admission::run(args).await,
        BenchCommand::Drain(args) => drain::run(*args).await,
        BenchCommand::Ordering(args) => ordering::run(*args).await,
    }
}

/// A progress line on stderr, as the bash benches printed them.
pub(crate) fn say(msg: impl std::fmt::Display) {
    eprintln!("==> {msg}");
}

/// Why a bench stopped early on a signal: the exit code a shell gives such a stop.
#[derive(Debug, thiserror::Error)]
#[error("interrupted by {name}")]
pub struct Interrupted {
    pub name: &'static str,
    pub code: u8,
}

/// Runs `work` until it ends or SIGINT / SIGTERM arrive. On a signal `work` is dropped (the
/// children it owns are killed by their guards) and the caller still runs its clean-up.
pub(crate) async fn until_signal<T>(
    work: impl std::future::Future<Output = anyhow::Result<T>>,
) -> anyhow::Result<T> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    tokio::select! {
        r = work => r,
        _ = tokio::signal::ctrl_c() => Err(Interrupted { name: "SIGINT", code: 130 }.into()),
        _ = term.recv() => Err(Interrupted { name: "SIGTERM", code: 143 }.into()),
    }
}

/// The exit code for a bench's result: 130 / 143 after a signal, 1 after an error.
pub(crate) fn exit_code(result: &anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => match e.downcast_ref::<Interrupted>() {
            Some(i) => ExitCode::from(i.code),
            None => ExitCode::FAILURE,
        },
    }
}
