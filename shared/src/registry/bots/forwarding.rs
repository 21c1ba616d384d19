//! A bot's forwarding settings: its own forward target (the worker's `SLUICE_FORWARD_URL` is the
//! default), and its webhook secret token kept sealed so that the worker can send it on as
//! `X-Telegram-Bot-Api-Secret-Token` (`forward_secret`: NULL = whenever it is stored).

use sqlx::{Postgres, Transaction};

use super::BotsError;
use crate::{
    forward_url,
    sealed::{Keyring, places},
};

/// Whether the bot's webhook secret token is sent on to its forward target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SecretHeader {
    /// Always (the secret must be stored encrypted: given with SLUICE_SECRETS_KEY set).
    On,
    /// Never.
    Off,
    /// Whenever the secret is stored encrypted (the default).
    Auto,
}

impl SecretHeader {
    fn column(self) -> Option<bool> {
        match self {
            SecretHeader::On => Some(true),
            SecretHeader::Off => Some(false),
            SecretHeader::Auto => None,
        }
    }
}

/// What `bots add|update` changes in a bot's forwarding; `None` fields stay as they are.
#[derive(Debug, Clone, Default)]
pub struct ForwardChange {
    /// `Some(None)`: back to the worker's SLUICE_FORWARD_URL.
    pub url: Option<Option<String>>,
    pub secret_header: Option<SecretHeader>,
}

impl ForwardChange {
    pub fn is_empty(&self) -> bool {
        self.url.is_none() && self.secret_header.is_none()
    }

    /// The URL is checked before anything is written; the error never shows it.
    pub(super) fn check(&self) -> Result<(), BotsError> {
        match &self.url {
            Some(Some(raw)) => forward_url::parse(raw)
                .map(drop)
                .map_err(BotsError::BadForwardUrl),
            _ => Ok(()),
        }
    }
}

/// Applies `change` to bot `id`, and with a new webhook `secret`, stores it sealed (or, without
/// a key, forgets the sealed copy of the old one: it would be sent on in place of the new one).
pub(super) async fn apply(
    tx: &mut Transaction<'static, Postgres>,
    keys: &Keyring,
    id: i64,
    secret: Option<&str>,
    change: &ForwardChange,
) -> Result<(), BotsError> {
    if secret.is_none() && change.is_empty() {
        return Ok(());
    }
    let sealed = match secret {
        Some(s) if keys.can_seal() => Some(keys.seal(s.as_bytes(), places::bot_secret(id))?),
        _ => None,
    };
    let url = change
        .url
        .as_ref()
        .map(|u| u.as_ref().map(|raw| raw.trim().to_owned()));
    let done = sqlx::query(
        "UPDATE bots SET
             secret_sealed = CASE WHEN $2 THEN $3 ELSE secret_sealed END,
             forward_url = CASE WHEN $4 THEN $5 ELSE forward_url END,
             forward_secret = CASE WHEN $6 THEN $7 ELSE forward_secret END,
             updated_at = now()
         WHERE id = $1",
    )
    .persistent(false)
    .bind(id)
    .bind(secret.is_some())
    .bind(sealed)
    .bind(url.is_some())
    .bind(url.flatten())
    .bind(change.secret_header.is_some())
    .bind(change.secret_header.and_then(SecretHeader::column))
    .execute(&mut **tx)
    .await;
    match done {
        Err(sqlx::Error::Database(e)) if e.constraint() == Some("bots_forward_secret_stored") => {
            Err(BotsError::SecretNotStored)
        }
        other => other.map(drop).map_err(BotsError::from),
    }
}
