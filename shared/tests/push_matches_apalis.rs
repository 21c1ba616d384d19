//! `queue::Pusher` writes jobs as apalis-redis 1.0's own push does, so that its consumers fetch
//! them, and claims dedup keys in both namespaces: a key-less job (a retry, a replayed dead
//! letter) is field for field what `apalis_redis::queries::push_tasks` wrote for it before the
//! push moved here, and a keyed one is a duplicate whoever claimed its key first.
//!
//! Needs Redis: `TEST_REDIS_URL`, default `redis://127.0.0.1:6379`; keys under a fresh prefix,
//! removed at the end.

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use apalis_core::task::{builder::TaskBuilder, task_id::TaskId};
use redis::{AsyncCommands, aio::ConnectionManager};
use sluice_shared::{
    lanes::Lane,
    queue::{
        NewJob, PushOptions, Pushed, Pusher, QueueConfig, connect, dedup_key_name, due_at,
        lane_config,
    },
};
use ulid::Ulid;

fn queue() -> QueueConfig {
    QueueConfig {
        dedup_ttl: Duration::from_secs(25 * 3600),
    }
}

async fn redis(prefix: &str) -> (ConnectionManager, Pusher) {
    let url = std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let conn = connect(&url, Duration::from_secs(5)).unwrap();
    let pusher = Pusher::new(conn.clone(), prefix, &queue(), PushOptions::default());
    (conn, pusher)
}

fn prefix() -> String {
    format!(
        "sluice-push-test-{}",
        Ulid::generate().to_string().to_lowercase()
    )
}

/// Every key under `prefix` (SCAN, not KEYS: others share this Redis).
async fn keys(conn: &mut ConnectionManager, prefix: &str) -> Vec<String> {
    let (mut keys, mut cursor) = (Vec::new(), 0u64);
    loop {
        let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(format!("{prefix}:*"))
            .arg("COUNT")
            .arg(1000)
            .query_async(conn)
            .await
            .unwrap();
        keys.extend(batch);
        if next == 0 {
            keys.sort();
            return keys;
        }
        cursor = next;
    }
}

async fn clear(conn: &mut ConnectionManager, prefix: &str) {
    let keys = keys(conn, prefix).await;
    if !keys.is_empty() {
        let _: () = conn.unlink(keys).await.unwrap();
    }
}

/// Everything one job left in its lane: its data, its meta hash, its score in the scheduled set.
async fn written(
    conn: &mut ConnectionManager,
    prefix: &str,
    id: &str,
) -> (Vec<u8>, HashMap<String, String>, Option<u64>) {
    let q = lane_config(prefix, Lane::Low, &queue());
    let data: Vec<u8> = conn.hget(q.job_data_hash(), id).await.unwrap();
    let meta: HashMap<String, String> = conn
        .hgetall(format!("{}:{id}", q.job_meta_hash()))
        .await
        .unwrap();
    let score: Option<u64> = conn.zscore(q.scheduled_jobs_set(), id).await.unwrap();
    (data, meta, score)
}

#[tokio::test]
async fn a_requeued_job_is_written_as_apalis_pushes_it() {
    let (ours, theirs) = (prefix(), prefix());
    let (mut conn, pusher) = redis(&ours).await;
    let job = serde_json::json!({"origin": "telegram", "bot": "b", "update_id": 7});
    let delay = Duration::from_secs(30);

    let ours_id = pusher.requeue(Lane::Low, &job, delay).await.unwrap();
    let theirs_id = Ulid::generate();
    let run_at = sluice_shared::queue::run_at_secs(std::time::SystemTime::now() + delay);
    let task = TaskBuilder::new(serde_json::to_vec(&job).unwrap())
        .task_id(TaskId::from_ulid(theirs_id))
        .run_at_timestamp(run_at)
        .build();
    let config = lane_config(&theirs, Lane::Low, &queue());
    apalis_redis::queries::push_tasks(&mut conn, &config, &[task])
        .await
        .unwrap();

    let (data, meta, score) = written(&mut conn, &ours, &ours_id).await;
    let (their_data, their_meta, their_score) =
        written(&mut conn, &theirs, &theirs_id.to_string()).await;
    assert_eq!(data, their_data);
    assert_eq!(meta, their_meta);
    let (score, their_score) = (score.unwrap(), their_score.unwrap());
    assert!(score.abs_diff(their_score) <= 1, "{score} vs {their_score}");
    assert!(score >= due_at(None) + 29, "due after the delay: {score}");
    // Nothing claimed, nothing due yet: no key besides the data, meta and scheduled set.
    let q = Lane::Low.queue_name(&ours);
    assert_eq!(
        keys(&mut conn, &ours).await,
        [
            format!("{q}:data"),
            format!("{q}:meta:{ours_id}"),
            format!("{q}:scheduled")
        ]
    );
    clear(&mut conn, &ours).await;
    clear(&mut conn, &theirs).await;
}

#[tokio::test]
async fn a_key_is_claimed_in_both_namespaces_and_a_claim_from_either_is_a_duplicate() {
    let prefix = prefix();
    let (mut conn, pusher) = redis(&prefix).await;
    let bytes = br#"{"update_id":1}"#;
    let job = |key: &'static str| NewJob {
        id: Ulid::generate(),
        bytes,
        key: Some(key),
        run_at: due_at(None),
        order: None,
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    let first = job("tg:b:1");
    let pushed = pusher
        .push(
            Lane::Normal,
            &[first, job("tg:b:1"), job("tg:b:2")],
            deadline,
        )
        .await
        .unwrap();
    assert_eq!(pushed, [Pushed::Queued, Pushed::Duplicate, Pushed::Queued]);
    // The shared namespace and the lane's own apalis-redis set both name the first job.
    let normal = lane_config(&prefix, Lane::Normal, &queue());
    for key in [
        dedup_key_name(&prefix, "tg:b:1"),
        format!("{}:tg:b:1", normal.idempotency_key_set()),
    ] {
        let owner: String = conn.get(&key).await.unwrap();
        assert_eq!(owner, first.id.to_string(), "{key}");
        let ttl: i64 = conn.ttl(&key).await.unwrap();
        assert!(ttl > 24 * 3600, "{key}: {ttl}");
    }
    // Another lane: still a duplicate, and a known key.
    let again = pusher.push(Lane::High, &[job("tg:b:1")], deadline).await;
    assert_eq!(again.unwrap(), [Pushed::Duplicate]);
    assert!(pusher.known("tg:b:2", deadline).await.unwrap());
    assert!(!pusher.known("tg:b:3", deadline).await.unwrap());
    // A claim only an older release made (apalis-redis's per-lane key) counts too.
    let low = lane_config(&prefix, Lane::Low, &queue());
    let _: () = conn
        .set(format!("{}:tg:b:3", low.idempotency_key_set()), "old")
        .await
        .unwrap();
    assert!(pusher.known("tg:b:3", deadline).await.unwrap());
    let old = pusher.push(Lane::Normal, &[job("tg:b:3")], deadline).await;
    assert_eq!(old.unwrap(), [Pushed::Duplicate]);
    clear(&mut conn, &prefix).await;
}
