//! Which registered bot a presented token belongs to, for the Bot API proxy: every
//! `bots.token_sealed` opened with the keyring, kept as SHA-256(token) → bot name.
//!
//! A presented token is hashed and looked up, never compared byte by byte with stored ones (no
//! timing to learn a token from). The index is reloaded when older than its TTL
//! (`SLUICE_BOTAPI_TOKEN_TTL`), and at once on a miss if the last load is at least
//! [`MISS_RELOAD`] old: a token added or rotated with `bots add|update --token` is served within
//! about a second, while a flood of unknown tokens costs at most one load per [`MISS_RELOAD`].
//! One load at a time: callers that find one running wait for it instead of starting another.

use std::{
    collections::HashMap,
    sync::{Arc, RwLock},
    time::{Duration, Instant},
};

use sha2::{Digest, Sha256};
use sluice_shared::sealed::{Keyring, places};
use sqlx::PgPool;

use crate::error::BotApiError;

/// Least time between two loads caused by unknown tokens.
pub const MISS_RELOAD: Duration = Duration::from_secs(1);

type Digest32 = [u8; 32];

struct Snapshot {
    loaded: Instant,
    bots: HashMap<Digest32, String>,
}

pub struct TokenIndex {
    db: PgPool,
    keys: Keyring,
    ttl: Duration,
    current: RwLock<Arc<Snapshot>>,
    /// Held while loading: one load at a time.
    loading: tokio::sync::Mutex<()>,
}

impl TokenIndex {
    /// An empty index (the first lookup loads it).
    pub fn new(db: PgPool, keys: Keyring, ttl: Duration) -> TokenIndex {
        let never = Instant::now()
            .checked_sub(ttl.max(MISS_RELOAD) * 2)
            .unwrap_or_else(Instant::now);
        TokenIndex {
            db,
            keys,
            ttl,
            current: RwLock::new(Arc::new(Snapshot {
                loaded: never,
                bots: HashMap::new(),
            })),
            loading: tokio::sync::Mutex::new(()),
        }
    }

    /// The name of the bot whose token is `token`, or `None` when no registered bot has it.
    pub async fn bot(&self, token: &str) -> Result<Option<String>, BotApiError> {
        let digest: Digest32 = Sha256::digest(token.as_bytes()).into();
        let snap = self.snapshot();
        let age = snap.loaded.elapsed();
        let found = snap.bots.get(&digest).cloned();
        let stale = age >= self.ttl || (found.is_none() && age >= MISS_RELOAD);
        if !stale {
            return Ok(found);
        }
        let fresh = self.reload(snap.loaded).await?;
        Ok(fresh.bots.get(&digest).cloned())
    }

    /// Loads every sealed token once: returns a snapshot newer than `seen`, loading it unless
    /// another caller did meanwhile.
    async fn reload(&self, seen: Instant) -> Result<Arc<Snapshot>, BotApiError> {
        let _one = self.loading.lock().await;
        let snap = self.snapshot();
        if snap.loaded > seen {
            return Ok(snap);
        }
        let rows: Vec<(i64, String, Vec<u8>)> = sqlx::query_as(
            "SELECT id, name, token_sealed FROM bots WHERE token_sealed IS NOT NULL",
        )
        .persistent(false)
        .fetch_all(&self.db)
        .await
        .map_err(|e| BotApiError::Store(e.to_string()))?;
        let mut bots = HashMap::with_capacity(rows.len());
        for (id, name, sealed) in rows {
            match self.keys.open(&sealed, places::bot_token(id)) {
                Ok(plain) => {
                    bots.insert(Sha256::digest(&plain[..]).into(), name);
                }
                // Served by nobody until fixed; named here so the operator can fix it.
                Err(e) => tracing::warn!(bot = %name, error = %e,
                    "a bot's token does not open: the Bot API proxy refuses it"),
            }
        }
        let snap = Arc::new(Snapshot {
            loaded: Instant::now(),
            bots,
        });
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = snap.clone();
        Ok(snap)
    }

    fn snapshot(&self) -> Arc<Snapshot> {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}
