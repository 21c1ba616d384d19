//! Bots' Bot API tokens: read sealed from `bots.token_sealed`, opened with the keyring
//! (`SLUICE_SECRETS_KEY`, and its previous while rotating), kept in memory for
//! `SLUICE_BOTAPI_TOKEN_TTL` so a token changed with `bots update --token` reaches every worker
//! within it. The cache holds at most [`MAX_CACHED`] bots; a bot without a token is remembered
//! too, so a handler replying for it does not cost a query per call.

use std::{
    collections::HashMap,
    fmt,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use sluice_shared::sealed::{Keyring, Zeroizing, places};
use sqlx::PgPool;

use crate::error::BotApiError;

/// Bots whose token is kept in memory at once; past it expired entries go, then all of them.
const MAX_CACHED: usize = 10_000;

/// A bot's token in memory: wiped on drop, never shown by `Debug`.
pub struct Token(Zeroizing<String>);

impl Token {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token([redacted])")
    }
}

type Entry = (Instant, Option<Arc<Token>>);

pub struct Tokens {
    db: PgPool,
    keys: Keyring,
    ttl: Duration,
    cache: Mutex<HashMap<String, Entry>>,
}

impl Tokens {
    pub fn new(db: PgPool, keys: Keyring, ttl: Duration) -> Tokens {
        Tokens {
            db,
            keys,
            ttl,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The token of the bot registered as `bot`.
    pub async fn get(&self, bot: &str) -> Result<Arc<Token>, BotApiError> {
        let cached = self
            .lock()
            .get(bot)
            .and_then(|(until, token)| (Instant::now() < *until).then(|| token.clone()));
        let token = match cached {
            Some(token) => token,
            None => {
                let token = self.load(bot).await?;
                self.remember(bot, token.clone());
                token
            }
        };
        token.ok_or_else(|| BotApiError::NoToken(bot.to_owned()))
    }

    async fn load(&self, bot: &str) -> Result<Option<Arc<Token>>, BotApiError> {
        let row: Option<(i64, Option<Vec<u8>>)> =
            sqlx::query_as("SELECT id, token_sealed FROM bots WHERE name = $1")
                .persistent(false)
                .bind(bot)
                .fetch_optional(&self.db)
                .await
                .map_err(|e| BotApiError::Store(e.to_string()))?;
        let Some((id, Some(sealed))) = row else {
            return Ok(None);
        };
        let plain = self
            .keys
            .open(&sealed, places::bot_token(id))
            .map_err(|e| BotApiError::Token {
                bot: bot.to_owned(),
                why: e.to_string(),
            })?;
        let text = String::from_utf8(plain.to_vec()).map_err(|_| BotApiError::Token {
            bot: bot.to_owned(),
            why: "not text".into(),
        })?;
        Ok(Some(Arc::new(Token(Zeroizing::new(text)))))
    }

    fn remember(&self, bot: &str, token: Option<Arc<Token>>) {
        let mut cache = self.lock();
        if cache.len() >= MAX_CACHED {
            let now = Instant::now();
            cache.retain(|_, (until, _)| *until > now);
            if cache.len() >= MAX_CACHED {
                cache.clear();
            }
        }
        cache.insert(bot.to_owned(), (Instant::now() + self.ttl, token));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }
}
