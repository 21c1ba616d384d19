//! The partitions' gauges, read from Postgres's catalog on an interval (never on a scrape, which
//! would make Prometheus's scrape rate a load on the database): rows and bytes per partition,
//! the oldest daily partition's age, how far ahead partitions exist, the last retention run.
//!
//! Every worker samples the same database, so every worker exports the same values: aggregate
//! with `max`. A partition that disappears (dropped) is set to 0 rather than left at its last
//! size.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use sluice_shared::metrics as m;
use sqlx::PgPool;

use super::{Partition, Table, list};

/// One table's figures.
#[derive(Debug, Clone, PartialEq)]
pub struct TableSample {
    pub table: Table,
    /// (partition name, estimated rows, bytes), default partition included.
    pub partitions: Vec<(String, f64, f64)>,
    pub oldest_age_s: f64,
    pub ahead_s: f64,
}

/// How far ahead of `now` the daily partitions reach without a gap, in seconds; 0 when the
/// partition holding `now` is missing.
pub fn ahead_seconds(days: &[Partition], now: DateTime<Utc>) -> f64 {
    let mut day = now.date_naive();
    let mut reach = None;
    while let Some(p) = days.iter().find(|p| p.day == day) {
        reach = Some(p.to());
        match day.succ_opt() {
            Some(next) => day = next,
            None => break,
        }
    }
    reach.map_or(0.0, |r| (r - now).num_milliseconds() as f64 / 1000.0)
}

pub async fn table(
    db: &PgPool,
    table: Table,
    now: DateTime<Utc>,
) -> Result<TableSample, sqlx::Error> {
    let days = list(db, table).await?;
    let mut tx = sluice_shared::db::begin(db).await?;
    let partitions: Vec<(String, f64, f64)> = sqlx::query_as(
        "SELECT c.relname::text, GREATEST(c.reltuples, 0)::float8,
                pg_total_relation_size(c.oid)::float8
           FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
          WHERE i.inhparent = to_regclass($1) AND c.relkind = 'r'
          ORDER BY 1",
    )
    .persistent(false)
    .bind(table.name())
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    let oldest_age_s = days
        .first()
        .map_or(0.0, |p| (now - p.from()).num_seconds().max(0) as f64);
    Ok(TableSample {
        table,
        partitions,
        oldest_age_s,
        ahead_s: ahead_seconds(&days, now),
    })
}

/// When retention last finished, Unix seconds (0: never).
pub async fn last_retention(db: &PgPool) -> Result<f64, sqlx::Error> {
    let mut tx = sluice_shared::db::begin(db).await?;
    let at: Option<f64> = sqlx::query_scalar(
        "SELECT extract(epoch FROM max(finished_at))::float8 FROM retention_runs",
    )
    .persistent(false)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(at.unwrap_or(0.0))
}

/// Samples and sets the gauges; `shown` carries the partitions exported last time, so that the
/// ones gone since are zeroed.
pub async fn export(
    db: &PgPool,
    now: DateTime<Utc>,
    shown: &mut BTreeSet<(Table, String)>,
) -> Result<(), sqlx::Error> {
    let mut seen = BTreeSet::new();
    for t in Table::ALL {
        let s = table(db, t, now).await?;
        let name = t.name();
        for (partition, rows, bytes) in s.partitions {
            metrics::gauge!(m::PARTITION_ROWS, m::LABEL_TABLE => name, m::LABEL_PARTITION => partition.clone())
                .set(rows);
            metrics::gauge!(m::PARTITION_BYTES, m::LABEL_TABLE => name, m::LABEL_PARTITION => partition.clone())
                .set(bytes);
            seen.insert((t, partition));
        }
        metrics::gauge!(m::PARTITION_OLDEST_AGE_SECONDS, m::LABEL_TABLE => name)
            .set(s.oldest_age_s);
        metrics::gauge!(m::PARTITION_AHEAD_SECONDS, m::LABEL_TABLE => name).set(s.ahead_s);
    }
    for (t, partition) in shown.difference(&seen) {
        let name = t.name();
        metrics::gauge!(m::PARTITION_ROWS, m::LABEL_TABLE => name, m::LABEL_PARTITION => partition.clone())
            .set(0.0);
        metrics::gauge!(m::PARTITION_BYTES, m::LABEL_TABLE => name, m::LABEL_PARTITION => partition.clone())
            .set(0.0);
    }
    *shown = seen;
    metrics::gauge!(m::RETENTION_LAST_SUCCESS).set(last_retention(db).await?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;

    #[test]
    fn ahead_counts_contiguous_days_from_now() {
        let now = DateTime::parse_from_rfc3339("2026-12-03T18:00:00Z")
            .unwrap()
            .to_utc();
        let d = |n: u32| Table::Updates.partition(NaiveDate::from_ymd_opt(2026, 12, n).unwrap());
        assert_eq!(
            ahead_seconds(&[d(3), d(4), d(5)], now),
            (6.0 + 48.0) * 3600.0
        );
        assert_eq!(
            ahead_seconds(&[d(3), d(5), d(6)], now),
            6.0 * 3600.0,
            "a gap ends the reach"
        );
        assert_eq!(ahead_seconds(&[d(4), d(5)], now), 0.0, "today's is missing");
        assert_eq!(ahead_seconds(&[], now), 0.0);
    }
}
