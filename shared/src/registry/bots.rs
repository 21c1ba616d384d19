//! The `bots` table's writers and its secret-free listing, called by `sluice-api bots
//! add|update|list|remove` and by the console.
//!
//! A bot's webhook secret is stored as its SHA-256 only (it is compared, never needed back); its
//! Bot API token is needed back, so it is stored sealed ([`Keyring`]), bound to the bot's row.
//! So is the webhook secret once a key is set, to be sent on to a forward target
//! ([`forwarding`]).

pub mod forwarding;

pub use forwarding::{ForwardChange, SecretHeader};
use sha2::{Digest, Sha256};
use sqlx::{PgPool, Postgres, Transaction};

use super::valid_name;
use crate::{
    forward_url::{self, UrlProblem},
    sealed::{Aad, Keyring, SealError, places},
    secret::Secret,
};

/// A bot's own rate limit, field by field (either may be left to the default).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct BotLimits {
    pub rate_per_sec: Option<f64>,
    pub burst: Option<u32>,
}

/// SHA-256 of a secret token, as stored in `bots.secret_sha256`.
pub fn secret_hash(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// A secret token as Telegram accepts it: 1-256 characters of `A-Z a-z 0-9 _ -`.
pub fn valid_secret(secret: &str) -> bool {
    (1..=256).contains(&secret.len())
        && secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

#[derive(Debug, thiserror::Error)]
pub enum BotsError {
    #[error("bot names are 1-64 characters of A-Z a-z 0-9 _ - (got '{0}')")]
    BadName(String),
    #[error("a secret token is 1-256 characters of A-Z a-z 0-9 _ - (Telegram's own rule)")]
    BadSecret,
    #[error("no bot named '{0}'")]
    NotFound(String),
    #[error("a bot named '{0}' exists")]
    Exists(String),
    #[error("a rate is a positive number of updates per second, a burst at least 1")]
    BadLimits,
    #[error(
        "nothing to change: give --secret, --token, --rate-per-sec, --burst, --default-limits, \
         --forward-url, --default-forward-url or --forward-secret"
    )]
    NothingToChange,
    #[error("--forward-url {0}")]
    BadForwardUrl(UrlProblem),
    #[error(
        "--forward-secret on needs the bot's secret stored encrypted: give --secret with \
         SLUICE_SECRETS_KEY set (a secret given without a key is kept as a hash only)"
    )]
    SecretNotStored,
    #[error(
        "a bot token looks like 123456789:AA... (digits, a colon, then 30-100 of A-Z a-z 0-9 _ -)"
    )]
    BadToken,
    #[error("cannot store the bot token: {0}")]
    NoKey(#[from] SealError),
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
}

/// Registers `name`, or replaces its secret; returns true when the bot is new.
pub async fn add(db: &PgPool, name: &str, secret: &str) -> Result<bool, BotsError> {
    add_with_limits(db, name, secret, BotLimits::default()).await
}

/// As [`add`], with the bot's own rate limit; a limit left `None` keeps the bot's current one
/// (the default for a new bot).
pub async fn add_with_limits(
    db: &PgPool,
    name: &str,
    secret: &str,
    limits: BotLimits,
) -> Result<bool, BotsError> {
    add_with_token(db, &Keyring::default(), name, secret, limits, None).await
}

/// As [`add_with_limits`], with the bot's Bot API token (sealed under `keys`' current key;
/// refused without one). No token keeps the bot's current one.
pub async fn add_with_token(
    db: &PgPool,
    keys: &Keyring,
    name: &str,
    secret: &str,
    limits: BotLimits,
    token: Option<&Secret>,
) -> Result<bool, BotsError> {
    let forward = ForwardChange::default();
    add_forwarding(db, keys, name, secret, limits, token, &forward).await
}

/// As [`add_with_token`], with the bot's forwarding settings; the secret is also stored sealed
/// when `keys` can seal (to be sent on to the forward target).
pub async fn add_forwarding(
    db: &PgPool,
    keys: &Keyring,
    name: &str,
    secret: &str,
    limits: BotLimits,
    token: Option<&Secret>,
    forward: &ForwardChange,
) -> Result<bool, BotsError> {
    check_new(keys, name, secret, limits, token)?;
    forward.check()?;
    let mut tx = crate::db::begin(db).await?;
    let (id, inserted): (i64, bool) = sqlx::query_as(
        "INSERT INTO bots (name, secret_sha256, rate_per_sec, burst) VALUES ($1, $2, $3, $4)
         ON CONFLICT (name) DO UPDATE SET secret_sha256 = EXCLUDED.secret_sha256,
             rate_per_sec = COALESCE(EXCLUDED.rate_per_sec, bots.rate_per_sec),
             burst = COALESCE(EXCLUDED.burst, bots.burst),
             updated_at = now()
         RETURNING id, (xmax = 0)",
    )
    .persistent(false)
    .bind(name)
    .bind(secret_hash(secret).as_slice())
    .bind(limits.rate_per_sec)
    .bind(burst_column(limits.burst)?)
    .fetch_one(&mut *tx)
    .await?;
    if let Some(token) = token {
        store_token(&mut tx, keys, id, token).await?;
    }
    forwarding::apply(&mut tx, keys, id, Some(secret), forward).await?;
    tx.commit().await?;
    Ok(inserted)
}

