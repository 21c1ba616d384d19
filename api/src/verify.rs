//! Trust as a type: a delivery becomes [`VerifiedBot`] only through [`verify_secret`] (its
//! fields are private, so no other module can make one).

use axum::http::HeaderMap;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::{
    error::ApiError,
    registry::{BotEntry, BotLimits},
};

pub const SECRET_HEADER: &str = "x-telegram-bot-api-secret-token";

/// A bot whose delivery carried its secret token.
#[derive(Debug, Clone)]
pub struct VerifiedBot {
    id: i64,
    name: String,
    limits: BotLimits,
}

impl VerifiedBot {
    /// The bot's row id: its rate-limit bucket's key.
    pub fn id(&self) -> i64 {
        self.id
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The bot's own limits (`bots.rate_per_sec`, `bots.burst`).
    pub fn limits(&self) -> BotLimits {
        self.limits
    }
}

/// The stored form of a secret token and its rule, shared with the writers.
pub use sluice_shared::registry::bots::{secret_hash, valid_secret};

/// Checks the `X-Telegram-Bot-Api-Secret-Token` header against the bot's stored hash.
///
/// Hashing first gives equal-length inputs, and the comparison is constant-time, so neither the
/// length nor a prefix of the secret leaks through timing.
pub fn verify_secret(bot: &BotEntry, headers: &HeaderMap) -> Result<VerifiedBot, ApiError> {
    let given = headers.get(SECRET_HEADER).ok_or(ApiError::Unauthorized)?;
    let hash = Sha256::digest(given.as_bytes());
    if bool::from(hash.as_slice().ct_eq(&bot.secret_sha256)) {
        Ok(VerifiedBot {
            id: bot.id,
            name: bot.name.clone(),
            limits: bot.limits,
        })
    } else {
        Err(ApiError::Unauthorized)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bot() -> BotEntry {
        BotEntry {
            id: 1,
            name: "b".into(),
            secret_sha256: secret_hash("s3cret"),
            limits: BotLimits::default(),
        }
    }

    fn headers(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(SECRET_HEADER, v.parse().unwrap());
        h
    }

    #[test]
    fn right_secret_verifies() {
        assert_eq!(
            verify_secret(&bot(), &headers("s3cret")).unwrap().name(),
            "b"
        );
    }

    #[test]
    fn wrong_or_missing_secret_is_refused() {
        assert!(matches!(
            verify_secret(&bot(), &headers("s3cre")),
            Err(ApiError::Unauthorized)
        ));
        assert!(matches!(
            verify_secret(&bot(), &HeaderMap::new()),
            Err(ApiError::Unauthorized)
        ));
    }

    #[test]
    fn secret_format_matches_telegram() {
        assert!(valid_secret("abc_DEF-123"));
        assert!(!valid_secret(""));
        assert!(!valid_secret("has space"));
        assert!(!valid_secret(&"a".repeat(257)));
    }
}
