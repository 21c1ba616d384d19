//! The Postgres connection budget: a server with max_connections=20 and four workers with a pool
//! of 10 each. The guard reports the overload, nothing is lost, no "too many clients" escapes.

use std::time::Duration;

use sluice_shared::lanes::Lane;
use sluice_testkit::{TestDb, prefix, redis_url, servers::PgCluster, wait_until};

use crate::common::{bulk_backlog, row_stats, spawn_worker_logged};

#[tokio::test]
async fn four_workers_with_pool_10_on_max_connections_20_lose_nothing() {
    const N: i64 = 4000;
    let pg = PgCluster::start(20).await.unwrap();
    let db = TestDb::fresh_on(&pg.admin_url()).await.unwrap();
    let (redis, prefix) = (redis_url(), prefix());
    bulk_backlog(&redis, &prefix, "crowded", 0..N, Lane::Normal).await;

    // enforce: the configuration is refused at start-up, with one line naming the variables.
    let (mut refused, log) = spawn_worker_logged(
        &db.url,
        &redis,
        &prefix,
        &[
            ("SLUICE_MAX_REPLICAS", "4"),
            ("SLUICE_DB_BUDGET", "enforce"),
        ],
    );
    let status = refused
        .wait_exit(Duration::from_secs(20))
        .await
        .expect("refused to start");
    assert!(!status.success());
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains("connection budget exceeded") && text.contains("SLUICE_MAX_REPLICAS"),
        "{text}"
    );

    // warn: four workers run anyway; the guard says so, and every update lands exactly once.
    let env = [
        ("SLUICE_MAX_REPLICAS", "4"),
        ("SLUICE_DB_BUDGET", "warn"),
        ("DB_POOL_MAX_CONNECTIONS", "10"),
        ("SLUICE_INSERT_PARALLEL", "10"),
        ("DB_POOL_ACQUIRE_TIMEOUT", "500ms"),
    ];
    let mut workers: Vec<_> = (0..4)
        .map(|_| spawn_worker_logged(&db.url, &redis, &prefix, &env))
        .collect();
    let done = wait_until(Duration::from_secs(120), || async {
        db.update_rows().await == N
    })
    .await;
    // Four pools of 10 can hold all 20 of the server's connections: stop the workers before this
    // test's own queries need one (a CI run once timed out acquiring it here).
    for (worker, _) in &mut workers {
        worker.kill9().await;
    }
    let (rows, distinct) = row_stats(&db.pool).await;
    assert!(done, "{rows} of {N}");
    assert_eq!(distinct, N);
    let logs: String = workers
        .iter()
        .map(|(_, log)| std::fs::read_to_string(log).unwrap_or_default())
        .collect();
    assert!(
        logs.contains("postgres connection budget exceeded"),
        "the guard reported the overload"
    );
    assert!(
        !logs.contains("job moved to the dead letters"),
        "no update was given up on"
    );
    drop(workers);
    sluice_testkit::clear_prefix(&redis, &prefix).await;
}
