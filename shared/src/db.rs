//! Postgres: pool construction from the environment's budget, the start-up budget check, pool
//! metrics, and the embedded migrations.

use std::time::{Duration, Instant};

use sqlx::{
    PgPool, Postgres, Transaction,
    migrate::Migrator,
    postgres::{PgConnectOptions, PgPoolOptions},
};

use crate::{
    config::{BudgetMode, DatabaseConfig, DbStartupConfig},
    metrics as m,
    reach::{self, ReachError},
};

/// The forward-only migrations under `migrations/`, compiled into both binaries.
pub static MIGRATOR: Migrator = sqlx::migrate!("../migrations");

/// A bounded pool sized from `DB_POOL_*`; connections are opened on demand, so the process
/// starts (and reports not-ready) while Postgres is down.
///
/// Every query of sluice runs with `.persistent(false)` inside [`begin`]'s transaction, i.e. as
/// an unnamed statement on one server connection: PgBouncer in transaction mode hands each
/// transaction a different server connection, where a named statement prepared earlier does
/// not exist (and sqlx 0.9 names statements even with its statement cache disabled).
pub fn pool(cfg: &DatabaseConfig, app_name: &str) -> Result<PgPool, sqlx::Error> {
    Ok(pool_with(cfg, options(cfg, app_name)?))
}

/// The connection options of `DATABASE_URL` (its `sslmode` included), with `SLUICE_CA_FILE` as
/// the root certificate unless the URL (or `PGSSLROOTCERT`) names its own `sslrootcert`.
pub fn options(cfg: &DatabaseConfig, app_name: &str) -> Result<PgConnectOptions, sqlx::Error> {
    let options = cfg
        .database_url
        .parse::<PgConnectOptions>()?
        .application_name(app_name);
    let own_root =
        names_root_cert(&cfg.database_url) || std::env::var_os("PGSSLROOTCERT").is_some();
    Ok(match cfg.tls.ca_pem() {
        Some(pem) if !own_root => options.ssl_root_cert_from_pem(pem.to_vec()),
        _ => options,
    })
}

fn names_root_cert(url: &str) -> bool {
    url.split_once('?').is_some_and(|(_, query)| {
        query
            .split('&')
            .any(|pair| pair.split('=').next() == Some("sslrootcert"))
    })
}

/// The pool of [`pool`], built from `options` ([`options`]) checked by [`startup_check`].
pub fn pool_with(cfg: &DatabaseConfig, options: PgConnectOptions) -> PgPool {
    PgPoolOptions::new()
        .max_connections(cfg.pool_max_connections)
        .min_connections(cfg.pool_min_connections.min(cfg.pool_max_connections))
        .acquire_timeout(cfg.acquire_timeout)
        .idle_timeout(Some(Duration::from_secs(300)))
        .connect_lazy_with(options)
}

/// One connection with the pool's options before anything else: its failure is reported once
/// with host, port and cause; plain text under `sslmode=prefer` is logged as a warning.
pub async fn startup_check(
    options: &PgConnectOptions,
    within: Duration,
) -> Result<reach::Transport, ReachError> {
    let transport = reach::postgres(options, within).await?;
    reach::warn_if_plain(options, transport);
    Ok(transport)
}

/// A serving process's pool, after one checked connection: a misconfiguration (auth, TLS)
/// stops the process; an outage is logged once, and the pool comes back with `false` (the
/// process starts unready and decides what it can do without Postgres).
pub async fn reach_at_startup(
    cfg: &DatabaseConfig,
    app_name: &str,
) -> anyhow::Result<(PgPool, bool)> {
    let options = options(cfg, app_name).map_err(|e| anyhow::anyhow!("DATABASE_URL: {e}"))?;
    let up = match startup_check(&options, cfg.acquire_timeout.max(Duration::from_secs(5))).await {
        Ok(_) => true,
        Err(e) if e.is_misconfiguration() => return Err(e.into()),
        Err(e) => {
            tracing::warn!(error = %e, "postgres unreachable at start-up; starting unready");
            false
        }
    };
    Ok((pool_with(cfg, options), up))
}