/// Registers a new bot `name` with the default limits and forwarding; unlike [`add`], a name in
/// use is refused ([`BotsError::Exists`]) and its secret left as it is (the console's add).
pub async fn create(
    db: &PgPool,
    keys: &Keyring,
    name: &str,
    secret: &str,
    token: Option<&Secret>,
) -> Result<(), BotsError> {
    check_new(keys, name, secret, BotLimits::default(), token)?;
    let mut tx = crate::db::begin(db).await?;
    let id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO bots (name, secret_sha256) VALUES ($1, $2)
         ON CONFLICT (name) DO NOTHING RETURNING id",
    )
    .persistent(false)
    .bind(name)
    .bind(secret_hash(secret).as_slice())
    .fetch_optional(&mut *tx)
    .await?;
    let id = id.ok_or_else(|| BotsError::Exists(name.to_owned()))?;
    if let Some(token) = token {
        store_token(&mut tx, keys, id, token).await?;
    }
    forwarding::apply(&mut tx, keys, id, Some(secret), &ForwardChange::default()).await?;
    tx.commit().await?;
    Ok(())
}

/// What a new bot's settings must be, checked before anything is written.
fn check_new(
    keys: &Keyring,
    name: &str,
    secret: &str,
    limits: BotLimits,
    token: Option<&Secret>,
) -> Result<(), BotsError> {
    if !valid_name(name) {
        return Err(BotsError::BadName(name.to_owned()));
    }
    if !valid_secret(secret) {
        return Err(BotsError::BadSecret);
    }
    check_limits(limits)?;
    check_token(keys, token)
}

/// Telegram's token shape (`<bot id>:<35 characters>` today), loosely: a typo is caught, a
/// longer future token is not refused. The error never shows the value.
fn valid_token(token: &str) -> bool {
    token.split_once(':').is_some_and(|(id, rest)| {
        (1..=20).contains(&id.len())
            && id.bytes().all(|b| b.is_ascii_digit())
            && (30..=100).contains(&rest.len())
            && rest
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    })
}

/// A token is checked, and a key required, before anything is written.
fn check_token(keys: &Keyring, token: Option<&Secret>) -> Result<(), BotsError> {
    match token {
        Some(t) if !valid_token(t.expose()) => Err(BotsError::BadToken),
        Some(_) if !keys.can_seal() => Err(SealError::NoKey.into()),
        _ => Ok(()),
    }
}

/// Where a bot's sealed token lives; authenticated with it.
pub fn token_place(id: i64) -> Aad<'static> {
    places::bot_token(id)
}

