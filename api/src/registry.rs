//! The bot registry: the `bots` table, cached in memory and re-read every few seconds.
//!
//! Requests never query Postgres for a bot: a flood of deliveries for random bot names costs a
//! hash lookup, and a Postgres outage does not stop deliveries for bots already known.

use std::{
    collections::HashMap,
    sync::{Arc, RwLock},
    time::Duration,
};

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

/// A table cached in memory by name, swapped whole on each reload; `None` until the first
/// successful load. Bots and signed-webhook sources both live in one.
pub struct Cache<T> {
    entries: Arc<RwLock<Option<Snapshot<T>>>>,
}

/// One load of the table, shared by every reader until the next one replaces it.
type Snapshot<T> = Arc<HashMap<String, T>>;

impl<T> Clone for Cache<T> {
    fn clone(&self) -> Self {
        Cache {
            entries: self.entries.clone(),
        }
    }
}

impl<T> Default for Cache<T> {
    fn default() -> Self {
        Cache {
            entries: Arc::default(),
        }
    }
}

/// The answer to "is this name registered?".
pub enum Lookup<T> {
    Found(T),
    Unknown,
    /// The cache has never been loaded (Postgres down since start-up): we cannot say.
    NotLoaded,
}

impl<T: Clone> Cache<T> {
    pub fn lookup(&self, name: &str) -> Lookup<T> {
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
        *self.entries.write().unwrap_or_else(|p| p.into_inner()) = Some(Arc::new(map));
        n
    }
}

/// The bot registry.
#[derive(Clone, Default)]
pub struct Registry {
    bots: Cache<BotEntry>,
}

impl Registry {
    pub fn lookup(&self, name: &str) -> Lookup<BotEntry> {
        self.bots.lookup(name)
    }

    /// Re-reads the `bots` table and swaps the cache in one step.
    pub async fn reload(&self, db: &PgPool) -> Result<usize, sqlx::Error> {
        type Row = (i64, String, Vec<u8>, Option<f64>, Option<i32>);
        let mut tx = sluice_shared::db::begin(db).await?;
        let rows: Vec<Row> =
            sqlx::query_as("SELECT id, name, secret_sha256, rate_per_sec, burst FROM bots")
                .persistent(false)
                .fetch_all(&mut *tx)
                .await?;
        tx.commit().await?;
        let map: HashMap<String, BotEntry> = rows
            .into_iter()
            .filter_map(|(id, name, hash, rate_per_sec, burst)| {
                let secret_sha256: [u8; 32] = hash.try_into().ok()?;
                let limits = BotLimits {
                    rate_per_sec,
                    burst: burst.and_then(|b| u32::try_from(b).ok()),
                };
                Some((
                    name.clone(),
                    BotEntry {
                        id,
                        name,
                        secret_sha256,
                        limits,
                    },
                ))
            })
            .collect();
        Ok(self.bots.replace(map))
    }

    /// Keeps the cache fresh until the returned task is aborted; a failed reload keeps the last
    /// known registry.
    pub fn spawn_refresh(&self, db: PgPool, every: Duration) -> tokio::task::JoinHandle<()> {
        let registry = self.clone();
        refresh_every(every, "bot registry", move || {
            let (registry, db) = (registry.clone(), db.clone());
            async move { registry.reload(&db).await.map(|_| ()) }
        })
    }
}

/// Runs `reload` every `every` until the task is aborted; a failure is logged and the cache keeps
/// what it had.
pub fn refresh_every<F, Fut>(
    every: Duration,
    what: &'static str,
    reload: F,
) -> tokio::task::JoinHandle<()>
where
    F: Fn() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<(), sqlx::Error>> + Send,
{
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = reload().await {
                tracing::warn!(error = %e, "{what} reload failed; keeping the last known one");
            }
        }
    })
}
