//! The registries: tables that requests look names up in (bots, signed-webhook sources), each
//! a [`Cache`] of its [`Table`] in memory, re-read every few seconds.
//!
//! Requests never query Postgres for a bot or a source: a flood of deliveries for random names
//! costs a hash lookup, and a Postgres outage does not stop deliveries for names already known.

use std::{
    collections::HashMap,
    future::Future,
    sync::{Arc, RwLock},
    time::Duration,
};

use sluice_shared::sealed::Keyring;
use sqlx::PgPool;

#[derive(Debug, Clone)]
pub struct BotEntry {
    /// The row id: a compact key for the bot's rate-limit buckets.
    pub id: i64,
    pub name: String,
    pub secret_sha256: [u8; 32],
    /// The bot's own limits; `None` takes `SLUICE_RATE_BOT_PER_SEC` / `SLUICE_RATE_BOT_BURST`.
    pub limits: BotLimits,
}

/// A bot's own rate limit, field by field (either may be left to the default).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct BotLimits {
    pub rate_per_sec: Option<f64>,
    pub burst: Option<u32>,
}

/// The bot registry: the `bots` table.
pub type BotRegistry = Cache<BotEntry>;

/// A table whose rows a [`Cache`] holds by name.
pub trait Table: Send + Sync + Sized + 'static {
    /// The cache's name in logs ("bot registry").
    const WHAT: &'static str;
    /// Every usable row, by name; sealed secrets opened with `keys`.
    fn load(
        db: &PgPool,
        keys: &Keyring,
    ) -> impl Future<Output = Result<HashMap<String, Self>, sqlx::Error>> + Send;
}

impl Table for BotEntry {
    const WHAT: &'static str = "bot registry";

    async fn load(db: &PgPool, _keys: &Keyring) -> Result<HashMap<String, BotEntry>, sqlx::Error> {
        type Row = (i64, String, Vec<u8>, Option<f64>, Option<i32>);
        let sql = "SELECT id, name, secret_sha256, rate_per_sec, burst FROM bots";
        let rows: Vec<Row> = sluice_shared::db::fetch_all(db, sql).await?;
        Ok(rows
            .into_iter()
            .filter_map(|(id, name, hash, rate_per_sec, burst)| {
                let secret_sha256: [u8; 32] = hash.try_into().ok()?;
                let limits = BotLimits {
                    rate_per_sec,
                    burst: burst.and_then(|b| u32::try_from(b).ok()),
                };
                let entry = BotEntry {
                    id,
                    name: name.clone(),
                    secret_sha256,
                    limits,
                };
                Some((name, entry))
            })
            .collect())
    }
}

/// A table cached in memory by name, swapped whole on each reload; `None` until the first
/// successful load. Entries are shared, never copied, by the requests that look them up.
/// Opened secrets live only here, in memory, as wiped-on-drop [`sluice_shared::secret::Secret`]s.
pub struct Cache<T> {
    entries: Arc<RwLock<Option<Snapshot<T>>>>,
    /// Opens the table's sealed secrets on each load.
    keys: Arc<Keyring>,
}

/// One load of the table, shared by every reader until the next one replaces it.
type Snapshot<T> = Arc<HashMap<String, Arc<T>>>;

impl<T> Clone for Cache<T> {
    fn clone(&self) -> Self {
        Cache {
            entries: self.entries.clone(),
            keys: self.keys.clone(),
        }
    }
}

impl<T> Default for Cache<T> {
    fn default() -> Self {
        Cache::with_keys(Arc::default())
    }
}

/// The answer to "is this name registered?".
pub enum Lookup<T> {
    Found(T),
    Unknown,
    /// The cache has never been loaded (Postgres down since start-up): we cannot say.
    NotLoaded,
}

impl<T> Cache<T> {
    /// An empty cache whose loads open sealed secrets with `keys`.
    pub fn with_keys(keys: Arc<Keyring>) -> Self {
        Cache {
            entries: Arc::default(),
            keys,
        }
    }

    pub fn lookup(&self, name: &str) -> Lookup<Arc<T>> {
        let guard = self.entries.read().unwrap_or_else(|p| p.into_inner());
        match guard.as_ref() {
            None => Lookup::NotLoaded,
            Some(map) => map
                .get(name)
                .cloned()
                .map_or(Lookup::Unknown, Lookup::Found),
        }
    }

    /// Replaces everything the cache knows in one step; answers how many entries it now holds.
    pub fn replace(&self, map: HashMap<String, T>) -> usize {
        let n = map.len();
        let map = map.into_iter().map(|(k, v)| (k, Arc::new(v))).collect();
        *self.entries.write().unwrap_or_else(|p| p.into_inner()) = Some(Arc::new(map));
        n
    }
}

impl<T: Table> Cache<T> {
    /// Re-reads the table and swaps the cache in one step; answers how many entries it holds.
    pub async fn reload(&self, db: &PgPool) -> Result<usize, sqlx::Error> {
        Ok(self.replace(T::load(db, &self.keys).await?))
    }

    /// Keeps the cache fresh until the returned task is aborted; a failed reload is logged and
    /// the cache keeps what it had.
    pub fn spawn_refresh(&self, db: PgPool, every: Duration) -> tokio::task::JoinHandle<()> {
        let cache = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                if let Err(e) = cache.reload(&db).await {
                    tracing::warn!(error = %e, "{} reload failed; keeping the last known one", T::WHAT);
                }
            }
        })
    }
}
