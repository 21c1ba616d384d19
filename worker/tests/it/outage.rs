//! Postgres down while jobs are queued: nothing is lost, rows land once it is back.

use std::time::Duration;

use sluice_shared::lanes::Lane;
use sluice_testkit::{TestDb, prefix, redis_url, servers::PgCluster, wait_until};

use crate::common::{backlog, enqueuer, row_stats, spawn_worker, worker_cli};

#[tokio::test]
async fn postgres_down_while_jobs_are_queued_loses_nothing() {
    const N: i64 = 300;
    let (mut pg, db, redis, prefix) = queued_on_own_postgres("patient", N).await;

    pg.stop().await.unwrap();
    let worker = spawn_worker(&db.url, &redis, &prefix, &[]);
    // Let the worker fail against the dead database for a while.
    let retried = wait_until(Duration::from_secs(30), || async {
        worker
            .metrics()
            .await
            .contains(sluice_shared::metrics::DB_RETRIES_TOTAL)
    })
    .await;
    assert!(retried, "no retries recorded");
    pg.resume().await.unwrap();
    every_row_arrives(&db, N).await;
    sluice_testkit::clear_prefix(&redis, &prefix).await;
}

/// With 2 attempts, each riding out 30 s of database errors, the whole retry schedule is about
/// a minute: before the gate, all 200 jobs of a 90 s outage ended in the dead letters (and 0 of
/// 200 rows were there after it).
#[tokio::test]
async fn an_outage_longer_than_the_retry_schedule_costs_no_attempts() {
    const N: i64 = 200;
    let (mut pg, db, redis, prefix) = queued_on_own_postgres("enduring", N).await;

    pg.stop().await.unwrap();
    let env = [
        // Every job in the first wave, so each reaches its last attempt during the outage.
        ("SLUICE_WORKER_CONCURRENCY", "256"),
        ("SLUICE_RETRY_MAX_ATTEMPTS", "2"),
        ("SLUICE_RETRY_BASE", "100ms"),
        ("SLUICE_RETRY_MAX", "500ms"),
    ];
    let worker = spawn_worker(&db.url, &redis, &prefix, &env);
    let ready = format!("http://127.0.0.1:{}/readyz", worker.admin_port);
    let paused = wait_until(Duration::from_secs(60), || async {
        fetch_paused(&worker.metrics().await) == Some(1.0)
    })
    .await;
    assert!(paused, "fetching paused:\n{}", worker.metrics().await);
    let answer = reqwest::get(&ready).await.unwrap();
    assert_eq!(answer.status(), 503);
    let body = answer.text().await.unwrap();
    assert!(body.contains("fetch: paused"), "{body}");
    tokio::time::sleep(Duration::from_secs(90)).await;
    pg.resume().await.unwrap();
    every_row_arrives(&db, N).await;
    let list = worker_cli(&redis, &prefix, &["dlq", "list"]).await;
    assert!(list.contains("0 dead letter(s) shown"), "{list}");
    let metrics = worker.metrics().await;
    assert!(metrics.contains(r#"outcome="released""#), "{metrics}");
    assert_eq!(fetch_paused(&metrics), Some(0.0), "{metrics}");
    assert_eq!(reqwest::get(&ready).await.unwrap().status(), 200);
    sluice_testkit::clear_prefix(&redis, &prefix).await;
}

/// The value of the `sluice_worker_fetch_paused` gauge in a /metrics text.
fn fetch_paused(metrics: &str) -> Option<f64> {
    let name = sluice_shared::metrics::WORKER_FETCH_PAUSED;
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

#[tokio::test]
async fn a_redis_restart_does_not_need_a_worker_restart() {
    let mut redis = sluice_testkit::servers::RedisServer::start_persistent()
        .await
        .unwrap();
    let db = TestDb::fresh().await.unwrap();
    let prefix = prefix();
    backlog(
        &enqueuer(&redis.url(), &prefix),
        "steady",
        500,
        Lane::Normal,
    )
    .await;
    let mut worker = spawn_worker(
        &db.url,
        &redis.url(),
        &prefix,
        &[("SLUICE_ORPHAN_TIMEOUT", "4s")],
    );
    assert!(
        wait_until(Duration::from_secs(30), || async {
            db.update_rows().await >= 100
        })
        .await
    );

    redis.restart().await.unwrap();
    // New work arrives after the restart; the same worker process must take it.
    let enq = enqueuer(&redis.url(), &prefix);
    for id in 501..=1000 {
        enq.enqueue(&crate::common::envelope("steady", id, Lane::Normal))
            .await
            .unwrap();
    }
    let done = wait_until(Duration::from_secs(60), || async {
        db.update_rows().await == 1000
    })
    .await;
    let (rows, distinct) = row_stats(&db.pool).await;
    assert!(done, "{rows} of 1000 rows after the Redis restart");
    assert_eq!(distinct, 1000);
    assert!(
        worker.wait_exit(Duration::from_millis(10)).await.is_none(),
        "the worker process kept running"
    );
    worker.kill9().await;
    db.drop_db().await;
}

/// A private Postgres cluster (so the test may stop it) with a fresh database, and `n` updates of
/// `bot` queued in the normal lane under a fresh prefix.
async fn queued_on_own_postgres(bot: &str, n: i64) -> (PgCluster, TestDb, String, String) {
    let pg = PgCluster::start(50).await.unwrap();
    let db = TestDb::fresh_on(&pg.admin_url()).await.unwrap();
    let (redis, prefix) = (redis_url(), prefix());
    backlog(&enqueuer(&redis, &prefix), bot, n, Lane::Normal).await;
    (pg, db, redis, prefix)
}

/// Once Postgres is back, all `n` updates arrive as `n` distinct rows within a minute.
async fn every_row_arrives(db: &TestDb, n: i64) {
    let done = wait_until(Duration::from_secs(60), || async {
        db.update_rows().await == n
    })
    .await;
    let (rows, distinct) = row_stats(&db.pool).await;
    assert!(done, "{rows} of {n} rows after Postgres came back");
    assert_eq!(distinct, n);
}
