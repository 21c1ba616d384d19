//! Each bot's forward target, read from the `bots` table (`sluice-api bots add|update
//! --forward-url --forward-secret`) and kept for [`TTL`]: a change reaches every worker within
//! that, without a restart, and a busy bot costs one query per [`TTL`].

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use reqwest::Url;
use sluice_shared::{
    forward_url,
    sealed::{Keyring, places},
    secret::Secret,
};
use sqlx::PgPool;
use tokio::time::{Duration, Instant};

/// How long a bot's settings are used before they are read again.
pub const TTL: Duration = Duration::from_secs(5);

/// Bots remembered at once; past it, expired entries go first, then all (a worker serves the
/// registered bots, so this is only reached by a registry far larger than usual).
const MAX_BOTS: usize = 10_000;

/// Where one bot's updates go and what they carry.
#[derive(Debug, Clone, Default)]
pub struct BotTarget {
    /// The bot's own URL; `None`: the worker's `SLUICE_FORWARD_URL`.
    pub url: Option<Url>,
    /// The bot's Telegram webhook secret token, to send as `X-Telegram-Bot-Api-Secret-Token`
    /// (`None`: not stored sealed, or `--forward-secret off`).
    pub secret_token: Option<Secret>,
}

/// Why a bot's settings cannot be used. No variant holds the URL or a secret's bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error("reading bot '{bot}' from the registry: {reason}")]
    Db { bot: String, reason: String },
    /// Written by `bots update`, which checks it: only a hand-edited row gets here.
    #[error(
        "bot '{bot}' has a forward URL that {problem} (fix it with `sluice-api bots update {bot} --forward-url`)"
    )]
    BadUrl {
        bot: String,
        problem: forward_url::UrlProblem,
    },
    #[error(
        "bot '{bot}' has its webhook secret stored encrypted, and it does not open: {reason} (set the key, or `bots update {bot} --forward-secret off`)"
    )]
    Secret { bot: String, reason: String },
}

type Entry = (Instant, Result<Arc<BotTarget>, TargetError>);

/// A `bots` row's forwarding columns: id, forward_url, secret_sealed, forward_secret.
type Row = (i64, Option<String>, Option<Vec<u8>>, Option<bool>);

/// The per-bot settings, read through a cache with a bounded age.
#[derive(Debug, Clone)]
pub struct BotTargets {
    keys: Arc<Keyring>,
    cache: Arc<Mutex<HashMap<String, Entry>>>,
}

impl BotTargets {
    pub fn new(keys: Arc<Keyring>) -> BotTargets {
        BotTargets {
            keys,
            cache: Arc::default(),
        }
    }

    /// Bot `bot`'s target, read at most [`TTL`] ago. A bot the registry does not hold (removed
    /// since its update was accepted) gets the defaults. A failed read is not kept: the next
    /// update tries again.
    pub async fn get(&self, db: &PgPool, bot: &str) -> Result<Arc<BotTarget>, TargetError> {
        let now = Instant::now();
        if let Some((read_at, target)) = self.lock().get(bot)
            && now.duration_since(*read_at) < TTL
        {
            return target.clone();
        }
        let target = self.read(db, bot).await;
        if matches!(target, Err(TargetError::Db { .. })) {
            return target;
        }
        let mut cache = self.lock();
        if cache.len() >= MAX_BOTS {
            cache.retain(|_, (read_at, _)| now.duration_since(*read_at) < TTL);
            if cache.len() >= MAX_BOTS {
                cache.clear();
            }
        }
        cache.insert(bot.to_owned(), (now, target.clone()));
        target
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }

    async fn read(&self, db: &PgPool, bot: &str) -> Result<Arc<BotTarget>, TargetError> {
        let row: Option<Row> = sqlx::query_as(
            "SELECT id, forward_url, secret_sealed, forward_secret FROM bots WHERE name = $1",
        )
        .persistent(false)
        .bind(bot)
        .fetch_optional(db)
        .await
        .map_err(|e| TargetError::Db {
            bot: bot.to_owned(),
            reason: e.to_string(),
        })?;
        let Some((id, url, sealed, send_secret)) = row else {
            return Ok(Arc::default());
        };
        let url = url
            .map(|raw| forward_url::parse(&raw))
            .transpose()
            .map_err(|problem| TargetError::BadUrl {
                bot: bot.to_owned(),
                problem,
            })?;
        let secret_token = match sealed {
            Some(sealed) if send_secret != Some(false) => Some(self.open(bot, id, &sealed)?),
            _ => None,
        };
        Ok(Arc::new(BotTarget { url, secret_token }))
    }

    fn open(&self, bot: &str, id: i64, sealed: &[u8]) -> Result<Secret, TargetError> {
        let failed = |reason: String| TargetError::Secret {
            bot: bot.to_owned(),
            reason,
        };
        let plain = self
            .keys
            .open(sealed, places::bot_secret(id))
            .map_err(|e| failed(e.to_string()))?;
        let text = std::str::from_utf8(&plain).map_err(|_| failed("not UTF-8".into()))?;
        Ok(Secret::unchecked(text))
    }
}