/// The worker's start-up: [`reach_at_startup`], the migrations (`SLUICE_AUTO_MIGRATE`: these
/// need Postgres now, so an outage stops the process) and the budget check.
pub async fn startup(
    cfg: &DatabaseConfig,
    startup: &DbStartupConfig,
    app_name: &str,
) -> anyhow::Result<PgPool> {
    let (pool, up) = reach_at_startup(cfg, app_name).await?;
    if startup.auto_migrate {
        if !up {
            // The reason was logged by reach_at_startup; the migration's own error says it again.
            startup_check(&options(cfg, app_name)?, cfg.acquire_timeout).await?;
        }
        migrate(&pool)
            .await
            .map_err(|e| anyhow::anyhow!("applying migrations (SLUICE_AUTO_MIGRATE): {e}"))?;
    }
    if up {
        startup_budget_check(&pool, cfg, startup, app_name).await?;
    }
    Ok(pool)
}

/// For commands that need Postgres now (migrate, bots, sources): the pool, once one connection
/// has worked, or why it did not.
pub async fn connect(cfg: &DatabaseConfig, app_name: &str) -> anyhow::Result<PgPool> {
    let options = options(cfg, app_name).map_err(|e| anyhow::anyhow!("DATABASE_URL: {e}"))?;
    startup_check(&options, cfg.acquire_timeout.max(Duration::from_secs(5))).await?;
    Ok(pool_with(cfg, options))
}

/// Opens a transaction on a pooled connection, timing the wait (`sluice_db_acquire_seconds`) and
/// counting waits that ran out of time (`sluice_db_acquire_timeouts_total`).
///
/// sluice runs every statement inside an explicit transaction, with `.persistent(false)`: sqlx
/// prepares a statement (Parse, Describe, Sync) before it binds and executes it, and PgBouncer
/// in transaction mode may hand the second half to another server connection unless a
/// transaction pins it. The extra BEGIN/COMMIT is amortized by batching where it matters.
pub async fn begin(pool: &PgPool) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
    let started = Instant::now();
    let tx = pool.begin().await;
    record_acquire(started, &tx);
    tx
}

/// Every row of `sql` (a statement without parameters), read as [`begin`] and `.persistent(false)`
/// require: the registries' reloads, which must work behind PgBouncer too.
pub async fn fetch_all<T>(pool: &PgPool, sql: &'static str) -> Result<Vec<T>, sqlx::Error>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> + Send + Unpin,
{
    let mut tx = begin(pool).await?;
    let rows = sqlx::query_as(sql)
        .persistent(false)
        .fetch_all(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(rows)
}

/// The wait includes BEGIN's round trip when the connection opens a transaction: close enough
/// for a signal about pool starvation, which is counted in the hundreds of milliseconds.
fn record_acquire<T>(started: Instant, result: &Result<T, sqlx::Error>) {
    metrics::histogram!(m::DB_ACQUIRE_SECONDS).record(started.elapsed().as_secs_f64());
    if let Err(sqlx::Error::PoolTimedOut) = result {
        metrics::counter!(m::DB_ACQUIRE_TIMEOUTS_TOTAL).increment(1);
    }
}

/// Publishes the pool's size every `every` until aborted.
pub async fn export_pool_metrics(pool: PgPool, max: u32, every: Duration) {
    metrics::gauge!(m::DB_POOL_MAX_CONNECTIONS).set(f64::from(max));
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        let (size, idle) = (pool.size(), pool.num_idle() as u32);
        metrics::gauge!(m::DB_POOL_CONNECTIONS, m::LABEL_STATE => "idle").set(f64::from(idle));
        metrics::gauge!(m::DB_POOL_CONNECTIONS, m::LABEL_STATE => "in_use")
            .set(f64::from(size.saturating_sub(idle)));
    }
}

/// What the server allows and what this Deployment could take at worst.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Budget {
    pub max_connections: i64,
    pub superuser_reserved: i64,
    /// Connections open now that belong to other clients (not this application name).
    pub others: i64,
    /// `SLUICE_MAX_REPLICAS` × `DB_POOL_MAX_CONNECTIONS`.
    pub worst_case: i64,
}

