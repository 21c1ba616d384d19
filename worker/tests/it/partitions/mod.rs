//! The daily partitions of `updates` and `events` (issue 17): created ahead, dropped by
//! retention under one lock, the migration from the unpartitioned tables, and the dedup keys
//! across partitions.

mod ahead;
mod bench;
mod migration;
mod retention;
mod uniqueness;

use chrono::{DateTime, Utc};
use sluice_worker::partitions::Table;
use sqlx::PgPool;

/// Which partition holds each row of `table` (`tableoid`), by name, with its count.
pub async fn rows_by_partition(db: &PgPool, table: Table) -> Vec<(String, i64)> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT tableoid::regclass::text, count(*) FROM {table} GROUP BY 1 ORDER BY 1"
    )))
    .fetch_all(db)
    .await
    .unwrap()
}

/// Inserts one `updates` row through the worker's own statement.
pub async fn insert_update(db: &PgPool, bot: &str, update_id: i64, at: DateTime<Utc>) {
    let row = sluice_worker::store::UpdateRow {
        bot: bot.into(),
        update_id,
        kind: "message".into(),
        chat: Some(1),
        user: Some(1),
        lane: sluice_shared::lanes::Lane::Normal,
        received_at_ms: at.timestamp_millis(),
        payload: serde_json::value::RawValue::from_string(format!(
            r#"{{"update_id":{update_id}}}"#
        ))
        .unwrap(),
        job_id: format!("job-{update_id}-{}", at.timestamp_millis()),
    };
    sluice_worker::store::insert_updates(db, &mut [&row], true)
        .await
        .unwrap();
}

pub fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}
