//! The registries: tables that requests look names up in (bots, signed-webhook sources), each
//! a [`Cache`] of its [`Table`] in memory, re-read every few seconds.
//!
//! Requests never query Postgres for a bot or a source: a flood of deliveries for random names
//! costs a hash lookup, and a Postgres outage does not stop deliveries for names already known.
//! A name unknown to the cache is unknown (404), not looked up; the api is ready once every
//! registry has loaded once, whether or not Postgres answers now (`crate::vitals`).

use std::{
    collections::HashMap,
    future::Future,
    sync::{Arc, RwLock},
    time::{Duration, Instant},
};

use sluice_shared::{metrics as m, sealed::Keyring};
use sqlx::{PgPool, migrate::MigrateError};
use tokio::sync::OnceCell;

#[derive(Debug, Clone)]
pub struct BotEntry {
    /// The row id: a compact key for the bot's rate-limit buckets.
    pub id: i64,
    pub name: String,
    pub secret_sha256: [u8; 32],
    /// The bot's own limits; `None` takes `SLUICE_RATE_BOT_PER_SEC` / `SLUICE_RATE_BOT_BURST`.
    pub limits: BotLimits,
}

/// A bot's own rate limit (written by [`sluice_shared::registry::bots`]).
pub use sluice_shared::registry::bots::BotLimits;

/// The bot registry: the `bots` table.
pub type BotRegistry = Cache<BotEntry>;

/// A table whose rows a [`Cache`] holds by name.
pub trait Table: Send + Sync + Sized + 'static {
    /// The cache's name in logs and `/readyz` ("bot registry").
    const WHAT: &'static str;
    /// Its `registry` label in metrics ("bots").
    const LABEL: &'static str;
    /// Every usable row, by name; sealed secrets opened with `keys`.
    fn load(
        db: &PgPool,
        keys: &Keyring,
    ) -> impl Future<Output = Result<HashMap<String, Self>, sqlx::Error>> + Send;
}

impl Table for BotEntry {
    const WHAT: &'static str = "bot registry";
    const LABEL: &'static str = "bots";

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
    entries: Arc<RwLock<Option<Loaded<T>>>>,
    /// Opens the table's sealed secrets on each load.
    keys: Arc<Keyring>,
}

/// One load of the table, shared by every reader until the next one replaces it.
struct Loaded<T> {
    map: Arc<HashMap<String, Arc<T>>>,
    at: Instant,
}

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
            Some(loaded) => loaded
                .map
                .get(name)
                .cloned()
                .map_or(Lookup::Unknown, Lookup::Found),
        }
    }

    /// Replaces everything the cache knows in one step; answers how many entries it now holds.
    pub fn replace(&self, map: HashMap<String, T>) -> usize {
        let n = map.len();
        let map = map.into_iter().map(|(k, v)| (k, Arc::new(v))).collect();
        let loaded = Loaded {
            map: Arc::new(map),
            at: Instant::now(),
        };
        *self.entries.write().unwrap_or_else(|p| p.into_inner()) = Some(loaded);
        n
    }

    /// How long ago the table was last loaded; `None` before the first load.
    pub fn age(&self) -> Option<Duration> {
        let guard = self.entries.read().unwrap_or_else(|p| p.into_inner());
        guard.as_ref().map(|loaded| loaded.at.elapsed())
    }
}

impl<T: Table> Cache<T> {
    /// Re-reads the table and swaps the cache in one step; answers how many entries it holds.
    pub async fn reload(&self, db: &PgPool) -> Result<usize, sqlx::Error> {
        Ok(self.replace(T::load(db, &self.keys).await?))
    }

    /// Keeps the cache fresh until the returned task is aborted, applying `migrations` first
    /// if they are still pending. A failed reload is logged and counted, and the cache keeps
    /// what it had: requests for known names go on through a Postgres outage.
    pub fn spawn_refresh(
        &self,
        db: PgPool,
        every: Duration,
        migrations: Migrations,
    ) -> tokio::task::JoinHandle<()> {
        let cache = self.clone();
        let labels = [(m::LABEL_REGISTRY, T::LABEL)];
        metrics::counter!(m::REGISTRY_REFRESH_FAILURES_TOTAL, &labels).increment(0);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let refreshed = match migrations.ensure(&db).await {
                    Ok(()) => cache.reload(&db).await.map_err(|e| e.to_string()),
                    Err(e) => Err(format!("applying migrations (SLUICE_AUTO_MIGRATE): {e}")),
                };
                if let Err(error) = refreshed {
                    metrics::counter!(m::REGISTRY_REFRESH_FAILURES_TOTAL, &labels).increment(1);
                    match cache.age() {
                        Some(age) => tracing::warn!(%error, age_s = age.as_secs(),
                            "{} reload failed; keeping the last loaded one", T::WHAT),
                        None => tracing::warn!(%error,
                            "{} not loaded yet; its deliveries get 503 until it is", T::WHAT),
                    }
                }
                if let Some(age) = cache.age() {
                    metrics::gauge!(m::REGISTRY_AGE_SECONDS, &labels).set(age.as_secs_f64());
                }
            }
        })
    }
}

/// The migrations the registries wait for: applied at start-up normally; when Postgres was down
/// then, applied by the first refresh that reaches it, before any registry reads its table (a
/// newer api must not load an older schema).
#[derive(Clone)]
pub struct Migrations {
    applied: Arc<OnceCell<()>>,
}

impl Migrations {
    /// Nothing to wait for: applied at start-up, or not this process's job.
    pub fn done() -> Migrations {
        Migrations {
            applied: Arc::new(OnceCell::new_with(Some(()))),
        }
    }

    /// Postgres could not be reached at start-up to apply them.
    pub fn pending() -> Migrations {
        Migrations {
            applied: Arc::new(OnceCell::new()),
        }
    }

    pub fn is_pending(&self) -> bool {
        !self.applied.initialized()
    }

    /// Applies them unless done; concurrent callers wait for one attempt, a failed attempt
    /// leaves them pending for the next call.
    pub async fn ensure(&self, db: &PgPool) -> Result<(), MigrateError> {
        self.applied
            .get_or_try_init(|| sluice_shared::db::migrate(db))
            .await
            .map(|_| ())
    }

    /// Applies them at start-up: an error that only says Postgres cannot be reached leaves them
    /// pending (the api starts, not ready); any other error stops the start.
    pub async fn at_startup(db: &PgPool) -> Result<Migrations, MigrateError> {
        match sluice_shared::db::migrate(db).await {
            Ok(()) => Ok(Migrations::done()),
            Err(MigrateError::Execute(
                e @ (sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::Tls(_)),
            )) => {
                tracing::warn!(error = %e, "postgres unreachable: migrations wait for it, and so do the registries");
                Ok(Migrations::pending())
            }
            Err(e) => Err(e),
        }
    }
}
