//! The source registry: the `sources` table, cached in memory and re-read every few seconds.
//!
//! As for bots, requests never query Postgres: a flood of deliveries for made-up source names
//! costs a hash lookup, and a Postgres outage does not stop deliveries from known sources.

use std::{
    collections::HashMap,
    sync::{Arc, RwLock},
    time::Duration,
};

use sqlx::PgPool;

use super::{Source, store};

type Sources = Arc<HashMap<String, Arc<Source>>>;

/// What the cache knows; `None` until the first successful load.
#[derive(Clone, Default)]
pub struct SourceRegistry {
    sources: Arc<RwLock<Option<Sources>>>,
}

/// The answer to "is this source registered?".
pub enum Lookup {
    Found(Arc<Source>),
    Unknown,
    /// Never loaded (Postgres down since start-up): we cannot say.
    NotLoaded,
}

impl SourceRegistry {
    pub fn lookup(&self, name: &str) -> Lookup {
        let guard = self.sources.read().unwrap_or_else(|p| p.into_inner());
        match guard.as_ref() {
            None => Lookup::NotLoaded,
            Some(map) => map
                .get(name)
                .cloned()
                .map_or(Lookup::Unknown, Lookup::Found),
        }
    }

    /// Re-reads the `sources` table and swaps the cache in one step.
    pub async fn reload(&self, db: &PgPool) -> Result<usize, sqlx::Error> {
        let map: HashMap<String, Arc<Source>> = store::all(db)
            .await?
            .into_iter()
            .map(|s| (s.name.clone(), Arc::new(s)))
            .collect();
        let n = map.len();
        *self.sources.write().unwrap_or_else(|p| p.into_inner()) = Some(Arc::new(map));
        Ok(n)
    }

    /// Keeps the cache fresh until the returned task is aborted; a failed reload keeps the last
    /// known sources.
    pub fn spawn_refresh(&self, db: PgPool, every: Duration) -> tokio::task::JoinHandle<()> {
        let registry = self.clone();
        crate::registry::refresh_every(every, "source registry", move || {
            let (registry, db) = (registry.clone(), db.clone());
            async move { registry.reload(&db).await.map(|_| ()) }
        })
    }
}
