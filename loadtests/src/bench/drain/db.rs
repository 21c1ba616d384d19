//! What the benchmark asks Postgres: its own fresh database, the `updates` rows the workers
//! wrote (counts, `processed_at` spread, queue waits), and the server's version and settings.

use anyhow::Context;
use sqlx::{AssertSqlSafe, PgPool, Row, postgres::PgPoolOptions};

/// The spread of a drain's rows: `processed_at` is `now()` of the batch insert that wrote a
/// row (its transaction start), as Unix seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DrainStats {
    pub rows: u64,
    pub distinct: u64,
    pub first: f64,
    pub last: f64,
    pub p10: f64,
    pub p90: f64,
}

/// The high lane's queue wait from its rows (`processed_at - received_at`), milliseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Waits {
    pub rows: u64,
    pub p50: Option<f64>,
    pub p99: Option<f64>,
    pub max: Option<f64>,
}

async fn pool(url: &str) -> anyhow::Result<PgPool> {
    PgPoolOptions::new()
        .max_connections(2)
        .connect(url)
        .await
        .with_context(|| format!("connecting to {url}"))
}

/// Drops and creates `name` on the server at `server_url` (a URL without a database).
pub async fn recreate(server_url: &str, name: &str) -> anyhow::Result<()> {
    let admin = pool(&format!("{server_url}/postgres")).await?;
    drop_database_with(&admin, name).await?;
    // The name is checked at parse time (letters, digits, _).
    let sql = format!("CREATE DATABASE \"{name}\"");
    sqlx::raw_sql(AssertSqlSafe(sql)).execute(&admin).await?;
    admin.close().await;
    Ok(())
}

/// Drops `name` (its connections too).
pub async fn drop_database(server_url: &str, name: &str) -> anyhow::Result<()> {
    let admin = pool(&format!("{server_url}/postgres")).await?;
    drop_database_with(&admin, name).await?;
    admin.close().await;
    Ok(())
}

async fn drop_database_with(admin: &PgPool, name: &str) -> anyhow::Result<()> {
    let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
    sqlx::raw_sql(AssertSqlSafe(sql)).execute(admin).await?;
    Ok(())
}

/// The server's version and the settings that matter for the figures.
pub async fn server(server_url: &str) -> anyhow::Result<(String, String)> {
    let admin = pool(&format!("{server_url}/postgres")).await?;
    let version: String = sqlx::query_scalar("SHOW server_version")
        .fetch_one(&admin)
        .await?;
    let settings: Option<String> = sqlx::query_scalar(
        "SELECT string_agg(name || '=' || setting, ' ' ORDER BY name) FROM pg_settings \
         WHERE name IN ('synchronous_commit', 'fsync', 'shared_buffers', 'max_connections', \
         'wal_level', 'commit_delay')",
    )
    .fetch_one(&admin)
    .await?;
    admin.close().await;
    Ok((version, settings.unwrap_or_default()))
}

/// The benchmark's database.
#[derive(Clone)]
pub struct Db {
    pub pool: PgPool,
}

impl Db {
    pub async fn connect(url: &str) -> anyhow::Result<Db> {
        Ok(Db {
            pool: pool(url).await?,
        })
    }

    /// Rows in `updates`, of one lane or all.
    pub async fn count_rows(&self, lane: Option<&str>) -> anyhow::Result<u64> {
        let n: i64 = match lane {
            Some(lane) => {
                sqlx::query_scalar("SELECT count(*) FROM updates WHERE lane = $1")
                    .bind(lane)
                    .fetch_one(&self.pool)
                    .await?
            }
            None => {
                sqlx::query_scalar("SELECT count(*) FROM updates")
                    .fetch_one(&self.pool)
                    .await?
            }
        };
        Ok(n as u64)
    }

    /// Empties `updates` and its dedup keys (`update_keys`: a key left behind would make the
    /// next phase's row a duplicate, never inserted), then checkpoints: every phase starts with
    /// the previous phase's WAL flushed, so none pays for another's checkpoint (and the burst of
    /// full-page images after it) by landing on it.
    pub async fn truncate(&self) -> anyhow::Result<()> {
        sqlx::query("TRUNCATE updates, update_keys")
            .execute(&self.pool)
            .await?;
        sqlx::query("CHECKPOINT").execute(&self.pool).await?;
        Ok(())
    }

    /// Mean length of the rows' payload as text.
    pub async fn mean_payload_bytes(&self) -> anyhow::Result<f64> {
        let avg: Option<f64> =
            sqlx::query_scalar("SELECT round(avg(length(payload::text)))::float8 FROM updates")
                .fetch_one(&self.pool)
                .await?;
        Ok(avg.unwrap_or(0.0))
    }

    pub async fn drain_stats(&self) -> anyhow::Result<DrainStats> {
        let row = sqlx::query(
            "SELECT count(*), count(DISTINCT (bot, update_id)), \
                    extract(epoch FROM min(processed_at))::float8, \
                    extract(epoch FROM max(processed_at))::float8, \
                    extract(epoch FROM percentile_disc(0.1) WITHIN GROUP (ORDER BY processed_at))::float8, \
                    extract(epoch FROM percentile_disc(0.9) WITHIN GROUP (ORDER BY processed_at))::float8 \
             FROM updates",
        )
        .fetch_one(&self.pool)
        .await?;
        let epoch = |i: usize| row.try_get::<Option<f64>, _>(i).map(|v| v.unwrap_or(0.0));
        Ok(DrainStats {
            rows: row.try_get::<i64, _>(0)? as u64,
            distinct: row.try_get::<i64, _>(1)? as u64,
            first: epoch(2)?,
            last: epoch(3)?,
            p10: epoch(4)?,
            p90: epoch(5)?,
        })
    }

    pub async fn high_waits(&self) -> anyhow::Result<Waits> {
        let row = sqlx::query(
            "WITH w AS (SELECT extract(epoch FROM processed_at - received_at) AS s \
                        FROM updates WHERE lane = 'high') \
             SELECT count(*), \
                    round(1000 * percentile_cont(0.5) WITHIN GROUP (ORDER BY s)::numeric, 1)::float8, \
                    round(1000 * percentile_cont(0.99) WITHIN GROUP (ORDER BY s)::numeric, 1)::float8, \
                    round(1000 * max(s)::numeric, 1)::float8 \
             FROM w",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(Waits {
            rows: row.try_get::<i64, _>(0)? as u64,
            p50: row.try_get(1)?,
            p99: row.try_get(2)?,
            max: row.try_get(3)?,
        })
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

#[cfg(test)]
mod tests;
