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
    bots::{self, BotUpdate, ForwardChange, SecretHeader},
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
        forward: ForwardArgs,
        #[command(flatten)]
        keys: SecretsConfig,
        #[command(flatten)]
        db: DbOnly,
    },
    /// Change a bot's secret, token, own rate limit or forwarding.
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
        forward: ForwardArgs,
        /// Forget the bot's own forward URL: the worker's SLUICE_FORWARD_URL applies again.
        #[arg(long, conflicts_with = "forward_url")]
        default_forward_url: bool,
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

/// Where the forward handler sends this bot's updates, and with which header.
#[derive(clap::Args, Debug, Clone)]
pub struct ForwardArgs {
    /// This bot's own forward target (http:// or https://), in place of the worker's
    /// SLUICE_FORWARD_URL; workers use a change within 5 s. Printed by its origin only.
    #[arg(long, value_name = "URL", value_parser = unchecked_text)]
    pub forward_url: Option<String>,
    /// Send the bot's webhook secret token on to the target as X-Telegram-Bot-Api-Secret-Token
    /// (auto, the default: whenever it is stored encrypted, i.e. --secret was given with
    /// SLUICE_SECRETS_KEY set).
    #[arg(long, value_enum, value_name = "on|off|auto")]
    pub forward_secret: Option<SecretHeader>,
}

/// A URL is checked by [`bots`], whose error never shows it (clap's would print the value).
fn unchecked_text(s: &str) -> Result<String, std::convert::Infallible> {
    Ok(s.to_owned())
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
            forward,
            keys,
            db: DbOnly { db: cfg },
        } => {
            let keys = keys.keyring().map_err(anyhow::Error::msg)?;
            let token = token.map(from_stdin).transpose()?;
            let pool = migrated(&cfg).await?;
            let (limits, forward) = (limits.into(), forward.change(false));
            let token = token.as_ref();
            let new =
                bots::add_forwarding(&pool, &keys, &name, &secret, limits, token, &forward).await?;
            println!(
                "{} bot '{name}': webhook path /webhook/telegram/{name}",
                if new { "added" } else { "updated secret of" }
            );
            hash_only_note(&keys);
        }
        BotsCommand::Update {
            name,
            secret,
            token,
            limits,
            default_limits,
            forward,
            default_forward_url,
            keys,
            db: DbOnly { db: cfg },
        } => {
            let keys = keys.keyring().map_err(anyhow::Error::msg)?;
            let pool = migrated(&cfg).await?;
            let change = BotUpdate {
                token: token.map(from_stdin).transpose()?,
                limits: limits.into(),
                default_limits,
                forward: forward.change(default_forward_url),
                secret,
            };
            bots::update_with_keys(&pool, &keys, &name, &change).await?;
            println!(
                "updated bot '{name}' (running apis see it within SLUICE_REGISTRY_REFRESH, \
                 forwarding workers within 5 s)"
            );
            if change.secret.is_some() {
                hash_only_note(&keys);
            }
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
                    "{}\t{}\trate_per_sec={}\tburst={}\tforward_url={}\tforward_secret={}",
                    b.name,
                    b.created_at.to_rfc3339(),
                    or_default(b.rate_per_sec.map(|r| r.to_string())),
                    or_default(b.burst.map(|r| r.to_string())),
                    or_default(b.forward_url.clone()),
                    if b.forward_secret { "on" } else { "off" },
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

impl ForwardArgs {
    fn change(self, default_url: bool) -> ForwardChange {
        ForwardChange {
            url: if default_url {
                Some(None)
            } else {
                self.forward_url.map(Some)
            },
            secret_header: self.forward_secret,
        }
    }
}

/// A secret given without a key is kept as a hash only: say that it cannot be sent on.
fn hash_only_note(keys: &sluice_shared::sealed::Keyring) {
    if !keys.can_seal() {
        eprintln!(
            "note: SLUICE_SECRETS_KEY is not set: the secret is stored as a hash only, so it is \
             not sent on to a forward target as X-Telegram-Bot-Api-Secret-Token"
        );
    }
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
