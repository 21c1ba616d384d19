//! The source registry: the `sources` table, cached in memory and re-read every few seconds.
//!
//! As for bots, requests never query Postgres: a flood of deliveries for made-up source names
//! costs a hash lookup, and a Postgres outage does not stop deliveries from known sources.

use std::{collections::HashMap, sync::Arc, time::Duration};

use sqlx::PgPool;

use super::{Source, store};

use crate::registry::Cache;
pub use crate::registry::Lookup;

/// The source registry.
#[derive(Clone, Default)]
pub struct SourceRegistry {
    sources: Cache<Arc<Source>>,
}

impl SourceRegistry {
    pub fn lookup(&self, name: &str) -> Lookup<Arc<Source>> {
        self.sources.lookup(name)
    }

    /// Re-reads the `sources` table and swaps the cache in one step.
    pub async fn reload(&self, db: &PgPool) -> Result<usize, sqlx::Error> {
        let map: HashMap<String, Arc<Source>> = store::all(db)
            .await?
            .into_iter()
            .map(|s| (s.name.clone(), Arc::new(s)))
            .collect();
        Ok(self.sources.replace(map))
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
