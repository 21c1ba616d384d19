//! The benches' databases on a Postgres server: created fresh for a run, dropped after it.
//! Names are checked by `knobs::parse_db_name` (letters, digits, `_`), so they are safe to put
//! into the SQL.

use std::time::Duration;

use anyhow::Context as _;
use sqlx::postgres::PgPoolOptions;
use sqlx::{AssertSqlSafe, PgPool};

use super::knobs::parse_db_name;

/// The server's `postgres` database, for creating and dropping others.
pub async fn admin_pool(pg_url: &str) -> anyhow::Result<PgPool> {
    PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(5))
        .connect(&format!("{pg_url}/postgres"))
        .await
        .with_context(|| format!("Postgres at {pg_url} does not answer (scripts/dev-up starts it)"))
}

async fn execute(pg_url: &str, sql: String) -> anyhow::Result<()> {
    let pool = admin_pool(pg_url).await?;
    sqlx::raw_sql(AssertSqlSafe(sql)).execute(&pool).await?;
    pool.close().await;
    Ok(())
}

/// Drops `name` if it exists (its sessions too) and creates it empty.
pub async fn recreate_database(pg_url: &str, name: &str) -> anyhow::Result<()> {
    drop_database(pg_url, name).await?;
    let name = parse_db_name(name).map_err(anyhow::Error::msg)?;
    execute(pg_url, format!("CREATE DATABASE \"{name}\""))
        .await
        .with_context(|| format!("creating the database {name}"))
}

pub async fn drop_database(pg_url: &str, name: &str) -> anyhow::Result<()> {
    let name = parse_db_name(name).map_err(anyhow::Error::msg)?;
    execute(
        pg_url,
        format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
    )
    .await
    .with_context(|| format!("dropping the database {name}"))
}
