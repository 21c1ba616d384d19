//! Dead-letter retention (`SLUICE_DLQ_RETENTION`) and the Redis memory gauges: old dead letters
//! of both sets (ours and apalis-redis's `:dead`) go with their payloads, young ones stay, and
//! the removals are counted.

use std::time::Duration;

use redis::AsyncCommands;
use sluice_shared::dlq::{DeadLetter, DeadLetters};
use sluice_shared::lanes::Lane;
use sluice_testkit::{TestDb, prefix, redis_url, wait_until};

use crate::{
    api::spawn_api,
    common::{envelope, spawn_worker},
};

const HOUR_MS: i64 = 3_600_000;

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Puts a job in apalis-redis's own dead set the way its `handle_results.lua` leaves one: the id
/// in `<q>:dead`, the payload in `<q>:data`, `done_at` (unix s) in `<q>:meta:<id>` (or no
/// metadata at all when `done_at_ms` is `None`).
async fn apalis_dead(
    conn: &mut redis::aio::MultiplexedConnection,
    prefix: &str,
    id: &str,
    done_at_ms: Option<i64>,
) {
    let q = Lane::Normal.queue_name(prefix);
    let _: () = conn.sadd(format!("{q}:dead"), id).await.unwrap();
    let _: () = conn
        .hset(format!("{q}:data"), id, "{\"payload\":1}")
        .await
        .unwrap();
    if let Some(ms) = done_at_ms {
        let _: () = conn
            .hset_multiple(
                format!("{q}:meta:{id}"),
                &[
                    ("status", "Failed".to_owned()),
                    ("done_at", (ms / 1000).to_string()),
                ],
            )
            .await
            .unwrap();
    }
}

