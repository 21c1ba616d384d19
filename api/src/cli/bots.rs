//! The `sluice-api bots add|update|list|remove` commands, which write through [`crate::bots`].

use anyhow::Context;
use clap::Subcommand;
use sluice_shared::{
    config::DatabaseConfig,
    db,
    output::{OutputArgs, print_json},
    sealed::SecretsConfig,
    secret::Secret,
};
use sqlx::PgPool;

use super::sources::from_stdin;
use crate::{
    admission::config::parse_rate,
    bots::{self, BotUpdate},
    config::DbOnly,
    registry::BotLimits,
};

#[derive(Subcommand, Debug)]
pub enum BotsCommand {
    /// Register a bot (or replace its secret).
    Add {
        /// The bot's name, used in its webhook URL: /webhook/telegram/NAME.
        name: String,
        /// The secret_token given to setWebhook (1-256 of A-Z a-z 0-9 _ -); only its hash is stored.
        #[arg(long, env = "SLUICE_BOT_SECRET", hide_env_values = true)]
        secret: String,
        /// The bot's Bot API token from @BotFather ("-" reads it from stdin), for sending; stored
        /// encrypted under SLUICE_SECRETS_KEY. Without one the bot can only store or forward.
        #[arg(long, env = "SLUICE_BOT_TOKEN", hide_env_values = true, value_parser = unchecked)]
        token: Option<Secret>,
        #[command(flatten)]
        limits: BotLimitArgs,
        #[command(flatten)]
        keys: SecretsConfig,
        #[command(flatten)]
        db: DbOnly,
    },
    /// Change a bot's secret or its own rate limit.
    Update {
        name: String,
        /// A new secret_token (as given to setWebhook).
        #[arg(long)]
        secret: Option<String>,
        /// A new Bot API token ("-" reads it from stdin); stored encrypted under SLUICE_SECRETS_KEY.
        #[arg(long, value_parser = unchecked)]
        token: Option<Secret>,
        #[command(flatten)]
        limits: BotLimitArgs,
        /// Forget the bot's own limit: SLUICE_RATE_BOT_PER_SEC / SLUICE_RATE_BOT_BURST apply again.
        #[arg(long, conflicts_with_all = ["rate_per_sec", "burst"])]
        default_limits: bool,
        #[command(flatten)]
        keys: SecretsConfig,
        #[command(flatten)]
        db: DbOnly,
    },
    /// List registered bots (never their secrets).
    List {
        #[command(flatten)]
        output: OutputArgs,
        #[command(flatten)]
        db: DbOnly,
    },
    /// Remove a bot; its webhook answers 404 from then on.
    Remove {
        name: String,
        #[command(flatten)]
        db: DbOnly,
    },
}

/// A bot's own rate limit; what is left out takes the api's SLUICE_RATE_BOT_* defaults.
#[derive(clap::Args, Debug, Clone, Copy)]
pub struct BotLimitArgs {
    /// Updates per second admitted for this bot.
    #[arg(long, value_parser = parse_rate)]
    pub rate_per_sec: Option<f64>,
    /// Updates admitted at once for this bot.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=i32::MAX as i64))]
    pub burst: Option<u32>,
}

/// Checked by [`bots`] with an error that never shows it (clap's would print the value).
fn unchecked(s: &str) -> Result<Secret, std::convert::Infallible> {
    Ok(Secret::unchecked(s))
}

impl From<BotLimitArgs> for BotLimits {
    fn from(a: BotLimitArgs) -> Self {
        BotLimits {
            rate_per_sec: a.rate_per_sec,
            burst: a.burst,
        }
    }
}

/// Runs one `bots` command, printing what it did.
pub async fn run(cmd: BotsCommand) -> anyhow::Result<()> {
    match cmd {
        BotsCommand::Add {
            name,
            secret,
            token,
            limits,
            keys,
            db: DbOnly { db: cfg },
        } => {
            let keys = keys.keyring().map_err(anyhow::Error::msg)?;
            let token = token.map(from_stdin).transpose()?;
            let pool = migrated(&cfg).await?;
            let limits = limits.into();
            let new =
                bots::add_with_token(&pool, &keys, &name, &secret, limits, token.as_ref()).await?;
            println!(
                "{} bot '{name}': webhook path /webhook/telegram/{name}",
                if new { "added" } else { "updated secret of" }
            );
        }
        BotsCommand::Update {
            name,
            secret,
            token,
            limits,
            default_limits,
            keys,
            db: DbOnly { db: cfg },
        } => {
            let keys = keys.keyring().map_err(anyhow::Error::msg)?;
            let pool = migrated(&cfg).await?;
            let change = BotUpdate {
                secret,
                token: token.map(from_stdin).transpose()?,
                limits: limits.into(),
                default_limits,
            };
            bots::update_with_keys(&pool, &keys, &name, &change).await?;
            println!("updated bot '{name}' (running apis see it within SLUICE_REGISTRY_REFRESH)");
        }
        BotsCommand::List {
            output,
            db: DbOnly { db: cfg },
        } => {
            let all = bots::list(&pool(&cfg).await?).await?;
            if output.is_json() {
                return Ok(print_json(&all)?);
            }
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
            bots::remove(&pool(&cfg).await?, &name).await?;
            println!("removed bot '{name}'");
        }
    }
    Ok(())
}

/// A failed connection is reported with its host, port and cause ([`db::connect`]).
async fn pool(cfg: &DatabaseConfig) -> anyhow::Result<PgPool> {
    db::connect(cfg, "sluice-api bots").await
}

/// The commands that write a bot first bring the schema up to date.
async fn migrated(cfg: &DatabaseConfig) -> anyhow::Result<PgPool> {
    let pool = pool(cfg).await?;
    db::migrate(&pool).await.context("applying migrations")?;
    Ok(pool)
}