async fn store_token(
    tx: &mut Transaction<'static, Postgres>,
    keys: &Keyring,
    id: i64,
    token: &Secret,
) -> Result<(), BotsError> {
    let sealed = keys.seal(token.expose().as_bytes(), token_place(id))?;
    sqlx::query("UPDATE bots SET token_sealed = $2, updated_at = now() WHERE id = $1")
        .persistent(false)
        .bind(id)
        .bind(sealed)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// What `bots update` changes; `None` fields stay as they are.
#[derive(Debug, Clone, Default)]
pub struct BotUpdate {
    pub secret: Option<String>,
    /// A new Bot API token (stored sealed: needs a key, see [`update_with_keys`]).
    pub token: Option<Secret>,
    pub limits: BotLimits,
    /// Back to `SLUICE_RATE_BOT_PER_SEC` / `SLUICE_RATE_BOT_BURST` (before `limits` applies).
    pub default_limits: bool,
    pub forward: ForwardChange,
}

pub async fn update(db: &PgPool, name: &str, change: &BotUpdate) -> Result<(), BotsError> {
    update_with_keys(db, &Keyring::default(), name, change).await
}

/// Changes what `change` names; a token is sealed under `keys`' current key.
pub async fn update_with_keys(
    db: &PgPool,
    keys: &Keyring,
    name: &str,
    change: &BotUpdate,
) -> Result<(), BotsError> {
    let nothing = change.secret.is_none()
        && change.token.is_none()
        && change.limits == BotLimits::default()
        && !change.default_limits
        && change.forward.is_empty();
    if nothing {
        return Err(BotsError::NothingToChange);
    }
    if change.secret.as_deref().is_some_and(|s| !valid_secret(s)) {
        return Err(BotsError::BadSecret);
    }
    check_limits(change.limits)?;
    check_token(keys, change.token.as_ref())?;
    change.forward.check()?;
    let mut tx = crate::db::begin(db).await?;
    let id: Option<i64> = sqlx::query_scalar(
        "UPDATE bots SET secret_sha256 = COALESCE($2, secret_sha256),
             rate_per_sec = COALESCE($3, CASE WHEN $5 THEN NULL ELSE rate_per_sec END),
             burst = COALESCE($4, CASE WHEN $5 THEN NULL ELSE burst END),
             updated_at = now()
         WHERE name = $1 RETURNING id",
    )
    .persistent(false)
    .bind(name)
    .bind(change.secret.as_deref().map(|s| secret_hash(s).to_vec()))
    .bind(change.limits.rate_per_sec)
    .bind(burst_column(change.limits.burst)?)
    .bind(change.default_limits)
    .fetch_optional(&mut *tx)
    .await?;
    let id = id.ok_or_else(|| BotsError::NotFound(name.to_owned()))?;
    if let Some(token) = &change.token {
        store_token(&mut tx, keys, id, token).await?;
    }
    let secret = change.secret.as_deref();
    forwarding::apply(&mut tx, keys, id, secret, &change.forward).await?;
    tx.commit().await?;
    Ok(())
}

fn check_limits(limits: BotLimits) -> Result<(), BotsError> {
    let rate_ok = limits.rate_per_sec.is_none_or(|r| r.is_finite() && r > 0.0);
    if !rate_ok || limits.burst == Some(0) {
        return Err(BotsError::BadLimits);
    }
    Ok(())
}

fn burst_column(burst: Option<u32>) -> Result<Option<i32>, BotsError> {
    burst
        .map(|b| i32::try_from(b).map_err(|_| BotsError::BadLimits))
        .transpose()
}

/// One row of `bots list`; in its JSON form, a limit or forward URL left to the default is
/// `null`.
#[derive(Debug, sqlx::FromRow, serde::Serialize)]
pub struct Listed {
    pub name: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub rate_per_sec: Option<f64>,
    pub burst: Option<i32>,
    /// The bot's own forward target, shown by its origin only ([`forward_url::shown`]).
    pub forward_url: Option<String>,
    /// Whether its webhook secret is sent on as `X-Telegram-Bot-Api-Secret-Token`.
    pub forward_secret: bool,
    /// The console shows these; `bots list --output json` keeps its fields.
    #[serde(skip)]
    pub updated_at: chrono::DateTime<chrono::Utc>,
    /// Whether a Bot API token is on file (never the token, nor its sealed form).
    #[serde(skip)]
    pub has_token: bool,
}

/// All bots, by name.
pub async fn list(db: &PgPool) -> Result<Vec<Listed>, BotsError> {
    let sql = "SELECT name, created_at, rate_per_sec, burst, forward_url,
                      (forward_secret IS DISTINCT FROM false AND secret_sealed IS NOT NULL)
                          AS forward_secret,
                      updated_at, token_sealed IS NOT NULL AS has_token
               FROM bots ORDER BY name";
    let mut all: Vec<Listed> = crate::db::fetch_all(db, sql).await?;
    for bot in &mut all {
        bot.forward_url = bot.forward_url.take().map(|raw| {
            forward_url::parse(&raw)
                .map_or_else(|_| "(invalid)".to_owned(), |u| forward_url::shown(&u))
        });
    }
    Ok(all)
}

pub async fn remove(db: &PgPool, name: &str) -> Result<(), BotsError> {
    let mut tx = crate::db::begin(db).await?;
    let done = sqlx::query("DELETE FROM bots WHERE name = $1")
        .persistent(false)
        .bind(name)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    found(&done, name)
}

/// A statement on bot `name` that touched no row: there is no such bot.
fn found(done: &sqlx::postgres::PgQueryResult, name: &str) -> Result<(), BotsError> {
    if done.rows_affected() == 0 {
        return Err(BotsError::NotFound(name.to_owned()));
    }
    Ok(())
}
