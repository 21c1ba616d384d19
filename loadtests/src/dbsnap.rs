//! `sluice-load db-snapshot`: Postgres' deadlock counter and lock waits at one moment, and the
//! lock-wait sampler a run calls every second.
//!
//! Every query runs inside a transaction with `.persistent(false)`, as the rest of sluice does,
//! so the tool works through PgBouncer in transaction mode.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

/// What `db-snapshot` writes; the gate subtracts a before from an after.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DbSnapshot {
    pub taken_at: DateTime<Utc>,
    /// The database the counters belong to (snapshots of two databases cannot be compared).
    pub database: String,
    /// `pg_stat_database.deadlocks`: cumulative since the statistics were last reset.
    pub deadlocks: i64,
    /// Sessions of this database waiting on a lock right now (`wait_event_type = 'Lock'`).
    pub lock_waits: i64,
    pub xact_commit: i64,
    pub xact_rollback: i64,
    /// Queries cancelled by recovery conflicts (standbys only).
    pub conflicts: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("querying Postgres: {0}")]
    Db(#[from] sqlx::Error),
    #[error("writing {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("reading the snapshot {path}: {why}")]
    Read { path: PathBuf, why: String },
}

/// Arguments of `sluice-load db-snapshot`.
#[derive(Debug, Clone, clap::Args)]
pub struct DbSnapshotArgs {
    /// The database sluice writes to (the one whose counters matter).
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: String,
    /// Where to write the snapshot JSON.
    #[arg(long)]
    pub out: PathBuf,
}

/// Takes one snapshot and writes it to `--out`; exit 0, or 1 with the error on stderr.
pub async fn db_snapshot(args: DbSnapshotArgs) -> ExitCode {
    let run = async {
        let pool = connect(&args.database_url).await?;
        let snap = take(&pool).await?;
        pool.close().await;
        snap.write(&args.out)?;
        Ok::<_, SnapshotError>(snap)
    };
    match run.await {
        Ok(s) => {
            println!(
                "{}: database {} deadlocks {} lock_waits {}",
                args.out.display(),
                s.database,
                s.deadlocks,
                s.lock_waits
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("db-snapshot: {e}");
            ExitCode::FAILURE
        }
    }
}

/// A small pool for the tool's few queries.
pub async fn connect(url: &str) -> Result<PgPool, sqlx::Error> {
    PgPoolOptions::new()
        .max_connections(2)
        .acquire_timeout(std::time::Duration::from_secs(10))
        .connect(url)
        .await
}

/// The counters of the database `pool` is connected to, now.
pub async fn take(pool: &PgPool) -> Result<DbSnapshot, sqlx::Error> {
    let mut tx = pool.begin().await?;
    // A fresh statistics snapshot: within a transaction Postgres would keep serving the first.
    sqlx::query("SELECT pg_stat_clear_snapshot()")
        .persistent(false)
        .execute(&mut *tx)
        .await?;
    let row: (DateTime<Utc>, String, i64, i64, i64, i64, i64) = sqlx::query_as(
        "SELECT now(), current_database(), d.deadlocks, d.xact_commit, d.xact_rollback,
                d.conflicts,
                (SELECT count(*) FROM pg_stat_activity a
                  WHERE a.wait_event_type = 'Lock' AND a.datname = current_database())
           FROM pg_stat_database d
          WHERE d.datname = current_database()",
    )
    .persistent(false)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    let (taken_at, database, deadlocks, xact_commit, xact_rollback, conflicts, lock_waits) = row;
    Ok(DbSnapshot {
        taken_at,
        database,
        deadlocks,
        lock_waits,
        xact_commit,
        xact_rollback,
        conflicts,
    })
}

impl DbSnapshot {
    pub fn write(&self, path: &Path) -> Result<(), SnapshotError> {
        let text = serde_json::to_string_pretty(self).expect("a snapshot always serialises");
        std::fs::write(path, text + "\n").map_err(|source| SnapshotError::Write {
            path: path.to_owned(),
            source,
        })
    }

    pub fn read(path: &Path) -> Result<DbSnapshot, SnapshotError> {
        let err = |why: String| SnapshotError::Read {
            path: path.to_owned(),
            why,
        };
        let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
        serde_json::from_str(&text).map_err(|e| err(e.to_string()))
    }
}

/// A session waiting on a lock. The pair (pid, since) names one wait: the same pid waiting
/// again later is another wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LockWaiter {
    pub pid: i32,
    /// When the wait began (`pg_locks.waitstart`), else when its statement began.
    pub since: Option<DateTime<Utc>>,
}

/// Sessions of this database waiting on a lock now.
pub async fn lock_waiters(pool: &PgPool) -> Result<Vec<LockWaiter>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let rows: Vec<(i32, Option<DateTime<Utc>>)> = sqlx::query_as(
        "SELECT a.pid,
                coalesce((SELECT min(l.waitstart) FROM pg_locks l
                           WHERE l.pid = a.pid AND NOT l.granted),
                         a.query_start)
           FROM pg_stat_activity a
          WHERE a.wait_event_type = 'Lock' AND a.datname = current_database()",
    )
    .persistent(false)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(rows
        .into_iter()
        .map(|(pid, since)| LockWaiter { pid, since })
        .collect())
}

/// Counts distinct waits over a run from samples of [`lock_waiters`] (`db_lock_waits.count`),
/// and the most seen at once (`db_lock_waits.max`).
#[derive(Debug, Default, Clone)]
pub struct WaitTally {
    seen: HashSet<LockWaiter>,
    max: usize,
}

impl WaitTally {
    pub fn observe(&mut self, sample: &[LockWaiter]) {
        self.seen.extend(sample.iter().copied());
        self.max = self.max.max(sample.len());
    }

    pub fn count(&self) -> usize {
        self.seen.len()
    }

    pub fn max(&self) -> usize {
        self.max
    }
}
