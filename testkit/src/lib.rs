//! Test support for sluice's integration tests: real Redis and Postgres, isolated per test.
//!
//! # Layout
//! - [`TestDb`]: a fresh, migrated database per test on the shared Postgres.
//! - [`prefix`]: a unique Redis key prefix per test, and [`queue_len`] to look inside a lane.
//! - [`servers`]: a private `redis-server` or Postgres cluster a test can stop and start.
//! - [`wait_until`]: poll a condition with a deadline instead of sleeping a guessed time.
//! - [`browser`]: headless Chromium over WebDriver (Debian's chromedriver), ended on drop.
//! - [`bots`]: registered bots with sealed Bot API tokens.
//! - [`telegram_stand_in`]: a stand-in for Telegram's Bot API that enforces its limits and
//!   records every call (also the `telegram-stand-in` binary, for load runs).
//! - [`binaries`]: the `sluice-api` and `sluice-worker` binaries for tests that run them as
//!   processes ([`api_binary`], [`worker_binary`]).

pub mod binaries;
pub mod bots;
pub mod browser;
pub mod scale;
pub mod servers;
pub mod settings;
pub mod telegram_stand_in;

pub use binaries::{api_binary, example_binary, stand_in_binary, worker_binary};

use std::time::{Duration, Instant};

use sqlx::{AssertSqlSafe, Connection, PgConnection, PgPool, postgres::PgPoolOptions};

/// The Postgres server tests create their databases on.
pub fn admin_database_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// The shared Redis tests use (each with its own prefix).
pub fn redis_url() -> String {
    std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// A unique key prefix: tests sharing one Redis never see each other's queues.
pub fn prefix() -> String {
    format!(
        "sluice-test-{}",
        ulid::Ulid::generate().to_string().to_lowercase()
    )
}

/// A database of its own for one test, migrated.
pub struct TestDb {
    pub name: String,
    pub url: String,
    pub pool: PgPool,
    admin_url: String,
}

impl TestDb {
    /// Creates and migrates a fresh database on the shared test server.
    pub async fn fresh() -> anyhow::Result<TestDb> {
        Self::fresh_on(&admin_database_url()).await
    }

    /// Creates and migrates a fresh database on the server behind `admin_url`.
    pub async fn fresh_on(admin_url: &str) -> anyhow::Result<TestDb> {
        // The worker's reqwest speaks TLS on the provider the binaries install at start-up; a
        // test building its own client (after its database, as every test does) needs it too.
        sluice_shared::tls::install_provider();
        let db = Self::unmigrated_on(admin_url).await?;
        sluice_shared::db::migrate(&db.pool).await?;
        Ok(db)
    }

    /// A fresh database with no migration applied: for tests of a migration itself, which apply
    /// the earlier ones (`MIGRATOR.run_to`), fill the old schema and migrate.
    pub async fn unmigrated() -> anyhow::Result<TestDb> {
        Self::unmigrated_on(&admin_database_url()).await
    }

    async fn unmigrated_on(admin_url: &str) -> anyhow::Result<TestDb> {
        let name = format!(
            "sluice_test_{}",
            ulid::Ulid::generate().to_string().to_lowercase()
        );
        let mut admin = PgConnection::connect(admin_url).await?;
        // The name is ours (a ULID), not user input.
        sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await?;
        admin.close().await?;
        let url = replace_db(admin_url, &name);
        let pool = PgPoolOptions::new()
            .max_connections(4)
            .connect(&url)
            .await?;
        Ok(TestDb {
            name,
            url,
            pool,
            admin_url: admin_url.to_owned(),
        })
    }

    /// Rows in `updates`.
    pub async fn update_rows(&self) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM updates")
            .fetch_one(&self.pool)
            .await
            .unwrap_or(-1)
    }

    /// Drops the database (best effort); call at the end of a passing test.
    pub async fn drop_db(self) {
        self.pool.close().await;
        if let Ok(mut admin) = PgConnection::connect(&self.admin_url).await {
            let _ = sqlx::raw_sql(AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            )))
            .execute(&mut admin)
            .await;
        }
    }
}

/// `url` with its database name replaced.
pub fn replace_db(url: &str, db: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let base = match base.rfind('/') {
        Some(i) if i > "postgres://".len() => &base[..i],
        _ => base,
    };
    match query {
        Some(q) => format!("{base}/{db}?{q}"),
        None => format!("{base}/{db}"),
    }
}

