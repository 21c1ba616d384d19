//! Partitions created ahead: today's and the next [`AHEAD_DAYS`](super::AHEAD_DAYS) days' of
//! each table, so that no insert ever waits for DDL at midnight.
//!
//! Each one is created as a plain table and then attached: `ATTACH PARTITION` takes only a SHARE
//! UPDATE EXCLUSIVE lock on the parent, so inserts and reads go on meanwhile, where `CREATE TABLE
//! … PARTITION OF` would take ACCESS EXCLUSIVE. The parent's indexes are built on the empty table
//! as it is attached. Workers may run this at the same time: an advisory transaction lock lets
//! one create while the others find the partitions there.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{AssertSqlSafe, PgPool};

use super::{LOCK_TIMEOUT, Partition, Table, list};

/// The advisory lock key of partition creation (any constant of ours: "sluice p").
const CREATE_LOCK: i64 = 0x736c_7563_6570_0001;

/// Creates whichever of the days `today ..= today + ahead` have no partition yet, in every
/// table; returns the partitions created.
pub async fn ensure(
    db: &PgPool,
    now: DateTime<Utc>,
    ahead: u32,
) -> Result<Vec<Partition>, sqlx::Error> {
    let today = now.date_naive();
    let mut created = Vec::new();
    for table in Table::ALL {
        let have = list(db, table).await?;
        let missing: Vec<Partition> = days(today, ahead)
            .map(|d| table.partition(d))
            .filter(|p| !have.contains(p))
            .collect();
        for p in missing {
            if create(db, p).await? {
                tracing::info!(partition = %p.name(), "created partition");
                created.push(p);
            }
        }
    }
    Ok(created)
}

fn days(today: NaiveDate, ahead: u32) -> impl Iterator<Item = NaiveDate> {
    (0..=ahead).filter_map(move |n| today.checked_add_days(chrono::Days::new(n.into())))
}

/// Creates and attaches one partition; `false` when another worker made it first.
async fn create(db: &PgPool, p: Partition) -> Result<bool, sqlx::Error> {
    let (table, name) = (p.table.name(), p.name());
    let mut tx = sluice_shared::db::begin(db).await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .persistent(false)
        .bind(CREATE_LOCK)
        .execute(&mut *tx)
        .await?;
    let exists: bool = sqlx::query_scalar("SELECT to_regclass($1) IS NOT NULL")
        .persistent(false)
        .bind(&name)
        .fetch_one(&mut *tx)
        .await?;
    if exists {
        tx.commit().await?;
        return Ok(false);
    }
    // Names and bounds come from a table enum and a date, never from input.
    let ddl = format!(
        "SET LOCAL lock_timeout = '{LOCK_TIMEOUT}';
         CREATE TABLE \"{name}\" (LIKE \"{table}\" INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
         ALTER TABLE \"{table}\" ATTACH PARTITION \"{name}\"
           FOR VALUES FROM ('{from}') TO ('{to}');",
        from = p.from().to_rfc3339(),
        to = p.to().to_rfc3339(),
    );
    sqlx::raw_sql(AssertSqlSafe(ddl)).execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(true)
}
