//! The `sluice-worker` command line: run the workers, manage the dead letters, use the stored
//! history, run retention, or ask a running worker whether it is healthy.
//!
//! # Layout
//! - this file: the commands, `run` and `healthcheck`, and how a result becomes an exit code.
//!   Each command flattens only the settings it uses, so its `--help` lists nothing else.
//! - [`dlq`]: the `sluice-worker dlq` commands (Redis only).
//! - [`crate::history`]: the `sluice-worker history` commands.
//! - [`crate::partitions::cli`]: `sluice-worker retention run`.

pub mod dlq;

use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use sluice_shared::{
    config::parse_or_exit,
    healthcheck::{self, HealthcheckArgs},
    shutdown, telemetry,
};
use tokio::net::TcpListener;

use crate::{
    config::{AdminAddr, HandlerKind, WorkerConfig},
    handler::UpdateHandler,
    handlers::{
        Store,
        forward::{Forward, settings::ForwardSettings},
    },
    history::{args::HistoryCommand, erase, export, replay},
    startup::Worker,
};

/// sluice-worker: drains the lanes' queues into Postgres.
#[derive(Parser, Debug)]
#[command(name = "sluice-worker", version)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Drain the queues (the default when no command is given).
    Run(Box<WorkerConfig>),
    /// Inspect, replay or purge the dead letters.
    #[command(subcommand)]
    Dlq(dlq::DlqCommand),
    /// Replay, export or erase stored updates.
    #[command(subcommand)]
    History(HistoryCommand),
    /// Drop the partitions of `updates` and `events` past SLUICE_RETENTION.
    #[command(subcommand)]
    Retention(crate::partitions::cli::RetentionCommand),
    /// Ask the running worker's admin listener (SLUICE_ADMIN_ADDR) whether it is alive
    /// (/healthz) or, with --ready, ready (/readyz); exit 0 on a 200, else 1. For container
    /// health checks in an image without curl.
    Healthcheck {
        #[command(flatten)]
        admin: AdminAddr,
        #[command(flatten)]
        check: HealthcheckArgs,
    },
}

/// `sluice-worker` with no command runs, configured from the environment alone.
#[derive(Parser)]
#[command(name = "sluice-worker")]
struct RunFromEnv {
    #[command(flatten)]
    cfg: WorkerConfig,
}

fn command() -> Command {
    // Before anything builds a client: a bot's own handler may build its reqwest client first.
    sluice_shared::tls::install_provider();
    let cli: Cli = parse_or_exit();
    cli.command
        .unwrap_or_else(|| Command::Run(Box::new(parse_or_exit::<RunFromEnv>().cfg)))
}

/// Runs the CLI with the built-in handler chosen by `SLUICE_HANDLER`.
pub async fn main_builtin() -> ExitCode {
    match command() {
        Command::Run(cfg) => match cfg.handler {
            HandlerKind::Store => exit(run_worker(*cfg, Store).await),
            HandlerKind::Forward => match forward(&cfg) {
                Ok(fwd) => exit(run_worker(*cfg, fwd).await),
                Err(e) => exit(Err(e)),
            },
        },
        Command::Dlq(cmd) => exit(dlq::run(cmd).await),
        Command::History(HistoryCommand::Replay(args)) => match args.cfg.handler {
            HandlerKind::Store => exit(replay::run(*args, Store).await),
            HandlerKind::Forward => match forward(&args.cfg) {
                Ok(fwd) => exit(replay::run(*args, fwd).await),
                Err(e) => exit(Err(e)),
            },
        },
        Command::History(cmd) => exit(history(cmd).await),
        Command::Retention(cmd) => exit(crate::partitions::cli::retention(cmd).await),
        Command::Healthcheck { admin, check } => exit(health(admin, check).await),
    }
}

/// Prints the admin listener's answer on one line; any answer but a 200 is an error.
async fn health(admin: AdminAddr, check: HealthcheckArgs) -> anyhow::Result<()> {
    let body = healthcheck::check(admin.admin_addr, &check).await?;
    println!("{}", body.replace('\n', "; "));
    Ok(())
}

/// The forward handler, its settings checked before anything connects.
fn forward(cfg: &WorkerConfig) -> anyhow::Result<Forward> {
    let settings = ForwardSettings::new(
        cfg.forward_url.as_deref(),
        cfg.forward_secret.as_ref(),
        cfg.forward_secret_previous.as_ref(),
    )?;
    let keys = cfg.secrets.keyring().map_err(anyhow::Error::msg)?;
    Forward::new(settings, cfg.forward_timeout, &cfg.db.tls, keys.into())
        .context("building the forward handler's HTTP client")
}

/// Runs the CLI with a bot's own handler (`sluice-worker` as a library).
pub async fn main_with<H: UpdateHandler>(handler: H) -> ExitCode {
    match command() {
        Command::Run(cfg) => exit(run_worker(*cfg, handler).await),
        Command::Dlq(cmd) => exit(dlq::run(cmd).await),
        Command::History(HistoryCommand::Replay(args)) => exit(replay::run(*args, handler).await),
        Command::History(cmd) => exit(history(cmd).await),
        Command::Retention(cmd) => exit(crate::partitions::cli::retention(cmd).await),
        Command::Healthcheck { admin, check } => exit(health(admin, check).await),
    }
}

/// The history commands that run no handler.
async fn history(cmd: HistoryCommand) -> anyhow::Result<()> {
    match cmd {
        HistoryCommand::Export(args) => export::run(args).await,
        HistoryCommand::Erase(args) => erase::run(args).await,
        HistoryCommand::Replay(_) => unreachable!("replay runs a handler: see main_with"),
    }
}

fn exit(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run_worker<H: UpdateHandler>(cfg: WorkerConfig, handler: H) -> anyhow::Result<()> {
    let telemetry = telemetry::init(&cfg.telemetry, "sluice-worker")?;
    let ran = run_with(cfg, handler).await;
    // After the workers: the spans of the last jobs are in the final batch.
    telemetry.shutdown().await;
    ran
}

async fn run_with<H: UpdateHandler>(cfg: WorkerConfig, handler: H) -> anyhow::Result<()> {
    // First, so that a SIGTERM during start-up stops the worker cleanly instead of killing it.
    let mut stop = Box::pin(shutdown::signal());
    cfg.log_durations();
    let admin_addr = cfg.admin.admin_addr;
    let admin = TcpListener::bind(admin_addr)
        .await
        .with_context(|| format!("binding SLUICE_ADMIN_ADDR {admin_addr}"))?;
    let worker = tokio::select! {
        built = Worker::build(cfg, handler) => built?,
        () = &mut stop => {
            tracing::info!("sluice-worker stopped during start-up");
            return Ok(());
        }
    };
    tracing::info!(worker = %worker.id(), "sluice-worker starting");
    worker.run(admin, stop).await
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        super::Cli::command().debug_assert();
    }
}