/// Jobs of a lane waiting to be fetched under `prefix`: apalis-redis pushes every task through
/// its scheduled set (due at once) and promotes due ones to the active list when a worker fetches;
/// ordered jobs waiting to run again wait in `<prefix>:order:due:<lane>` instead.
pub async fn queue_len(redis_url: &str, prefix: &str, lane: &str) -> anyhow::Result<i64> {
    let client = redis::Client::open(redis_url)?;
    let mut conn = client.get_multiplexed_async_connection().await?;
    let active: i64 = redis::cmd("LLEN")
        .arg(format!("{prefix}:{lane}:active"))
        .query_async(&mut conn)
        .await?;
    let scheduled: i64 = redis::cmd("ZCARD")
        .arg(format!("{prefix}:{lane}:scheduled"))
        .query_async(&mut conn)
        .await?;
    let retrying: i64 = redis::cmd("ZCARD")
        .arg(format!("{prefix}:order:due:{lane}"))
        .query_async(&mut conn)
        .await?;
    Ok(active + scheduled + retrying)
}

/// Number of jobs ever stored under `prefix`, all lanes (the apalis-redis data hashes).
pub async fn jobs_stored(redis_url: &str, prefix: &str) -> anyhow::Result<i64> {
    let client = redis::Client::open(redis_url)?;
    let mut conn = client.get_multiplexed_async_connection().await?;
    let mut total = 0;
    for lane in ["high", "normal", "low"] {
        let n: i64 = redis::cmd("HLEN")
            .arg(format!("{prefix}:{lane}:data"))
            .query_async(&mut conn)
            .await?;
        total += n;
    }
    Ok(total)
}

const APALIS_QUEUES: &str = "core:apalis:queues:list";

/// Deletes every key under `prefix` (best effort).
pub async fn clear_prefix(redis_url: &str, prefix: &str) {
    let Ok(client) = redis::Client::open(redis_url) else {
        return;
    };
    let Ok(mut conn) = client.get_multiplexed_async_connection().await else {
        return;
    };
    // SCAN, not KEYS: KEYS blocks a shared Redis for the whole keyspace and times out the
    // tests running beside this one.
    for key in scan(&mut conn, &format!("{prefix}:*")).await.chunks(1000) {
        let _: Result<i64, _> = redis::cmd("UNLINK").arg(key).query_async(&mut conn).await;
    }
    // apalis-redis registers every queue in one global index outside any prefix.
    let queues: Vec<String> = redis::cmd("ZRANGE")
        .arg(APALIS_QUEUES)
        .arg(0)
        .arg(-1)
        .query_async(&mut conn)
        .await
        .unwrap_or_default();
    let ours: Vec<&String> = queues
        .iter()
        .filter(|q| q.starts_with(&format!("{prefix}:")))
        .collect();
    if !ours.is_empty() {
        let _: Result<i64, _> = redis::cmd("ZREM")
            .arg(APALIS_QUEUES)
            .arg(ours)
            .query_async(&mut conn)
            .await;
    }
}

/// Every key matching `pattern`, found with SCAN (never blocks the server for long).
pub async fn scan(conn: &mut redis::aio::MultiplexedConnection, pattern: &str) -> Vec<String> {
    let mut keys = Vec::new();
    let mut cursor: u64 = 0;
    loop {
        let Ok((next, batch)): redis::RedisResult<(u64, Vec<String>)> = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(pattern)
            .arg("COUNT")
            .arg(10_000)
            .query_async(conn)
            .await
        else {
            return keys;
        };
        keys.extend(batch);
        if next == 0 {
            return keys;
        }
        cursor = next;
    }
}

/// Polls `check` every 50 ms until it returns true or `within` passes; returns the last answer.
pub async fn wait_until<F, Fut>(within: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + within;
    loop {
        if check().await {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A free TCP port on loopback (bound then released; good enough for a test).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free port on loopback")
}

/// Hex HMAC-SHA256 of `data` under `key`, computed by the OpenSSL command-line tool: signatures
/// made outside our code, as a provider would make them.
pub fn openssl_hmac(key: &str, data: &[u8]) -> String {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new("openssl")
        .args(["dgst", "-sha256", "-hmac", key])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("openssl is on PATH");
    child.stdin.take().unwrap().write_all(data).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "openssl failed");
    // "SHA2-256(stdin)= <hex>" (OpenSSL 3) or "(stdin)= <hex>" (1.1): the last word.
    let text = String::from_utf8(out.stdout).unwrap();
    let hex = text.split_whitespace().last().unwrap().to_owned();
    assert_eq!(hex.len(), 64, "{text}");
    hex
}

#[cfg(test)]
mod tests {
    #[test]
    fn replaces_the_database_name() {
        assert_eq!(
            super::replace_db("postgres://u@h:5432/postgres", "x"),
            "postgres://u@h:5432/x"
        );
        assert_eq!(
            super::replace_db("postgres://u@h/p?sslmode=disable", "x"),
            "postgres://u@h/x?sslmode=disable"
        );
    }
}
