//! Postgres: pool construction from the environment's budget, and the embedded migrations.

use std::time::Duration;

use sqlx::{
    PgPool,
    migrate::Migrator,
    postgres::{PgConnectOptions, PgPoolOptions},
};

use crate::config::DatabaseConfig;

/// The forward-only migrations under `migrations/`, compiled into both binaries.
pub static MIGRATOR: Migrator = sqlx::migrate!("../migrations");

/// A bounded pool sized from `DB_POOL_*`; connections are opened on demand, so the process
/// starts (and reports not-ready) while Postgres is down.
pub fn pool(cfg: &DatabaseConfig, app_name: &str) -> Result<PgPool, sqlx::Error> {
    let options: PgConnectOptions = cfg
        .database_url
        .parse::<PgConnectOptions>()?
        .application_name(app_name);
    Ok(PgPoolOptions::new()
        .max_connections(cfg.pool_max_connections)
        .min_connections(cfg.pool_min_connections.min(cfg.pool_max_connections))
        .acquire_timeout(cfg.acquire_timeout())
        .idle_timeout(Some(Duration::from_secs(300)))
        .connect_lazy_with(options))
}

/// Runs pending migrations.
pub async fn migrate(pool: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    MIGRATOR.run(pool).await
}

/// Checks that Postgres answers a trivial query within `within`.
pub async fn ping(pool: &PgPool, within: Duration) -> bool {
    let q = sqlx::query_scalar::<_, i32>("SELECT 1").fetch_one(pool);
    matches!(tokio::time::timeout(within, q).await, Ok(Ok(1)))
}
