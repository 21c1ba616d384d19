//! Postgres down while jobs are queued: nothing is lost, rows land once it is back.

use std::time::Duration;

use sluice_shared::lanes::Lane;
use sluice_testkit::{TestDb, prefix, redis_url, servers::PgCluster, wait_until};

use crate::common::{backlog, enqueuer, row_stats, spawn_worker};

#[tokio::test]
async fn postgres_down_while_jobs_are_queued_loses_nothing() {
    const N: i64 = 300;
    let mut pg = PgCluster::start(50).await.unwrap();
    let db = TestDb::fresh_on(&pg.admin_url()).await.unwrap();
    let (redis, prefix) = (redis_url(), prefix());
    backlog(&enqueuer(&redis, &prefix), "patient", N, Lane::Normal).await;

    pg.stop().await.unwrap();
    let worker = spawn_worker(&db.url, &redis, &prefix, &[]);
    // Let the worker fail against the dead database for a while.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let retries = worker.metrics().await;
    assert!(
        retries.contains(sluice_shared::metrics::DB_RETRIES_TOTAL),
        "no retries recorded"
    );
    pg.resume().await.unwrap();

    let done = wait_until(Duration::from_secs(60), || async {
        db.update_rows().await == N
    })
    .await;
    let (rows, distinct) = row_stats(&db.pool).await;
    assert!(done, "{rows} of {N} rows after Postgres came back");
    assert_eq!(distinct, N);
    sluice_testkit::clear_prefix(&redis, &prefix).await;
}
