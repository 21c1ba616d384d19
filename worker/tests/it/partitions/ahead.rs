//! Partitions are created ahead, by the worker at start and by the upkeep, idempotently.

use std::time::Duration;

use chrono::Utc;
use sluice_testkit::{TestDb, prefix, redis_url, wait_until};
use sluice_worker::partitions::{AHEAD_DAYS, Table, ahead, list};

use super::{insert_update, rows_by_partition};
use crate::common::spawn_worker;

#[tokio::test]
async fn partitions_are_created_ahead_once_and_take_their_days_rows() {
    let db = TestDb::fresh().await.unwrap();
    let today = Utc::now().date_naive();
    for table in Table::ALL {
        let days: Vec<_> = list(&db.pool, table)
            .await
            .unwrap()
            .iter()
            .map(|p| p.day)
            .collect();
        assert_eq!(
            days.first(),
            Some(&today),
            "{table}: the migration made today's"
        );
        assert_eq!(
            days.len(),
            AHEAD_DAYS as usize + 1,
            "{table}: and the next {AHEAD_DAYS} days'"
        );
    }

    // Forty days on, two workers' upkeep runs at once: each day made once, no error.
    let later = Utc::now() + chrono::Duration::days(40);
    let (a, b) = tokio::join!(
        ahead::ensure(&db.pool, later, AHEAD_DAYS),
        ahead::ensure(&db.pool, later, AHEAD_DAYS)
    );
    let made = a.unwrap().len() + b.unwrap().len();
    assert_eq!(
        made,
        2 * (AHEAD_DAYS as usize + 1),
        "8 days for each of 2 tables"
    );
    assert!(
        ahead::ensure(&db.pool, later, AHEAD_DAYS)
            .await
            .unwrap()
            .is_empty()
    );
    let updates = list(&db.pool, Table::Updates).await.unwrap();
    assert_eq!(updates.len(), 2 * (AHEAD_DAYS as usize + 1));

    // A row of that day lands in its partition, not in the default one.
    insert_update(&db.pool, "b", 1, later).await;
    let day = Table::Updates.partition(later.date_naive()).name();
    assert_eq!(
        rows_by_partition(&db.pool, Table::Updates).await,
        vec![(day, 1)]
    );
    db.drop_db().await;
}

#[tokio::test]
async fn the_worker_makes_missing_partitions_at_start_and_exports_the_gauges() {
    let db = TestDb::fresh().await.unwrap();
    let (redis, prefix) = (redis_url(), prefix());
    // As if the migration ran long ago: only today's partitions are left.
    let tomorrow = Utc::now().date_naive().succ_opt().unwrap();
    for table in Table::ALL {
        for p in list(&db.pool, table).await.unwrap() {
            if p.day >= tomorrow {
                sqlx::query(sqlx::AssertSqlSafe(format!("DROP TABLE {}", p.name())))
                    .execute(&db.pool)
                    .await
                    .unwrap();
            }
        }
    }
    let worker = spawn_worker(&db.url, &redis, &prefix, &[]);
    let made = wait_until(Duration::from_secs(30), || async {
        list(&db.pool, Table::Events).await.unwrap().len() == AHEAD_DAYS as usize + 1
    })
    .await;
    assert!(made, "the worker created the partitions ahead");
    // Both tables' gauges: a scrape may fall between the two tables of one sample.
    let ahead_ok = wait_until(Duration::from_secs(30), || async {
        let text = worker.metrics().await;
        gauge(&text, "sluice_partition_ahead_seconds{table=\"updates\"}")
            .is_some_and(|s| s > f64::from(AHEAD_DAYS) * 86_400.0)
            && gauge(&text, "sluice_partition_ahead_seconds{table=\"events\"}").is_some()
    })
    .await;
    assert!(ahead_ok, "the gauge shows {AHEAD_DAYS} days ahead");
    let text = worker.metrics().await;
    let today = Table::Updates.partition(Utc::now().date_naive()).name();
    let bytes = format!("sluice_partition_bytes{{table=\"updates\",partition=\"{today}\"}}");
    assert!(
        gauge(&text, &bytes).is_some_and(|b| b > 0.0),
        "{bytes} in:\n{text}"
    );
    let oldest = "sluice_partition_oldest_age_seconds{table=\"events\"}";
    assert!(gauge(&text, oldest).is_some(), "{oldest} in:\n{text}");
    drop(worker);
    sluice_testkit::clear_prefix(&redis, &prefix).await;
    db.drop_db().await;
}

/// The value of one series of a Prometheus text exposition.
pub fn gauge(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
}
