use sluice_testkit::TestDb;

use super::*;

/// Rows of a drain: `n` updates of `lane`, received `wait_ms` before they were processed, the
/// processed_at spread one second apart from `start` (Unix seconds).
async fn insert(pool: &PgPool, lane: &str, first: i64, n: i64, start: f64, wait_ms: f64) {
    sqlx::query(
        "INSERT INTO updates (bot, update_id, kind, lane, payload, received_at, processed_at) \
         SELECT 'b', $1 + i, 'message', $2, '{\"a\":1}'::jsonb, \
                to_timestamp($3 + i) - make_interval(secs => $4 / 1000.0), to_timestamp($3 + i) \
         FROM generate_series(0, $5 - 1) AS i",
    )
    .bind(first)
    .bind(lane)
    .bind(start)
    .bind(wait_ms)
    .bind(n)
    .execute(pool)
    .await
    .unwrap();
}

#[tokio::test]
async fn reads_a_drain_and_the_high_waits_from_real_rows() {
    let test = TestDb::fresh().await.unwrap();
    let db = Db::connect(&test.url).await.unwrap();
    assert_eq!(db.drain_stats().await.unwrap().rows, 0);
    assert_eq!(
        db.high_waits().await.unwrap(),
        Waits {
            rows: 0,
            p50: None,
            p99: None,
            max: None
        }
    );
    insert(&db.pool, "low", 1, 10, 1000.0, 5.0).await;
    insert(&db.pool, "high", 100, 2, 2000.0, 40.0).await;
    let s = db.drain_stats().await.unwrap();
    assert_eq!(
        (s.rows, s.distinct, s.first, s.last),
        (12, 12, 1000.0, 2001.0)
    );
    assert_eq!((s.p10, s.p90), (1001.0, 2000.0));
    assert_eq!(db.count_rows(Some("low")).await.unwrap(), 10);
    let w = db.high_waits().await.unwrap();
    assert_eq!(
        (w.rows, w.p50, w.p99, w.max),
        (2, Some(40.0), Some(40.0), Some(40.0))
    );
    assert_eq!(db.mean_payload_bytes().await.unwrap(), 8.0);
    db.truncate().await.unwrap();
    assert_eq!(db.count_rows(None).await.unwrap(), 0);
    db.close().await;
    test.drop_db().await;
}
