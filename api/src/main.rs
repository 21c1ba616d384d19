//! `sluice-api`: thin entry point — config, telemetry, build, run.

use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use sluice_api::{
    bots,
    config::{ApiConfig, BotsCommand, Cli, Command, DbOnly},
    startup::Api,
};
use sluice_shared::{config::parse_or_exit, db, telemetry};
use tokio::net::TcpListener;

/// `sluice-api` with no command serves, configured from the environment alone.
#[derive(Parser)]
#[command(name = "sluice-api")]
struct ServeFromEnv {
    #[command(flatten)]
    cfg: ApiConfig,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli: Cli = parse_or_exit();
    let command = cli.command.unwrap_or_else(|| {
        let parsed = ServeFromEnv::try_parse_from(["sluice-api"]).unwrap_or_else(|e| {
            eprintln!("{}", sluice_shared::config::one_line(&e));
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
            let pool = db::pool(&cfg, "sluice-api migrate")?;
            db::migrate(&pool).await.context("applying migrations")?;
            println!("migrations applied");
            Ok(())
        }
        Command::Bots(cmd) => bots_command(cmd).await,
        Command::Sources(cmd) => sluice_api::sources::cli::run(cmd).await,
    }
}

async fn serve(cfg: ApiConfig) -> anyhow::Result<()> {
    telemetry::init(&cfg.telemetry);
    let listener = TcpListener::bind(cfg.addr)
        .await
        .with_context(|| format!("binding SLUICE_API_ADDR {}", cfg.addr))?;
    let admin = TcpListener::bind(cfg.admin_addr)
        .await
        .with_context(|| format!("binding SLUICE_ADMIN_ADDR {}", cfg.admin_addr))?;
    tracing::info!(addr = %listener.local_addr()?, admin = %admin.local_addr()?, "sluice-api listening");
    let api = Api::build(cfg).await?;
    api.run(listener, admin, sluice_shared::shutdown::signal())
        .await
}

async fn bots_command(cmd: BotsCommand) -> anyhow::Result<()> {
    let migrated = |cfg: &sluice_shared::config::DatabaseConfig| -> anyhow::Result<sqlx::PgPool> {
        Ok(db::pool(cfg, "sluice-api bots")?)
    };
    match cmd {
        BotsCommand::Add {
            name,
            secret,
            limits,
            db: DbOnly { db: cfg },
        } => {
            let pool = migrated(&cfg)?;
            db::migrate(&pool).await.context("applying migrations")?;
            let new = bots::add_with_limits(&pool, &name, &secret, limits.into()).await?;
            println!(
                "{} bot '{name}': webhook path /webhook/telegram/{name}",
                if new { "added" } else { "updated secret of" }
            );
        }
        BotsCommand::Update {
            name,
            secret,
            limits,
            default_limits,
            db: DbOnly { db: cfg },
        } => {
            let pool = migrated(&cfg)?;
            db::migrate(&pool).await.context("applying migrations")?;
            let change = bots::BotUpdate {
                secret,
                limits: limits.into(),
                default_limits,
            };
            bots::update(&pool, &name, &change).await?;
            println!("updated bot '{name}' (running apis see it within SLUICE_REGISTRY_REFRESH)");
        }
        BotsCommand::List(DbOnly { db: cfg }) => {
            let pool = migrated(&cfg)?;
            let all = bots::list(&pool).await?;
            let or_default = |v: Option<String>| v.unwrap_or_else(|| "default".to_owned());
            for b in &all {
                println!(
                    "{}\t{}\trate_per_sec={}\tburst={}",
                    b.name,
                    b.created_at.to_rfc3339(),
                    or_default(b.rate_per_sec.map(|r| r.to_string())),
                    or_default(b.burst.map(|r| r.to_string())),
                );
            }
            println!("{} bot(s)", all.len());
        }
        BotsCommand::Remove {
            name,
            db: DbOnly { db: cfg },
        } => {
            let pool = migrated(&cfg)?;
            bots::remove(&pool, &name).await?;
            println!("removed bot '{name}'");
        }
    }
    Ok(())
}
