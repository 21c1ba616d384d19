//! One row per (bot, update_id) and per (source, idempotency key) although the rows live in
//! daily partitions: the same update received on either side of midnight (a redelivery after
//! the Redis dedup window), the same job delivered twice, and two workers racing.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sluice_shared::{
    job::{Job, Origin},
    lanes::Lane,
};
use sluice_testkit::{TestDb, prefix, redis_url, wait_until};
use sluice_worker::partitions::Table;

use super::{insert_update, rows_by_partition};
use crate::common::{envelope, jobs_done, push_jobs, row_stats, spawn_worker, unfinished};

/// The coming midnight (UTC), whose two sides have partitions from the migration.
fn midnight() -> DateTime<Utc> {
    let tomorrow = Utc::now().date_naive().succ_opt().unwrap();
    tomorrow.and_hms_opt(0, 0, 0).unwrap().and_utc()
}

fn received(mut job: Job, at: DateTime<Utc>) -> Job {
    job.received_at_ms = at.timestamp_millis();
    job
}

fn event(at: DateTime<Utc>) -> Job {
    Job {
        origin: Origin::Signed {
            source: "stripe".into(),
            key: "evt_midnight".into(),
            rate_key: None,
        },
        kind: "invoice.paid".into(),
        lane: Lane::Normal,
        received_at_ms: at.timestamp_millis(),
        payload: serde_json::value::RawValue::from_string(r#"{"id":"evt_midnight"}"#.into())
            .unwrap(),
        attempt: 0,
        traceparent: None,
    }
}

#[tokio::test]
async fn an_update_received_on_both_sides_of_midnight_is_one_row() {
    let db = TestDb::fresh().await.unwrap();
    let (redis, prefix) = (redis_url(), prefix());
    let worker = spawn_worker(&db.url, &redis, &prefix, &[]);
    let ms = chrono::Duration::milliseconds(1);
    let before = received(envelope("night", 7, Lane::Normal), midnight() - ms);
    let after = received(envelope("night", 7, Lane::Normal), midnight() + ms);

    // The first delivery is stored before midnight's side...
    push_jobs(
        &redis,
        &prefix,
        Lane::Normal,
        &[before.clone(), event(midnight() - ms)],
    )
    .await;
    let first = wait_until(Duration::from_secs(20), || async {
        jobs_done(&worker.metrics().await) == 2.0
    })
    .await;
    assert!(first, "the first deliveries were stored");
    // ...then Telegram delivers it again after midnight (a new job, a new received_at), the
    // first job is delivered a second time (orphan recovery), and the event comes back too.
    push_jobs(&redis, &prefix, Lane::Normal, &[after, before]).await;
    push_jobs(&redis, &prefix, Lane::High, &[event(midnight() + ms)]).await;
    let settled = wait_until(Duration::from_secs(20), || async {
        jobs_done(&worker.metrics().await) == 5.0 && unfinished(&redis, &prefix).await == 0
    })
    .await;
    assert!(settled, "every job settled");

    assert_eq!(row_stats(&db.pool).await, (1, 1), "one row for update 7");
    let today = Table::Updates
        .partition((midnight() - ms).date_naive())
        .name();
    assert_eq!(
        rows_by_partition(&db.pool, Table::Updates).await,
        vec![(today, 1)]
    );
    let events: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(events, 1, "one row for the event");
    let keys: (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM update_keys), (SELECT count(*) FROM event_keys)",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(keys, (1, 1));
    drop(worker);
    sluice_testkit::clear_prefix(&redis, &prefix).await;
    db.drop_db().await;
}

/// Two workers insert the same update at once, received on either side of midnight: the key's
/// primary key makes one wait for the other, and one row results, every time.
#[tokio::test]
async fn racing_inserts_across_the_boundary_make_one_row() {
    let db = TestDb::fresh().await.unwrap();
    let other = sqlx::PgPool::connect(&db.url).await.unwrap();
    let ms = chrono::Duration::milliseconds(1);
    for id in 0..40 {
        tokio::join!(
            insert_update(&db.pool, "race", id, midnight() - ms),
            insert_update(&other, "race", id, midnight() + ms)
        );
    }
    assert_eq!(row_stats(&db.pool).await, (40, 40));
    let parts = rows_by_partition(&db.pool, Table::Updates).await;
    assert_eq!(parts.iter().map(|(_, n)| n).sum::<i64>(), 40, "{parts:?}");
    other.close().await;
    db.drop_db().await;
}
