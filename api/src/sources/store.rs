//! The source registry's load; the `sources` table's SQL is
//! [`sluice_shared::registry::sources::store`], re-exported here.

use std::collections::HashMap;

pub use sluice_shared::registry::sources::store::*;
use sluice_shared::{registry::sources::Source, sealed::Keyring};
use sqlx::PgPool;

use crate::registry::Table;

/// The source registry ([`super::SourceRegistry`]) holds every usable source by name.
impl Table for Source {
    const WHAT: &'static str = "source registry";
    const LABEL: &'static str = "sources";

    async fn load(db: &PgPool, keys: &Keyring) -> Result<HashMap<String, Source>, sqlx::Error> {
        Ok(all(db, keys)
            .await?
            .into_iter()
            .map(|s| (s.name.clone(), s))
            .collect())
    }
}
