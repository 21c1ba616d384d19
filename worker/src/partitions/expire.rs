//! Retention (`SLUICE_RETENTION`): whole partitions past the cutoff are dropped, never rows.
//!
//! A run takes a transaction-scoped advisory lock (so one worker runs it at a time, also behind
//! PgBouncer in transaction mode), drops every daily partition that ended before
//! `now - retention`, records the run in `retention_runs` and commits: a drop is a catalog change,
//! as fast for 5 million rows as for none (docs/performance.md, "Retention"). Then the dropped
//! rows' dedup keys are deleted from `update_keys` / `event_keys` in bounded batches.
//!
//! `DETACH PARTITION … CONCURRENTLY` cannot be used: Postgres refuses it on a table with a DEFAULT
//! partition. `DROP TABLE` of a partition takes a short ACCESS EXCLUSIVE lock on the parent; it
//! waits at most [`LOCK_TIMEOUT`](super::LOCK_TIMEOUT) for it (a long export holds the table) and
//! the run is tried again later.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use sluice_shared::metrics as m;
use sqlx::{AssertSqlSafe, PgPool};

use super::{LOCK_TIMEOUT, Partition, Retention, Table, list};

/// The advisory lock key of retention runs ("sluice r").
pub const RETENTION_LOCK: i64 = 0x736c_7563_6572_0001;

/// A scheduled run is due when the last one finished longer ago than this: a day, less an hour
/// so that an hourly check does not slip by an hour a day.
const DUE_AFTER: &str = "23 hours";

/// Keys deleted per statement.
const KEY_BATCH: i64 = 10_000;

/// Whether the run waits for its day or runs now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// The worker's daily run: skipped when a run finished within the last day.
    IfDue,
    /// `sluice-worker retention run`: now.
    Now,
}

/// An expired partition and what it holds (Postgres's estimates).
#[derive(Debug, Clone, PartialEq)]
pub struct Expired {
    pub partition: Partition,
    pub rows: i64,
    pub bytes: i64,
}

/// What a run did.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Another worker holds the retention lock.
    Locked,
    /// A run finished within the last day ([`When::IfDue`]).
    NotDue,
    Done {
        dropped: Vec<Expired>,
        /// Time spent in the DROP statements.
        drop_time: Duration,
        /// Dedup keys of the dropped rows, deleted after the drops.
        keys_forgotten: u64,
    },
}

/// The partitions a run would drop now, oldest first (`retention` off: none).
pub async fn expired(
    db: &PgPool,
    now: DateTime<Utc>,
    retention: Retention,
) -> Result<Vec<Expired>, sqlx::Error> {
    let Some(cutoff) = retention.cutoff(now) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for table in Table::ALL {
        for p in list(db, table).await? {
            if p.to() <= cutoff {
                let (rows, bytes) = size(db, &p.name()).await?;
                out.push(Expired {
                    partition: p,
                    rows,
                    bytes,
                });
            }
        }
    }
    Ok(out)
}

async fn size(db: &PgPool, name: &str) -> Result<(i64, i64), sqlx::Error> {
    let mut tx = sluice_shared::db::begin(db).await?;
    let size = sqlx::query_as(
        "SELECT GREATEST(reltuples, 0)::int8, pg_total_relation_size(oid)
           FROM pg_class WHERE oid = to_regclass($1)",
    )
    .persistent(false)
    .bind(name)
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(size.unwrap_or((0, 0)))
}

/// One retention run: drops what has expired under the lock, then forgets the dropped rows'
/// keys. With `retention` off it drops nothing but is still recorded (the alert on a missing run
/// then means the runs stopped, not that nothing was due).
pub async fn run(
    db: &PgPool,
    now: DateTime<Utc>,
    retention: Retention,
    when: When,
) -> Result<Outcome, sqlx::Error> {
    let mut tx = sluice_shared::db::begin(db).await?;
    let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1)")
        .persistent(false)
        .bind(RETENTION_LOCK)
        .fetch_one(&mut *tx)
        .await?;
    if !locked {
        tx.rollback().await?;
        return Ok(Outcome::Locked);
    }
    if when == When::IfDue {
        let recent: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM retention_runs WHERE finished_at > now() - $1::interval)",
        )
        .bind(DUE_AFTER)
        .persistent(false)
        .fetch_one(&mut *tx)
        .await?;
        if recent {
            // Ended here, not on drop: a dropped transaction is rolled back only when its
            // connection is next used, and until then it would hold the lock.
            tx.rollback().await?;
            return Ok(Outcome::NotDue);
        }
    }
    let dropped = expired(db, now, retention).await?;
    let started = Instant::now();
    sqlx::raw_sql(AssertSqlSafe(format!(
        "SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"
    )))
    .execute(&mut *tx)
    .await?;
    for e in &dropped {
        // The name is built from a table enum and a date.
        let sql = format!("DROP TABLE IF EXISTS \"{}\"", e.partition.name());
        sqlx::raw_sql(AssertSqlSafe(sql)).execute(&mut *tx).await?;
    }
    let drop_time = started.elapsed();
    sqlx::query("INSERT INTO retention_runs (dropped, retention_s) VALUES ($1, $2)")
        .persistent(false)
        .bind(dropped.len() as i32)
        .bind(retention.as_secs())
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM retention_runs WHERE finished_at < now() - interval '90 days'")
        .persistent(false)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    for e in &dropped {
        tracing::info!(partition = %e.partition.name(), rows = e.rows, bytes = e.bytes, "retention dropped a partition");
        metrics::counter!(m::PARTITIONS_DROPPED_TOTAL, m::LABEL_TABLE => e.partition.table.name())
            .increment(1);
    }
    let mut keys_forgotten = 0;
    for table in Table::ALL {
        keys_forgotten += forget_keys(db, table).await?;
    }
    Ok(Outcome::Done {
        dropped,
        drop_time,
        keys_forgotten,
    })
}

/// Deletes the keys whose row can no longer exist: older than the oldest daily partition and
/// not held by the DEFAULT partition. Idempotent, so a run that stopped half-way is finished by
/// the next one; batched, so no statement runs long.
pub async fn forget_keys(db: &PgPool, table: Table) -> Result<u64, sqlx::Error> {
    let Some(oldest) = list(db, table).await?.first().copied() else {
        return Ok(0);
    };
    let (keys, default) = (table.keys(), table.default_partition());
    let (a, b) = table.key_columns();
    let sql = format!(
        "DELETE FROM {keys} WHERE ctid = ANY(ARRAY(
           SELECT k.ctid FROM {keys} k
            WHERE k.received_at < $1
              AND NOT EXISTS (SELECT 1 FROM {default} d WHERE d.{a} = k.{a} AND d.{b} = k.{b}
                                AND d.received_at = k.received_at)
            LIMIT $2))"
    );
    let mut total = 0;
    loop {
        let mut tx = sluice_shared::db::begin(db).await?;
        let n = sqlx::query(AssertSqlSafe(sql.clone()))
            .persistent(false)
            .bind(oldest.from())
            .bind(KEY_BATCH)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        total += n;
        if n < KEY_BATCH as u64 {
            return Ok(total);
        }
    }
}
