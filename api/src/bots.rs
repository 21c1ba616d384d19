//! The `sluice-api bots add|list|remove` commands: the registry's only writers.

use sqlx::PgPool;

use crate::verify::{secret_hash, valid_secret};

#[derive(Debug, thiserror::Error)]
pub enum BotsError {
    #[error("bot names are 1-64 characters of A-Z a-z 0-9 _ - (got '{0}')")]
    BadName(String),
    #[error("a secret token is 1-256 characters of A-Z a-z 0-9 _ - (Telegram's own rule)")]
    BadSecret,
    #[error("no bot named '{0}'")]
    NotFound(String),
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
    if !valid_name(name) {
        return Err(BotsError::BadName(name.to_owned()));
    }
    if !valid_secret(secret) {
        return Err(BotsError::BadSecret);
    }
    let mut tx = sluice_shared::db::begin(db).await?;
    let inserted: bool = sqlx::query_scalar(
        "INSERT INTO bots (name, secret_sha256) VALUES ($1, $2)
         ON CONFLICT (name) DO UPDATE SET secret_sha256 = EXCLUDED.secret_sha256, updated_at = now()
         RETURNING (xmax = 0)",
    )
    .persistent(false)
    .bind(name)
    .bind(secret_hash(secret).as_slice())
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(inserted)
}

/// Names and registration times of all bots, by name.
pub async fn list(db: &PgPool) -> Result<Vec<(String, chrono::DateTime<chrono::Utc>)>, BotsError> {
    let mut tx = sluice_shared::db::begin(db).await?;
    let bots = sqlx::query_as("SELECT name, created_at FROM bots ORDER BY name")
        .persistent(false)
        .fetch_all(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(bots)
}

pub async fn remove(db: &PgPool, name: &str) -> Result<(), BotsError> {
    let mut tx = sluice_shared::db::begin(db).await?;
    let done = sqlx::query("DELETE FROM bots WHERE name = $1")
        .persistent(false)
        .bind(name)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    if done.rows_affected() == 0 {
        return Err(BotsError::NotFound(name.to_owned()));
    }
    Ok(())
}
