//! The daily partitions of `updates` and `events`: creating them ahead, dropping them after
//! `SLUICE_RETENTION`, and sampling their sizes (issue 17; docs/history.md).
//!
//! Plain SQL only, so it works wherever sluice can connect: no pg_partman, no pg_cron. Each
//! table has one partition per UTC day, `<table>_pYYYYMMDD` for [day 00:00, next day 00:00),
//! and a DEFAULT partition for rows whose `received_at` falls outside every day (a clock far off,
//! rows older than the migration's window); retention never drops the default.
//!
//! # Layout
//! - [`ahead`]: the next [`AHEAD_DAYS`] days' partitions, created and attached without
//!   blocking writers.
//! - [`expire`]: the retention run: which partitions are past `SLUICE_RETENTION`, dropping them
//!   under an advisory lock, then forgetting their dedup keys.
//! - [`sample`]: rows, bytes, oldest age, coverage ahead and the last retention run as gauges.
//! - [`task`]: the worker's background loop over the three.
//! - [`cli`]: `sluice-worker retention run [--dry-run]`.

pub mod ahead;
pub mod cli;
pub mod expire;
pub mod sample;
pub mod task;

use std::{fmt, str::FromStr, time::Duration};

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::PgPool;

/// Days of partitions kept ready ahead of today.
pub const AHEAD_DAYS: u32 = 7;

/// How long a DDL statement may wait for its lock before giving up until the next round: a
/// drop or attach queued behind a long reader would otherwise hold up every insert behind it.
pub const LOCK_TIMEOUT: &str = "5s";

/// A partitioned table of sluice and its dedup-key table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Table {
    Updates,
    Events,
}

impl Table {
    pub const ALL: [Table; 2] = [Table::Updates, Table::Events];

    pub fn name(self) -> &'static str {
        match self {
            Table::Updates => "updates",
            Table::Events => "events",
        }
    }

    /// The unpartitioned table that claims each row's key (see `migrations/…_partitioned_history`).
    pub fn keys(self) -> &'static str {
        match self {
            Table::Updates => "update_keys",
            Table::Events => "event_keys",
        }
    }

    /// The key columns shared by the table and its key table.
    pub fn key_columns(self) -> (&'static str, &'static str) {
        match self {
            Table::Updates => ("bot", "update_id"),
            Table::Events => ("source", "idempotency_key"),
        }
    }

    pub fn default_partition(self) -> String {
        format!("{}_default", self.name())
    }

    /// The partition holding `day`.
    pub fn partition(self, day: NaiveDate) -> Partition {
        Partition { table: self, day }
    }

    /// The day of a partition name of this table, if it is one of ours.
    fn day_of(self, name: &str) -> Option<NaiveDate> {
        let digits = name.strip_prefix(self.name())?.strip_prefix("_p")?;
        (digits.len() == 8)
            .then(|| NaiveDate::parse_from_str(digits, "%Y%m%d").ok())
            .flatten()
    }
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One daily partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Partition {
    pub table: Table,
    pub day: NaiveDate,
}

impl Partition {
    pub fn name(&self) -> String {
        format!("{}_p{}", self.table.name(), self.day.format("%Y%m%d"))
    }

    /// Its first instant (inclusive).
    pub fn from(&self) -> DateTime<Utc> {
        self.day
            .and_hms_opt(0, 0, 0)
            .expect("midnight exists")
            .and_utc()
    }

    /// Its end (exclusive): the next day's first instant.
    pub fn to(&self) -> DateTime<Utc> {
        self.from() + chrono::Duration::days(1)
    }
}

/// The daily partitions of `table` that exist, oldest first (the default one is not listed).
pub async fn list(db: &PgPool, table: Table) -> Result<Vec<Partition>, sqlx::Error> {
    let mut tx = sluice_shared::db::begin(db).await?;
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_inherits i
           JOIN pg_class c ON c.oid = i.inhrelid
          WHERE i.inhparent = to_regclass($1) AND c.relkind IN ('r', 'p')",
    )
    .persistent(false)
    .bind(table.name())
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    let mut days: Vec<Partition> = names
        .iter()
        .filter_map(|n| table.day_of(n))
        .map(|day| table.partition(day))
        .collect();
    days.sort();
    Ok(days)
}

/// `SLUICE_RETENTION`: how long stored history is kept, or `off` to keep all of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retention {
    Off,
    Keep(Duration),
}

impl Retention {
    /// The instant before which a whole partition has expired (`None`: never).
    pub fn cutoff(self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Retention::Off => None,
            Retention::Keep(d) => Some(now - chrono::Duration::from_std(d).ok()?),
        }
    }

    pub fn as_secs(self) -> Option<i64> {
        match self {
            Retention::Off => None,
            Retention::Keep(d) => Some(d.as_secs() as i64),
        }
    }
}

impl FromStr for Retention {
    type Err = String;
    /// `off`, or a humantime duration of at least one day (a partition is a day: anything
    /// shorter would drop today's partition while it is being written).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.trim().eq_ignore_ascii_case("off") {
            return Ok(Retention::Off);
        }
        let d = sluice_shared::config::parse_duration(s)?;
        if d < Duration::from_secs(86_400) {
            return Err(format!(
                "'{s}' is shorter than a day (a partition); use 1d or more, or off"
            ));
        }
        Ok(Retention::Keep(d))
    }
}

impl fmt::Display for Retention {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Retention::Off => f.write_str("off"),
            Retention::Keep(d) => write!(f, "{}", sluice_shared::config::show(*d)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_bounds_are_utc_days() {
        let p = Table::Updates.partition(NaiveDate::from_ymd_opt(2026, 12, 3).unwrap());
        assert_eq!(p.name(), "updates_p20261203");
        assert_eq!(p.from().to_rfc3339(), "2026-12-03T00:00:00+00:00");
        assert_eq!(p.to().to_rfc3339(), "2026-12-04T00:00:00+00:00");
        assert_eq!(Table::Updates.day_of("updates_p20261203"), Some(p.day));
        assert_eq!(Table::Updates.day_of("updates_default"), None);
        assert_eq!(Table::Updates.day_of("events_p20261203"), None);
        assert_eq!(Table::Events.day_of("events_p2026120"), None);
    }

    #[test]
    fn retention_is_off_or_at_least_a_day() {
        assert_eq!("off".parse::<Retention>(), Ok(Retention::Off));
        assert_eq!(
            "30d".parse::<Retention>(),
            Ok(Retention::Keep(Duration::from_secs(30 * 86_400)))
        );
        assert!(
            "12h"
                .parse::<Retention>()
                .unwrap_err()
                .contains("shorter than a day")
        );
        assert!("soon".parse::<Retention>().is_err());
        let now = DateTime::parse_from_rfc3339("2026-12-03T10:00:00Z")
            .unwrap()
            .to_utc();
        assert_eq!(Retention::Off.cutoff(now), None);
        assert_eq!(
            "2d".parse::<Retention>()
                .unwrap()
                .cutoff(now)
                .unwrap()
                .to_rfc3339(),
            "2026-12-01T10:00:00+00:00"
        );
    }
}
