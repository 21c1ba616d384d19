//! Retention drops whole partitions past `SLUICE_RETENTION`, keeps the rest and their rows,
//! forgets the dropped rows' dedup keys, and runs on one worker at a time.

use chrono::{Duration, Utc};
use sluice_testkit::TestDb;
use sluice_worker::partitions::{
    Retention, Table, ahead,
    expire::{self, Outcome, RETENTION_LOCK, When},
    list,
};
use sqlx::Connection;

use super::{insert_update, rows_by_partition};

/// Partitions for the last 12 days, one update in each day.
async fn twelve_days(db: &TestDb) {
    let now = Utc::now();
    ahead::ensure(&db.pool, now - Duration::days(12), 12)
        .await
        .unwrap();
    for d in 0..=12 {
        insert_update(&db.pool, "b", d, now - Duration::days(d)).await;
    }
}

async fn keys(db: &TestDb) -> Vec<i64> {
    sqlx::query_scalar("SELECT update_id FROM update_keys ORDER BY 1")
        .fetch_all(&db.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn retention_drops_only_whole_partitions_past_the_cutoff() {
    let db = TestDb::fresh().await.unwrap();
    twelve_days(&db).await;
    let now = Utc::now();
    let five_days: Retention = "5d".parse().unwrap();

    // The dry run lists the days that ended more than 5 days ago: 6..=12 days back.
    let expired = expire::expired(&db.pool, now, five_days).await.unwrap();
    let names: Vec<String> = expired.iter().map(|e| e.partition.name()).collect();
    let want: Vec<String> = (6..=12)
        .rev()
        .map(|d| {
            Table::Updates
                .partition((now - Duration::days(d)).date_naive())
                .name()
        })
        .chain((6..=12).rev().map(|d| {
            Table::Events
                .partition((now - Duration::days(d)).date_naive())
                .name()
        }))
        .collect();
    assert_eq!(names, want);
    assert_eq!(db.update_rows().await, 13, "a dry run drops nothing");

    let Outcome::Done {
        dropped,
        drop_time,
        keys_forgotten,
    } = expire::run(&db.pool, now, five_days, When::IfDue)
        .await
        .unwrap()
    else {
        panic!("the first run is due and unlocked");
    };
    assert_eq!(dropped, expired);
    assert!(
        drop_time < std::time::Duration::from_secs(1),
        "{drop_time:?}"
    );
    assert_eq!(keys_forgotten, 7, "the dropped rows' keys");
    let left: Vec<i64> = sqlx::query_scalar("SELECT update_id FROM updates ORDER BY 1")
        .fetch_all(&db.pool)
        .await
        .unwrap();
    assert_eq!(
        left,
        (0..=5).collect::<Vec<_>>(),
        "rows of the kept days stay"
    );
    assert_eq!(keys(&db).await, (0..=5).collect::<Vec<_>>());
    let oldest = list(&db.pool, Table::Updates).await.unwrap()[0];
    assert_eq!(oldest.day, (now - Duration::days(5)).date_naive());

    // Once a day: the next scheduled run is not due; an operator's run is, and finds nothing.
    assert_eq!(
        expire::run(&db.pool, now, five_days, When::IfDue)
            .await
            .unwrap(),
        Outcome::NotDue
    );
    let again = expire::run(&db.pool, now, five_days, When::Now)
        .await
        .unwrap();
    assert!(
        matches!(again, Outcome::Done { ref dropped, .. } if dropped.is_empty()),
        "{again:?}"
    );
    let runs: i64 = sqlx::query_scalar("SELECT count(*) FROM retention_runs")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(runs, 2);
    db.drop_db().await;
}

#[tokio::test]
async fn retention_off_keeps_everything_and_a_held_lock_stops_a_second_worker() {
    let db = TestDb::fresh().await.unwrap();
    twelve_days(&db).await;
    let now = Utc::now();
    assert!(
        expire::expired(&db.pool, now, Retention::Off)
            .await
            .unwrap()
            .is_empty()
    );

    // Another worker is in the middle of its run: it holds the lock.
    let mut other = sqlx::PgConnection::connect(&db.url).await.unwrap();
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(RETENTION_LOCK)
        .execute(&mut other)
        .await
        .unwrap();
    let one_day: Retention = "1d".parse().unwrap();
    assert_eq!(
        expire::run(&db.pool, now, one_day, When::Now)
            .await
            .unwrap(),
        Outcome::Locked
    );
    assert_eq!(db.update_rows().await, 13);
    sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(RETENTION_LOCK)
        .execute(&mut other)
        .await
        .unwrap();
    other.close().await.unwrap();

    let off = expire::run(&db.pool, now, Retention::Off, When::IfDue)
        .await
        .unwrap();
    assert!(
        matches!(off, Outcome::Done { ref dropped, .. } if dropped.is_empty()),
        "{off:?}"
    );
    assert_eq!(db.update_rows().await, 13);
    assert_eq!(keys(&db).await.len(), 13);
    db.drop_db().await;
}

/// A row in the DEFAULT partition (a received_at outside every day) keeps its key: it is not
/// in any dropped partition.
#[tokio::test]
async fn keys_of_rows_in_the_default_partition_survive_retention() {
    let db = TestDb::fresh().await.unwrap();
    twelve_days(&db).await;
    insert_update(&db.pool, "b", 99, super::at("1970-01-01T00:00:00.001Z")).await;
    let parts = rows_by_partition(&db.pool, Table::Updates).await;
    assert!(parts.contains(&("updates_default".into(), 1)), "{parts:?}");
    let r = expire::run(&db.pool, Utc::now(), "3d".parse().unwrap(), When::Now)
        .await
        .unwrap();
    assert!(
        matches!(
            r,
            Outcome::Done {
                keys_forgotten: 9,
                ..
            }
        ),
        "{r:?}"
    );
    assert!(keys(&db).await.contains(&99));
    db.drop_db().await;
}

#[tokio::test]
async fn the_retention_command_lists_then_drops() {
    let db = TestDb::fresh().await.unwrap();
    twelve_days(&db).await;
    let cli = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_sluice-worker"))
            .args(args)
            .env("DATABASE_URL", &db.url)
            .env("SLUICE_RETENTION", "10d")
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    let dry = cli(&["retention", "run", "--dry-run"]);
    assert_eq!(
        dry.lines().filter(|l| l.starts_with("would drop")).count(),
        4,
        "{dry}"
    );
    assert!(
        dry.contains("4 partition(s) past SLUICE_RETENTION=10days; nothing dropped"),
        "{dry}"
    );
    assert_eq!(db.update_rows().await, 13);
    let run = cli(&["retention", "run"]);
    assert!(
        run.contains("dropped 4 partition(s) past SLUICE_RETENTION=10days"),
        "{run}"
    );
    assert!(run.contains("forgot 2 dedup key(s)"), "{run}");
    assert_eq!(db.update_rows().await, 11);
    db.drop_db().await;
}
