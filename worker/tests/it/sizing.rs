//! Measures the Redis memory of one queued job, one dedup key and one dead letter for the sizing
//! table in docs/deploy.md. Not a check (the figures depend on Redis's version and allocator):
//! run it by hand on a private `redis-server`, with
//! `cargo test -p sluice-worker --test it sizing -- --ignored --nocapture`.

use std::time::Duration;

use sluice_shared::dlq::{DeadLetter, DeadLetters};
use sluice_shared::{job::Job, lanes::Lane};
use sluice_testkit::servers::RedisServer;

use crate::common::{enqueuer, envelope};

const N: i64 = 20_000;
/// The median body the load tests measured (README: median about 400 B).
const BODY_BYTES: usize = 400;

async fn used_memory(conn: &mut redis::aio::MultiplexedConnection) -> i64 {
    let info: String = redis::cmd("INFO")
        .arg("memory")
        .query_async(conn)
        .await
        .unwrap();
    sluice_shared::redis_memory::parse_info(&info).used as i64
}

/// A message update whose raw body is exactly `BODY_BYTES` long.
fn update(id: i64) -> Job {
    let mut env = envelope("sizing_bot", id, Lane::Normal);
    let head = format!(
        r#"{{"update_id":{id},"message":{{"message_id":{id},"from":{{"id":7123456789,"is_bot":false,"first_name":"Ada"}},"chat":{{"id":7123456789,"type":"private"}},"date":1764000000,"text":""#
    );
    let pad = BODY_BYTES - head.len() - 3;
    let raw = format!("{head}{}\"}}}}", "x".repeat(pad));
    assert_eq!(raw.len(), BODY_BYTES);
    env.payload = serde_json::value::RawValue::from_string(raw).unwrap();
    env
}

#[tokio::test]
#[ignore = "a measurement for docs/deploy.md, not a check"]
async fn bytes_per_queued_job_dedup_key_and_dead_letter() {
    let server = RedisServer::start().await.unwrap();
    let url = server.url();
    let prefix = "sizing";
    let client = redis::Client::open(url.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let enq = enqueuer(&url, prefix);
    // Warm up: scripts loaded, the lane's keys exist.
    enq.enqueue(&update(0)).await.unwrap();
    let m0 = used_memory(&mut conn).await;

    for chunk in (1..=N).collect::<Vec<_>>().chunks(64) {
        let sends = chunk.iter().map(|&id| {
            let env = update(id);
            let enq = &enq;
            async move { enq.enqueue(&env).await }
        });
        for r in futures::future::join_all(sends).await {
            r.unwrap();
        }
    }
    let m1 = used_memory(&mut conn).await;

    // What a drained and vacuumed job leaves: only its dedup key. Remove the rest.
    let q = Lane::Normal.queue_name(prefix);
    let metas = sluice_testkit::scan(&mut conn, &format!("{q}:meta:*")).await;
    for chunk in metas.chunks(1000) {
        let _: () = redis::cmd("DEL")
            .arg(chunk)
            .query_async(&mut conn)
            .await
            .unwrap();
    }
    let _: () = redis::cmd("DEL")
        .arg(format!("{q}:active"))
        .arg(format!("{q}:data"))
        .query_async(&mut conn)
        .await
        .unwrap();
    let m2 = used_memory(&mut conn).await;
    let key = sluice_testkit::scan(&mut conn, &format!("{q}:idempotency:*")).await[0].clone();
    let key_usage: i64 = redis::cmd("MEMORY")
        .arg("USAGE")
        .arg(&key)
        .query_async(&mut conn)
        .await
        .unwrap();

    let dead = DeadLetters::new(
        sluice_shared::queue::connect(&url, Duration::from_secs(5)).unwrap(),
        prefix,
    );
    for id in 1..=N {
        let letter = DeadLetter {
            id: ulid::Ulid::generate().to_string(),
            reason: "gave up after 8 attempts: storing the job: pool timed out".into(),
            dead_at_ms: 1_764_000_000_000,
            envelope: update(id),
        };
        dead.put(&letter).await.unwrap();
    }
    let m3 = used_memory(&mut conn).await;

    let per = |d: i64| d as f64 / N as f64;
    eprintln!(
        "redis {} | body {BODY_BYTES} B | N {N}\n\
         queued job incl. its dedup key: {:.0} B\n\
         queued job without its dedup key: {:.0} B\n\
         dedup key (kept SLUICE_DEDUP_TTL): {:.0} B (MEMORY USAGE of one: {key_usage} B, {key})\n\
         dead letter: {:.0} B",
        redis_version(&mut conn).await,
        per(m1 - m0),
        per(m1 - m2),
        per(m2 - m0),
        per(m3 - m2),
    );
    assert!(m1 > m2 && m2 > m0 && m3 > m2);
}

async fn redis_version(conn: &mut redis::aio::MultiplexedConnection) -> String {
    let info: String = redis::cmd("INFO")
        .arg("server")
        .query_async(conn)
        .await
        .unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix("redis_version:"))
        .unwrap_or("?")
        .trim()
        .to_owned()
}
