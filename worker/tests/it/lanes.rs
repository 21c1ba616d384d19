//! Lane priorities and scale-out: urgent updates overtake a bulk backlog; several workers share
//! one backlog without duplicates.

use std::time::Duration;

use sluice_shared::lanes::Lane;
use sluice_testkit::{TestDb, prefix, redis_url, wait_until};

use crate::common::{
    bulk_backlog, enqueuer, envelope, jobs_done, row_stats, rows_in_lane, spawn_worker,
};

#[tokio::test]
async fn high_updates_overtake_a_large_low_backlog_and_low_still_progresses() {
    const LOW: i64 = 100_000;
    let db = TestDb::fresh().await.unwrap();
    let (redis, prefix) = (redis_url(), prefix());
    bulk_backlog(&redis, &prefix, "bulk", 0..LOW, Lane::Low).await;
    let mut worker = spawn_worker(
        &db.url,
        &redis,
        &prefix,
        &[("SLUICE_WORKER_CONCURRENCY", "16")],
    );
    assert!(
        wait_until(Duration::from_secs(30), || async {
            rows_in_lane(&db.pool, "low").await > 0
        })
        .await
    );

    // High updates arrive at a steady 20/s while the low backlog is being drained.
    let enq = enqueuer(&redis, &prefix);
    for id in 0..60 {
        enq.enqueue(&envelope("urgent", id, Lane::High))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let high_done = wait_until(Duration::from_secs(10), || async {
        rows_in_lane(&db.pool, "high").await == 60
    })
    .await;
    let low_done = rows_in_lane(&db.pool, "low").await;
    if !high_done {
        let q = sluice_testkit::queue_len(&redis, &prefix, "high")
            .await
            .unwrap();
        eprintln!(
            "high rows {} low rows {low_done} high queued {q}\n{}",
            rows_in_lane(&db.pool, "high").await,
            worker.metrics().await
        );
    }
    assert!(high_done, "high updates waited behind the low backlog");
    assert!(
        low_done < LOW / 2,
        "the low backlog was not large enough to prove anything ({low_done} done)"
    );
    let low_before = low_done;
    assert!(
        wait_until(Duration::from_secs(10), || async {
            rows_in_lane(&db.pool, "low").await > low_before + 100
        })
        .await,
        "the low lane must keep making progress"
    );
    // Waits (received → row committed) of the high lane, from the rows themselves.
    let worst_ms: f64 = sqlx::query_scalar(
        "SELECT (percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM processed_at - received_at)) * 1000)::float8
         FROM updates WHERE lane = 'high'",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    // Not a performance gate (that is the lanes benchmark, in release): a sanity bound showing
    // the high lane did not queue behind 100 000 low jobs.
    assert!(worst_ms < 2000.0, "high-lane p99 {worst_ms:.0} ms");
    worker.kill9().await;
    sluice_testkit::clear_prefix(&redis, &prefix).await;
    db.drop_db().await;
}

#[tokio::test]
async fn three_workers_drain_one_backlog_without_duplicates() {
    const N: i64 = 6000;
    let db = TestDb::fresh().await.unwrap();
    let (redis, prefix) = (redis_url(), prefix());
    bulk_backlog(&redis, &prefix, "shared", 0..N, Lane::Normal).await;
    let workers: Vec<_> = (0..3)
        .map(|_| spawn_worker(&db.url, &redis, &prefix, &[("POD_NAME", "same-pod")]))
        .collect();
    let done = wait_until(Duration::from_secs(120), || async {
        db.update_rows().await == N
    })
    .await;
    let (rows, distinct) = row_stats(&db.pool).await;
    assert!(done, "{rows} of {N}");
    assert_eq!(distinct, N);
    // Each process took part, even with the same POD_NAME (names are unique per process).
    for w in &workers {
        assert!(
            jobs_done(&w.metrics().await) > 0.0,
            "a worker processed nothing"
        );
    }
    // Finished jobs leave no bookkeeping behind: Redis memory stays flat in a long run.
    let vacuumed = wait_until(Duration::from_secs(10), || async {
        sluice_testkit::jobs_stored(&redis, &prefix).await.unwrap() == 0
    })
    .await;
    assert!(
        vacuumed,
        "{} finished jobs still stored",
        sluice_testkit::jobs_stored(&redis, &prefix).await.unwrap()
    );
    drop(workers);
    sluice_testkit::clear_prefix(&redis, &prefix).await;
    db.drop_db().await;
}
