//! Crash safety: SIGKILL mid-drain loses nothing and duplicates nothing; SIGTERM drains cleanly.

use std::time::Duration;

use sluice_shared::lanes::Lane;
use sluice_testkit::{TestDb, prefix, redis_url, wait_until};

use crate::common::{backlog, enqueuer, in_flight, row_stats, spawn_worker, unfinished};

const FAST_ORPHANS: &[(&str, &str)] = &[
    ("SLUICE_ORPHAN_TIMEOUT", "2s"),
    ("SLUICE_WORKER_CONCURRENCY", "16"),
];

#[tokio::test]
async fn sigkill_mid_drain_three_times_then_everything_lands_exactly_once() {
    const N: i64 = 3000;
    let db = TestDb::fresh().await.unwrap();
    let (redis, prefix) = (redis_url(), prefix());
    backlog(&enqueuer(&redis, &prefix), "crashy", N, Lane::Normal).await;

    for round in 1..=3 {
        let mut w = spawn_worker(&db.url, &redis, &prefix, FAST_ORPHANS);
        let target = round * N / 5;
        let progressed = wait_until(Duration::from_secs(60), || async {
            db.update_rows().await >= target
        })
        .await;
        assert!(progressed, "round {round}: worker made no progress");
        w.kill9().await;
    }
    let _last = spawn_worker(&db.url, &redis, &prefix, FAST_ORPHANS);
    let done = wait_until(Duration::from_secs(90), || async {
        db.update_rows().await == N
    })
    .await;
    let (rows, distinct) = row_stats(&db.pool).await;
    assert!(done, "{rows} of {N} rows after three SIGKILLs");
    assert_eq!((rows, distinct), (N, N), "every update exactly once");
    let drained = wait_until(Duration::from_secs(10), || async {
        unfinished(&redis, &prefix).await == 0
    })
    .await;
    assert!(
        drained,
        "jobs left pending or in flight: {}",
        unfinished(&redis, &prefix).await
    );
    sluice_testkit::clear_prefix(&redis, &prefix).await;
    db.drop_db().await;
}

#[tokio::test]
async fn sigterm_finishes_in_flight_jobs_and_releases_the_rest() {
    const N: i64 = 2000;
    let db = TestDb::fresh().await.unwrap();
    let (redis, prefix) = (redis_url(), prefix());
    backlog(&enqueuer(&redis, &prefix), "graceful", N, Lane::Low).await;
    // A long orphan timeout: whatever the next worker finds quickly was released, not recovered.
    let slow_orphans = [
        ("SLUICE_ORPHAN_TIMEOUT", "120s"),
        ("SLUICE_SHUTDOWN_GRACE", "10s"),
    ];
    let mut first = spawn_worker(&db.url, &redis, &prefix, &slow_orphans);
    assert!(
        wait_until(Duration::from_secs(60), || async {
            db.update_rows().await >= 200
        })
        .await
    );
    first.sigterm().await;
    let status = first
        .wait_exit(Duration::from_secs(15))
        .await
        .expect("exited within the grace period");
    assert!(status.success(), "exit status {status:?}");
    // Whatever its consumers still held went back to the lane (`Pusher::release_held`, by the
    // consumers' names): nothing waits in an in-flight set for orphan recovery.
    assert_eq!(
        in_flight(&redis, &prefix).await,
        0,
        "jobs still in an in-flight set after the worker stopped"
    );

    let _second = spawn_worker(&db.url, &redis, &prefix, &slow_orphans);
    let done = wait_until(Duration::from_secs(60), || async {
        db.update_rows().await == N
    })
    .await;
    let (rows, distinct) = row_stats(&db.pool).await;
    assert!(
        done,
        "{rows} of {N}: the first worker kept jobs it should have finished or released"
    );
    assert_eq!(distinct, N);
    sluice_testkit::clear_prefix(&redis, &prefix).await;
    db.drop_db().await;
}

/// The race behind a stopping consumer: a fetch that completes while it stops leaves a batch in
/// its in-flight set. `release_held` puts such jobs back in the lane (and only this worker's).
#[tokio::test]
async fn jobs_left_in_a_stopped_workers_in_flight_set_are_released() {
    use sluice_shared::queue::{PushOptions, Pusher, QueueConfig, lane_config};
    let (redis, prefix) = (redis_url(), prefix());
    let conn = sluice_shared::queue::connect(&redis, Duration::from_secs(5)).unwrap();
    let queue = QueueConfig {
        dedup_ttl: Duration::from_secs(3600),
    };
    let requeue = Pusher::new(conn.clone(), &prefix, &queue, PushOptions::default());
    let low = lane_config(&prefix, Lane::Low, &queue);
    let mut c = conn.clone();
    let held = format!("{}:w1-low-0", low.inflight_jobs_set());
    let other = format!("{}:w2-low-0", low.inflight_jobs_set());
    let _: () = redis::cmd("SADD")
        .arg(&held)
        .arg("job-a")
        .arg("job-b")
        .query_async(&mut c)
        .await
        .unwrap();
    let _: () = redis::cmd("SADD")
        .arg(&other)
        .arg("job-c")
        .query_async(&mut c)
        .await
        .unwrap();
    let meta = format!("{}:job-a", low.job_meta_hash());
    let _: () = redis::cmd("HSET")
        .arg(&meta)
        .arg("status")
        .arg("Running")
        .arg("locked_by")
        .arg("w1")
        .query_async(&mut c)
        .await
        .unwrap();

    let consumers = [(Lane::Low, "w1-low-0"), (Lane::Normal, "w1-normal-0")]
        .map(|(lane, name)| (lane, name.to_owned()));
    assert_eq!(requeue.release_held(&consumers).await.unwrap(), 2);

    let mut active: Vec<String> = redis::cmd("LRANGE")
        .arg(low.active_jobs_list())
        .arg(0)
        .arg(-1)
        .query_async(&mut c)
        .await
        .unwrap();
    active.sort();
    assert_eq!(active, ["job-a", "job-b"]);
    let left: i64 = redis::cmd("EXISTS")
        .arg(&held)
        .query_async(&mut c)
        .await
        .unwrap();
    assert_eq!(left, 0, "the stopped worker's set is gone");
    let others: i64 = redis::cmd("SCARD")
        .arg(&other)
        .query_async(&mut c)
        .await
        .unwrap();
    assert_eq!(others, 1, "another worker's jobs are not touched");
    let status: Option<String> = redis::cmd("HGET")
        .arg(&meta)
        .arg("status")
        .query_async(&mut c)
        .await
        .unwrap();
    assert_eq!(status.as_deref(), Some("Pending"));
    assert_eq!(
        requeue.release_held(&consumers).await.unwrap(),
        0,
        "nothing twice"
    );
    sluice_testkit::clear_prefix(&redis, &prefix).await;
}
