//! Bots and sources as the console changes them, through the functions `sluice-api bots|sources`
//! use ([`sluice_shared::registry`]). The console makes every webhook and signing secret itself
//! and hands it back once, from add or rotate: it is stored hashed or sealed, never listed.

use chrono::{DateTime, Utc};
use rand::{Rng, distr::Alphanumeric};
use sluice_shared::{
    lanes::Lane,
    registry::{
        bots::{self, BotLimits, BotUpdate, BotsError},
        sources::{
            Scheme, Source,
            manage::{self, Listed, SourcesError},
            store,
        },
    },
    sealed::{Keyring, Zeroizing},
    secret::Secret,
};
use sqlx::PgPool;

use crate::error::ConsoleError;

/// Characters of a secret the console makes: 40 of A-Z a-z 0-9 (about 238 bits), inside
/// Telegram's `secret_token` rule and any provider's.
const SECRET_LEN: usize = 40;

fn new_secret() -> Secret {
    let s: Zeroizing<String> = Zeroizing::new(
        rand::rng()
            .sample_iter(&Alphanumeric)
            .take(SECRET_LEN)
            .map(char::from)
            .collect(),
    );
    Secret::unchecked(&s)
}

/// Every bot, by name; the listing has no secret, token or sealed value in it.
pub async fn list_bots(db: &PgPool) -> Result<Vec<bots::Listed>, ConsoleError> {
    Ok(bots::list(db).await?)
}

/// Registers a new bot with a fresh webhook secret, returned once; `token` is sealed under the
/// current key. A name in use is a conflict (the CLI's `add` would replace its secret).
pub async fn add_bot(
    db: &PgPool,
    keys: &Keyring,
    name: &str,
    token: Option<Secret>,
) -> Result<Secret, ConsoleError> {
    let secret = new_secret();
    bots::create(db, keys, name, secret.expose(), token.as_ref()).await?;
    Ok(secret)
}

/// Gives bot `name` a new webhook secret, returned once; the old one is refused as soon as the
/// api's registry reloads (`SLUICE_REGISTRY_REFRESH`).
pub async fn rotate_bot(db: &PgPool, keys: &Keyring, name: &str) -> Result<Secret, ConsoleError> {
    let secret = new_secret();
    let change = BotUpdate {
        secret: Some(secret.expose().to_owned()),
        ..BotUpdate::default()
    };
    bots::update_with_keys(db, keys, name, &change).await?;
    Ok(secret)
}

/// Sets bot `name`'s own rate and burst, or with `None` gives it the api's defaults back. Both
/// or neither: the console shows and sets a bot's limit as a pair.
pub async fn set_bot_limits(
    db: &PgPool,
    keys: &Keyring,
    name: &str,
    limits: Option<(f64, u32)>,
) -> Result<(), ConsoleError> {
    let change = BotUpdate {
        limits: BotLimits {
            rate_per_sec: limits.map(|l| l.0),
            burst: limits.map(|l| l.1),
        },
        default_limits: true,
        ..BotUpdate::default()
    };
    Ok(bots::update_with_keys(db, keys, name, &change).await?)
}

pub async fn remove_bot(db: &PgPool, name: &str) -> Result<(), ConsoleError> {
    Ok(bots::remove(db, name).await?)
}

/// Every usable source with the day it was added (a row sealed under a key the api does not
/// hold is left out, as in `sources list`).
pub async fn list_sources(
    db: &PgPool,
    keys: &Keyring,
) -> Result<Vec<(Listed, DateTime<Utc>)>, ConsoleError> {
    let all = store::all(db, keys).await.map_err(SourcesError::from)?;
    let added = store::added_at(db).await.map_err(SourcesError::from)?;
    Ok(all
        .iter()
        .map(|s| {
            (
                Listed::from(s),
                added.get(&s.name).copied().unwrap_or_default(),
            )
        })
        .collect())
}

/// Registers source `name` signing with `scheme`, its events in `lane`, with a fresh signing
/// secret (sealed under the current key), returned once.
pub async fn add_source(
    db: &PgPool,
    keys: &Keyring,
    name: &str,
    scheme: &str,
    lane: &str,
) -> Result<Secret, ConsoleError> {
    let scheme: Scheme = scheme.parse().map_err(ConsoleError::BadRequest)?;
    let lane: Lane = lane
        .parse()
        .map_err(|e| ConsoleError::BadRequest(format!("{e}")))?;
    let secret = new_secret();
    let mut source = Source::new(name, scheme, secret.clone());
    source.lane = lane;
    manage::add_sealed(db, keys, &source).await?;
    Ok(secret)
}

/// Replaces source `name`'s signing secret with a fresh one, returned once: from then on only
/// the new one is accepted (a pending next secret is dropped too).
pub async fn rotate_source(
    db: &PgPool,
    keys: &Keyring,
    name: &str,
) -> Result<Secret, ConsoleError> {
    let secret = new_secret();
    manage::update_sealed(db, keys, name, |s| {
        s.secret = secret.clone();
        s.next_secret = None;
        Ok(())
    })
    .await?;
    Ok(secret)
}

pub async fn remove_source(db: &PgPool, name: &str) -> Result<(), ConsoleError> {
    Ok(manage::remove(db, name).await?)
}

/// The registry's errors as the console answers them: the operator's mistakes with their
/// message (none carries a secret), Postgres failing as unavailable.
impl From<BotsError> for ConsoleError {
    fn from(e: BotsError) -> ConsoleError {
        match e {
            BotsError::NotFound(_) => ConsoleError::NotFound,
            BotsError::Exists(_) => ConsoleError::Conflict(e.to_string()),
            BotsError::Db(e) => ConsoleError::unavailable(e),
            other => ConsoleError::BadRequest(other.to_string()),
        }
    }
}

impl From<SourcesError> for ConsoleError {
    fn from(e: SourcesError) -> ConsoleError {
        match e {
            SourcesError::NotFound(_) => ConsoleError::NotFound,
            SourcesError::Exists(_) | SourcesError::Unusable(..) => {
                ConsoleError::Conflict(e.to_string())
            }
            SourcesError::Db(e) => ConsoleError::unavailable(e),
            SourcesError::Migrate(e) => ConsoleError::unavailable(e),
            other => ConsoleError::BadRequest(other.to_string()),
        }
    }
}
