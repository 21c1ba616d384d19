//! The `sluice-api bots add|update|list|remove` commands: the registry's only writers.

use sqlx::PgPool;

use crate::{
    registry::BotLimits,
    verify::{secret_hash, valid_secret},
};

#[derive(Debug, thiserror::Error)]
pub enum BotsError {
    #[error("bot names are 1-64 characters of A-Z a-z 0-9 _ - (got '{0}')")]
    BadName(String),
    #[error("a secret token is 1-256 characters of A-Z a-z 0-9 _ - (Telegram's own rule)")]
    BadSecret,
    #[error("no bot named '{0}'")]
    NotFound(String),
    #[error("a rate is a positive number of updates per second, a burst at least 1")]
    BadLimits,
    #[error("nothing to change: give --secret, --rate-per-sec, --burst or --default-limits")]
    NothingToChange,
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
}

fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
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
    if !valid_name(name) {
        return Err(BotsError::BadName(name.to_owned()));
    }
    if !valid_secret(secret) {
        return Err(BotsError::BadSecret);
    }
    check_limits(limits)?;
    let mut tx = sluice_shared::db::begin(db).await?;
    let inserted: bool = sqlx::query_scalar(
        "INSERT INTO bots (name, secret_sha256, rate_per_sec, burst) VALUES ($1, $2, $3, $4)
         ON CONFLICT (name) DO UPDATE SET secret_sha256 = EXCLUDED.secret_sha256,
             rate_per_sec = COALESCE(EXCLUDED.rate_per_sec, bots.rate_per_sec),
             burst = COALESCE(EXCLUDED.burst, bots.burst),
             updated_at = now()
         RETURNING (xmax = 0)",
    )
    .persistent(false)
    .bind(name)
    .bind(secret_hash(secret).as_slice())
    .bind(limits.rate_per_sec)
    .bind(burst_column(limits.burst)?)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(inserted)
}

/// What `bots update` changes; `None` fields stay as they are.
#[derive(Debug, Clone, Default)]
pub struct BotUpdate {
    pub secret: Option<String>,
    pub limits: BotLimits,
    /// Back to `SLUICE_RATE_BOT_PER_SEC` / `SLUICE_RATE_BOT_BURST` (before `limits` applies).
    pub default_limits: bool,
}

pub async fn update(db: &PgPool, name: &str, change: &BotUpdate) -> Result<(), BotsError> {
    if change.secret.is_none() && change.limits == BotLimits::default() && !change.default_limits {
        return Err(BotsError::NothingToChange);
    }
    if change.secret.as_deref().is_some_and(|s| !valid_secret(s)) {
        return Err(BotsError::BadSecret);
    }
    check_limits(change.limits)?;
    let mut tx = sluice_shared::db::begin(db).await?;
    let done = sqlx::query(
        "UPDATE bots SET secret_sha256 = COALESCE($2, secret_sha256),
             rate_per_sec = COALESCE($3, CASE WHEN $5 THEN NULL ELSE rate_per_sec END),
             burst = COALESCE($4, CASE WHEN $5 THEN NULL ELSE burst END),
             updated_at = now()
         WHERE name = $1",
    )
    .persistent(false)
    .bind(name)
    .bind(change.secret.as_deref().map(|s| secret_hash(s).to_vec()))
    .bind(change.limits.rate_per_sec)
    .bind(burst_column(change.limits.burst)?)
    .bind(change.default_limits)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    found(&done, name)
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

/// One row of `bots list`; in its JSON form, a limit left to the default is `null`.
#[derive(Debug, sqlx::FromRow, serde::Serialize)]
pub struct Listed {
    pub name: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub rate_per_sec: Option<f64>,
    pub burst: Option<i32>,
}

/// All bots, by name.
pub async fn list(db: &PgPool) -> Result<Vec<Listed>, BotsError> {
    let sql = "SELECT name, created_at, rate_per_sec, burst FROM bots ORDER BY name";
    Ok(sluice_shared::db::fetch_all(db, sql).await?)
}

pub async fn remove(db: &PgPool, name: &str) -> Result<(), BotsError> {
    let mut tx = sluice_shared::db::begin(db).await?;
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
