//! The `sluice-worker` command line: run the workers, or manage the dead letters.

use std::{process::ExitCode, time::Duration};

use anyhow::Context;
use clap::Parser;
use sluice_shared::{config::parse_or_exit, lanes::Lane, queue::Pusher, shutdown, telemetry};
use tokio::net::TcpListener;

use crate::{
    config::{Cli, Command, DlqCommand, HandlerKind, RedisOnly, WorkerConfig},
    dlq::DeadLetters,
    handler::UpdateHandler,
    handlers::{
        Store,
        forward::{Forward, settings::ForwardSettings},
    },
    startup::Worker,
};

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
        Command::Dlq(cmd) => exit(dlq(cmd).await),
    }
}

/// The forward handler, its settings checked before anything connects.
fn forward(cfg: &WorkerConfig) -> anyhow::Result<Forward> {
    let settings = ForwardSettings::new(
        cfg.forward_url.as_deref(),
        cfg.forward_secret.as_ref(),
        cfg.forward_secret_previous.as_ref(),
    )?;
    Forward::new(settings, cfg.forward_timeout, &cfg.db.tls)
        .context("building the forward handler's HTTP client")
}

/// Runs the CLI with a bot's own handler (`sluice-worker` as a library).
pub async fn main_with<H: UpdateHandler>(handler: H) -> ExitCode {
    match command() {
        Command::Run(cfg) => exit(run_worker(*cfg, handler).await),
        Command::Dlq(cmd) => exit(dlq(cmd).await),
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
    telemetry::init(&cfg.telemetry);
    cfg.log_durations();
    let admin = TcpListener::bind(cfg.admin_addr)
        .await
        .with_context(|| format!("binding SLUICE_ADMIN_ADDR {}", cfg.admin_addr))?;
    let worker = Worker::build(cfg, handler).await?;
    tracing::info!(worker = %worker.id(), "sluice-worker starting");
    worker.run(admin, shutdown::signal()).await
}

async fn dlq(cmd: DlqCommand) -> anyhow::Result<()> {
    let open = async |r: &RedisOnly| -> anyhow::Result<(DeadLetters, Pusher)> {
        let url = &r.redis.redis_url;
        let client = sluice_shared::queue::client(url, &r.tls)
            .context("REDIS_URL is not a valid Redis URL")?;
        sluice_shared::reach::redis(&client, Duration::from_secs(5)).await?;
        let conn = sluice_shared::queue::connect_with(url, &r.tls, Duration::from_secs(5))?;
        let prefix = &r.redis.queue_prefix;
        Ok((
            DeadLetters::new(conn.clone(), prefix),
            Pusher::new(conn, prefix, &r.queue, crate::startup::REQUEUE),
        ))
    };
    match cmd {
        DlqCommand::List { lane, limit, redis } => {
            let (dead, _) = open(&redis).await?;
            let letters = dead
                .list(lane, limit)
                .await
                .context("reading the dead letters")?;
            for l in &letters {
                let at = chrono::DateTime::from_timestamp_millis(l.dead_at_ms).unwrap_or_default();
                let e = &l.envelope;
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}",
                    l.id,
                    e.lane,
                    at.to_rfc3339(),
                    e.describe(),
                    e.kind,
                    l.reason
                );
            }
            let sizes = dead.sizes().await?;
            println!(
                "{} dead letter(s) shown; in all: high {}, normal {}, low {}",
                letters.len(),
                sizes[Lane::High],
                sizes[Lane::Normal],
                sizes[Lane::Low]
            );
        }
        DlqCommand::Replay { all, ids, redis } => {
            let (dead, queue) = open(&redis).await?;
            let (mut replayed, mut wanted) = (0usize, ids.len());
            loop {
                let batch = if all {
                    dead.all(500).await?
                } else {
                    dead.get(&ids).await?
                };
                if all {
                    wanted += batch.len();
                }
                for letter in &batch {
                    let env = letter.envelope.with_attempt(0);
                    queue
                        .requeue(env.lane, &env, Duration::ZERO)
                        .await
                        .context("re-queueing a dead letter")?;
                    dead.remove(letter).await?;
                    replayed += 1;
                }
                if !all || batch.is_empty() {
                    break;
                }
            }
            println!(
                "replayed {replayed} dead letter(s); {} not found",
                wanted - replayed
            );
        }
        DlqCommand::Purge { older_than, redis } => {
            let (dead, _) = open(&redis).await?;
            let before = chrono::Utc::now().timestamp_millis() - older_than.as_millis() as i64;
            let removed = dead.purge_before(before).await?;
            println!("purged {removed} dead letter(s) older than {older_than:?}");
        }
    }
    Ok(())
}
