//! The `sluice-api` command line: serve (the default), migrate, and manage bots and sources.
//!
//! # Layout
//! - this file: the commands, `serve`, `migrate` and `healthcheck`, and how a result becomes an
//!   exit code. Each command flattens only the settings it uses, so its `--help` lists nothing
//!   else (`migrate` takes the database's, not the server's start-up or listener settings).
//! - [`bots`]: the `sluice-api bots` commands.
//! - [`sources`]: the `sluice-api sources` commands.
//! - [`secrets`]: `sluice-api secrets rotate`.

pub mod bots;
pub mod secrets;
pub mod sources;

use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use sluice_shared::{
    config::{self, parse_or_exit},
    db,
    healthcheck::{self, HealthcheckArgs},
    telemetry,
};
use tokio::net::TcpListener;

use crate::{
    config::{AdminAddr, ApiConfig, DbOnly},
    startup::Api,
};

/// sluice-api: takes webhook deliveries (Telegram, signed webhooks) and queues them durably in Redis.
#[derive(Parser, Debug)]
#[command(name = "sluice-api", version)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Serve webhooks (the default when no command is given).
    Serve(Box<ApiConfig>),
    /// Apply pending database migrations and exit.
    Migrate(DbOnly),
    /// Manage the bots whose webhooks sluice accepts.
    #[command(subcommand)]
    Bots(bots::BotsCommand),
    /// Manage the signed-webhook sources (GitHub, Stripe, any HMAC signer) sluice accepts.
    #[command(subcommand)]
    Sources(sources::SourcesCommand),
    /// Secrets at rest: re-encrypt them under the current key.
    #[command(subcommand)]
    Secrets(secrets::SecretsCommand),
    /// Ask the running api's admin listener (SLUICE_ADMIN_ADDR) whether it is alive (/healthz)
    /// or, with --ready, ready (/readyz); exit 0 on a 200, else 1. For container health checks
    /// in an image without curl.
    Healthcheck {
        #[command(flatten)]
        admin: AdminAddr,
        #[command(flatten)]
        check: HealthcheckArgs,
    },
}

/// `sluice-api` with no command serves, configured from the environment alone.
#[derive(Parser)]
#[command(name = "sluice-api")]
struct ServeFromEnv {
    #[command(flatten)]
    cfg: ApiConfig,
}

/// Parses the command line, runs the command, and says how it went as the exit code: 2 for a
/// setting that is missing or wrong, 1 for a command that failed.
pub async fn main() -> ExitCode {
    let cli: Cli = parse_or_exit();
    let command = cli.command.unwrap_or_else(|| {
        let parsed = config::try_parse_from::<ServeFromEnv>(["sluice-api"]).unwrap_or_else(|e| {
            eprintln!("{}", config::one_line(&e));
            std::process::exit(2);
        });
        Command::Serve(Box::new(parsed.cfg))
    });
    // What clap cannot check field by field fails the same way: one line, status 2.
    if let Command::Serve(cfg) = &command
        && let Err(e) = cfg.validate()
    {
        eprintln!("error: {e}");
        return ExitCode::from(2);
    }
    match run(command).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Serve(cfg) => serve(*cfg).await,
        Command::Migrate(DbOnly { db: cfg }) => {
            let pool = db::connect(&cfg, "sluice-api migrate").await?;
            db::migrate(&pool).await.context("applying migrations")?;
            println!("migrations applied");
            Ok(())
        }
        Command::Bots(cmd) => bots::run(cmd).await,
        Command::Sources(cmd) => sources::run(cmd).await,
        Command::Secrets(cmd) => secrets::run(cmd).await,
        Command::Healthcheck { admin, check } => {
            let body = healthcheck::check(admin.admin_addr, &check).await?;
            println!("{}", body.replace('\n', "; "));
            Ok(())
        }
    }
}

async fn serve(cfg: ApiConfig) -> anyhow::Result<()> {
    let telemetry = telemetry::init(&cfg.telemetry, "sluice-api")?;
    let served = serve_with(cfg).await;
    // After the server: the spans of the last requests are in the final batch.
    telemetry.shutdown().await;
    served
}

async fn serve_with(cfg: ApiConfig) -> anyhow::Result<()> {
    // First, so that a SIGTERM during start-up stops the api cleanly instead of killing it.
    let mut stop = Box::pin(sluice_shared::shutdown::signal());
    cfg.log_durations();
    let listener = TcpListener::bind(cfg.addr)
        .await
        .with_context(|| format!("binding SLUICE_API_ADDR {}", cfg.addr))?;
    let admin_addr = cfg.admin.admin_addr;
    let admin = TcpListener::bind(admin_addr)
        .await
        .with_context(|| format!("binding SLUICE_ADMIN_ADDR {admin_addr}"))?;
    let console = match cfg.console.tokens {
        Some(_) => Some(
            TcpListener::bind(cfg.console.addr)
                .await
                .with_context(|| format!("binding SLUICE_CONSOLE_ADDR {}", cfg.console.addr))?,
        ),
        None => None,
    };
    tracing::info!(addr = %listener.local_addr()?, admin = %admin.local_addr()?, "sluice-api listening");
    if let Some(console) = &console {
        tracing::info!(addr = %console.local_addr()?, "console listening");
    }
    let mut api = tokio::select! {
        built = Api::build(cfg) => built?,
        () = &mut stop => {
            tracing::info!("sluice-api stopped during start-up");
            return Ok(());
        }
    };
    if let Some(console) = console {
        api = api.with_console_listener(console);
    }
    api.run(listener, admin, stop).await
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        super::Cli::command().debug_assert();
    }
}
