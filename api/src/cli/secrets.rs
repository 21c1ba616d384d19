//! The `sluice-api secrets` commands: `rotate` seals every secret column under the current key.

use clap::Subcommand;
use sluice_shared::{db, sealed::SecretsConfig};

use crate::{
    at_rest::{self, Mode},
    config::DbOnly,
};

#[derive(Subcommand, Debug)]
pub enum SecretsCommand {
    /// Encrypt every stored secret (bot tokens and webhook secrets, source signing secrets) under
    /// SLUICE_SECRETS_KEY: clear-text ones, and those under SLUICE_SECRETS_KEY_PREVIOUS. Safe to
    /// run again; once it reports nothing re-encrypted and nothing unreadable, the previous key
    /// can be removed.
    Rotate {
        #[command(flatten)]
        keys: SecretsConfig,
        #[command(flatten)]
        db: DbOnly,
    },
}

pub async fn run(cmd: SecretsCommand) -> anyhow::Result<()> {
    match cmd {
        SecretsCommand::Rotate {
            keys,
            db: DbOnly { db: cfg },
        } => {
            let keys = keys.keyring().map_err(anyhow::Error::msg)?;
            let pool = db::connect(&cfg, "sluice-api secrets").await?;
            db::migrate(&pool).await?;
            let report = at_rest::run(&pool, &keys, Mode::Rotate).await?;
            let id = keys.current_id().unwrap_or_default();
            println!("secrets under key {id}: {report}");
            if !report.unreadable.is_empty() {
                anyhow::bail!(
                    "{} stored secret(s) cannot be decrypted with SLUICE_SECRETS_KEY or \
                     SLUICE_SECRETS_KEY_PREVIOUS (left as they are): {}",
                    report.unreadable.len(),
                    report.unreadable.join("; ")
                );
            }
        }
    }
    Ok(())
}