fn expired(metrics: &str, set: &str) -> f64 {
    metrics
        .lines()
        .filter(|l| {
            l.starts_with("sluice_dlq_expired_total{")
                && l.contains(r#"lane="normal""#)
                && l.contains(&format!(r#"set="{set}""#))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[tokio::test]
async fn dead_letters_past_retention_are_deleted_from_both_sets_and_counted() {
    let db = TestDb::fresh().await.unwrap();
    let (prefix, redis) = (prefix(), redis_url());
    let client = redis::Client::open(redis.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let manager = sluice_shared::queue::connect(&redis, Duration::from_secs(5)).unwrap();
    let dead = DeadLetters::new(manager, &prefix);

    // Ours: two past the 1 h retention (2 h and 30 days), one young (1 min).
    let now = now_ms();
    for (id, age_ms) in [
        ("old-1", 2 * HOUR_MS),
        ("old-2", 720 * HOUR_MS),
        ("young", 60_000),
    ] {
        let letter = DeadLetter {
            id: id.into(),
            reason: "permanent: test".into(),
            dead_at_ms: now - age_ms,
            envelope: envelope("b", 1, Lane::Normal),
        };
        dead.put(&letter).await.unwrap();
    }
    // apalis's: old by done_at, old by its ULID (metadata gone), young by done_at, and a young
    // ULID without metadata.
    let old_ulid = ulid::Ulid::from_parts((now - 3 * HOUR_MS) as u64, 1).to_string();
    let young_ulid = ulid::Ulid::from_parts((now - 60_000) as u64, 2).to_string();
    apalis_dead(&mut conn, &prefix, "apalis-old", Some(now - 2 * HOUR_MS)).await;
    apalis_dead(&mut conn, &prefix, &old_ulid, None).await;
    apalis_dead(&mut conn, &prefix, "apalis-young", Some(now - 60_000)).await;
    apalis_dead(&mut conn, &prefix, &young_ulid, None).await;

    let mut worker = spawn_worker(
        &db.url,
        &redis,
        &prefix,
        &[
            ("SLUICE_DLQ_RETENTION", "1h"),
            ("SLUICE_VACUUM_INTERVAL", "100ms"),
        ],
    );
    let q = Lane::Normal.queue_name(&prefix);
    let gone = wait_until(Duration::from_secs(20), || {
        let mut conn = conn.clone();
        let q = q.clone();
        async move {
            let ours: u64 = conn.zcard(format!("{q}:dlq")).await.unwrap();
            let theirs: u64 = conn.scard(format!("{q}:dead")).await.unwrap();
            ours == 1 && theirs == 2
        }
    })
    .await;
    assert!(gone, "old dead letters were not deleted");

    let kept: Vec<String> = conn.hkeys(format!("{q}:dlq:entries")).await.unwrap();
    assert_eq!(kept, ["young"], "entries follow the index");
    let mut kept: Vec<String> = conn.smembers(format!("{q}:dead")).await.unwrap();
    kept.sort();
    let mut want = vec!["apalis-young".to_owned(), young_ulid.clone()];
    want.sort();
    assert_eq!(kept, want);
    let mut data: Vec<String> = conn.hkeys(format!("{q}:data")).await.unwrap();
    data.sort();
    assert_eq!(data, want, "an expired apalis job's payload goes with it");
    let meta: bool = conn.exists(format!("{q}:meta:apalis-old")).await.unwrap();
    assert!(!meta, "and its metadata");
    let meta: bool = conn.exists(format!("{q}:meta:apalis-young")).await.unwrap();
    assert!(meta, "a young one keeps its metadata");

    let counted = wait_until(Duration::from_secs(10), || async {
        let m = worker.metrics().await;
        expired(&m, "dlq") == 2.0 && expired(&m, "apalis_dead") == 2.0
    })
    .await;
    assert!(counted, "{}", worker.metrics().await);

    worker.kill9().await;
    sluice_testkit::clear_prefix(&redis, &prefix).await;
    db.drop_db().await;
}

#[tokio::test]
async fn a_zero_retention_keeps_dead_letters() {
    let db = TestDb::fresh().await.unwrap();
    let (prefix, redis) = (prefix(), redis_url());
    let manager = sluice_shared::queue::connect(&redis, Duration::from_secs(5)).unwrap();
    let dead = DeadLetters::new(manager, &prefix);
    let letter = DeadLetter {
        id: "ancient".into(),
        reason: "permanent: test".into(),
        dead_at_ms: now_ms() - 10_000 * HOUR_MS,
        envelope: envelope("b", 1, Lane::Normal),
    };
    dead.put(&letter).await.unwrap();
    let mut worker = spawn_worker(
        &db.url,
        &redis,
        &prefix,
        &[
            ("SLUICE_DLQ_RETENTION", "0"),
            ("SLUICE_VACUUM_INTERVAL", "100ms"),
        ],
    );
    // The worker is up and has vacuumed (the gauge is set) yet the letter is still there.
    let up = wait_until(Duration::from_secs(20), || async {
        worker
            .metrics()
            .await
            .contains("sluice_dlq_size{lane=\"normal\"} 1")
    })
    .await;
    assert!(up, "{}", worker.metrics().await);
    assert_eq!(dead.sizes().await.unwrap().into_array(), [0, 1, 0]);
    worker.kill9().await;
    sluice_testkit::clear_prefix(&redis, &prefix).await;
    db.drop_db().await;
}

#[tokio::test]
async fn the_api_exports_redis_memory_and_its_limit() {
    let db = TestDb::fresh().await.unwrap();
    let (prefix, redis) = (prefix(), redis_url());
    let mut api = spawn_api(
        &db.url,
        &redis,
        &prefix,
        &[("SLUICE_DEPTH_INTERVAL", "100ms")],
    )
    .await;

    let client = redis::Client::open(redis.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let (_, max): (String, u64) = redis::cmd("CONFIG")
        .arg("GET")
        .arg("maxmemory")
        .query_async(&mut conn)
        .await
        .unwrap();
    let gauge = |text: &str, name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse::<f64>().ok())
    };
    let scrape = || async {
        let text = api.metrics().await;
        (
            gauge(&text, "sluice_redis_used_memory_bytes"),
            gauge(&text, "sluice_redis_maxmemory_bytes"),
        )
    };
    wait_until(Duration::from_secs(10), || async {
        scrape().await.0.is_some()
    })
    .await;
    let (used, limit) = scrape().await;
    assert!(used.is_some_and(|u| u > 100_000.0), "used_memory: {used:?}");
    assert_eq!(limit, Some(max as f64), "maxmemory as CONFIG GET shows it");
    api.kill().await;
    db.drop_db().await;
}
