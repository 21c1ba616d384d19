//! Registered bots with sealed Bot API tokens, written as `sluice-api bots add --token` writes
//! them (the row, then its token sealed under the row's place), for tests of what workers send.

use sluice_shared::sealed::{Key, Keyring, places};
use sqlx::PgPool;

/// A fixed test key (base64 of 32 bytes) and its keyring: what a test gives the workers as
/// `SLUICE_SECRETS_KEY`.
pub const TEST_SECRETS_KEY: &str = "c2x1aWNlLXRlc3Qta2V5LTMyLWJ5dGVzLWxvbmchISE=";

pub fn test_keyring() -> Keyring {
    let key = Key::from_base64(TEST_SECRETS_KEY).expect("the test key is 32 bytes");
    Keyring::new(Some(key), None).expect("one key is a valid keyring")
}

/// A token of Telegram's shape for bot number `n`: `<id>:<35 characters>`.
pub fn test_token(n: u32) -> String {
    format!("{}:AAH{:032}", 700_000 + n, n)
}

/// Registers `name` with `token` sealed under [`TEST_SECRETS_KEY`].
pub async fn add_bot_with_token(db: &PgPool, name: &str, token: &str) -> anyhow::Result<i64> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO bots (name, secret_sha256) VALUES ($1, sha256($1::bytea)) RETURNING id",
    )
    .bind(name)
    .fetch_one(db)
    .await?;
    let sealed = test_keyring().seal(token.as_bytes(), places::bot_token(id))?;
    sqlx::query("UPDATE bots SET token_sealed = $2 WHERE id = $1")
        .bind(id)
        .bind(sealed)
        .execute(db)
        .await?;
    Ok(id)
}