impl Budget {
    /// Connections ordinary clients may open in all.
    pub fn available(&self) -> i64 {
        self.max_connections - self.superuser_reserved
    }

    pub fn fits(&self) -> bool {
        self.others + self.worst_case <= self.available()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BudgetError {
    #[error(
        "connection budget exceeded (SLUICE_DB_BUDGET=enforce): SLUICE_MAX_REPLICAS × DB_POOL_MAX_CONNECTIONS = {} plus {} connections of other clients > {} available (max_connections {} − superuser_reserved_connections {})",
        .0.worst_case, .0.others, .0.available(), .0.max_connections, .0.superuser_reserved
    )]
    Exceeded(Budget),
    #[error("reading the server's connection limits: {0}")]
    Db(#[from] sqlx::Error),
}

/// Reads the server's limits and logs this Deployment's worst case; with `enforce`, an
/// over-budget configuration is an error (the process must not start).
pub async fn check_budget(
    pool: &PgPool,
    cfg: &DatabaseConfig,
    startup: &DbStartupConfig,
    app_name: &str,
) -> Result<Budget, BudgetError> {
    let (max_connections, superuser_reserved, others): (i64, i64, i64) = sqlx::query_as(
        "SELECT current_setting('max_connections')::int8,
                current_setting('superuser_reserved_connections')::int8,
                (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND application_name <> $1)",
    )
        .persistent(false)
    .bind(app_name)
    .fetch_one(&mut *begin(pool).await?)
    .await?;
    let worst_case = i64::from(startup.max_replicas) * i64::from(cfg.pool_max_connections);
    let budget = Budget {
        max_connections,
        superuser_reserved,
        others,
        worst_case,
    };
    if budget.fits() {
        tracing::info!(?budget, "postgres connection budget fits");
        Ok(budget)
    } else if startup.budget == BudgetMode::Enforce {
        Err(BudgetError::Exceeded(budget))
    } else {
        tracing::warn!(
            worst_case = budget.worst_case,
            others = budget.others,
            available = budget.available(),
            "postgres connection budget exceeded: at full scale this Deployment could meet \"too many clients\""
        );
        Ok(budget)
    }
}

/// The start-up form of [`check_budget`]: only an enforced, exceeded budget is an error; a
/// server that cannot be asked (down at start-up) is logged and skipped.
pub async fn startup_budget_check(
    pool: &PgPool,
    cfg: &DatabaseConfig,
    startup: &DbStartupConfig,
    app_name: &str,
) -> Result<(), BudgetError> {
    match check_budget(pool, cfg, startup, app_name).await {
        Err(BudgetError::Db(e)) => {
            tracing::warn!(error = %e, "could not check the postgres connection budget");
            Ok(())
        }
        other => other.map(|_| ()),
    }
}

/// Runs pending migrations.
pub async fn migrate(pool: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    MIGRATOR.run(pool).await
}

/// Checks that Postgres answers a trivial query within `within`.
pub async fn ping(pool: &PgPool, within: Duration) -> bool {
    let q = async {
        let mut tx = begin(pool).await?;
        sqlx::query_scalar::<_, i32>("SELECT 1")
            .persistent(false)
            .fetch_one(&mut *tx)
            .await
    };
    matches!(tokio::time::timeout(within, q).await, Ok(Ok(1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_names_its_own_root_cert_only_in_its_query() {
        assert!(names_root_cert(
            "postgres://u@h/db?sslmode=verify-full&sslrootcert=/ca.pem"
        ));
        assert!(names_root_cert("postgres://u@h/db?sslrootcert=/ca.pem"));
        assert!(!names_root_cert("postgres://u@h/db?sslmode=verify-full"));
        assert!(!names_root_cert("postgres://sslrootcert@h/db"));
    }

    #[test]
    fn budget_arithmetic() {
        let b = Budget {
            max_connections: 100,
            superuser_reserved: 3,
            others: 17,
            worst_case: 80,
        };
        assert_eq!(b.available(), 97);
        assert!(b.fits());
        let over = Budget {
            worst_case: 81,
            ..b
        };
        assert!(!over.fits());
    }
}
