//! `finish.lua` for a run written together (`order::local`: a handler that only stores writes
//! a key's waiting jobs with its own and finishes them at once), against real Redis: every job
//! of the run is finished, its flags and any parked copy of it (a duplicate delivery) are gone,
//! the parked counter drops by the copies, and the key's next parked job is handed on. And a
//! batch of starts and finishes over many keys and lanes in one script call each: every job gets
//! its own answer, parks in its own lane's bytes, and a key with nothing parked ends with only
//! its counters.

use std::time::Duration;

use redis::{AsyncCommands, aio::ConnectionManager};
use sluice_shared::{
    lanes::Lane,
    queue::{
        QueueConfig, connect, lane_config,
        order::{OrderConfig, OrderTag, order_namespace},
    },
};
use sluice_testkit::{prefix, redis_url};
use sluice_worker::order::{Next, Orderer, Start};

use crate::common::envelope;

const KEY: &str = "c:42";

fn tag(seq: u64) -> OrderTag {
    OrderTag {
        key: KEY.into(),
        seq,
    }
}

/// An orderer on a fresh key prefix of the test Redis.
struct Setup {
    url: String,
    prefix: String,
    conn: ConnectionManager,
    queue: QueueConfig,
    orderer: Orderer,
    namespace: String,
}

fn setup() -> Setup {
    let (url, prefix) = (redis_url(), prefix());
    let conn = connect(&url, Duration::from_secs(5)).unwrap();
    let queue = QueueConfig {
        dedup_ttl: Duration::from_secs(25 * 3600),
    };
    let orderer = Orderer::new(conn.clone(), &prefix, &queue, &OrderConfig::default());
    let namespace = order_namespace(&prefix);
    Setup {
        url,
        prefix,
        conn,
        queue,
        orderer,
        namespace,
    }
}

#[tokio::test]
async fn a_run_finishes_all_its_jobs_and_drops_their_parked_copies() {
    let t = setup();
    let (url, prefix, queue) = (&t.url, &t.prefix, &t.queue);
    let (orderer, namespace) = (&t.orderer, &t.namespace);
    let conn = t.conn.clone();
    let state = format!("{namespace}:k:{KEY}");
    let parked = format!("{namespace}:parked");
    let data = lane_config(prefix, Lane::Normal, queue).job_data_hash();
    let mut redis = conn.clone();
    // Five jobs queued for the key (push.lua gives out 1..5); the bytes of those that park.
    let _: () = redis.hset(&state, "next", 5).await.unwrap();
    for (seq, task) in [(2, "t2-copy"), (3, "t3-copy"), (4, "t4")] {
        let job = serde_json::to_vec(&envelope("order_bot", seq, Lane::Normal)).unwrap();
        let _: () = redis.hset(&data, task, job).await.unwrap();
    }

    assert!(matches!(
        orderer
            .start(&tag(1), "t1", Lane::Normal, false)
            .await
            .unwrap(),
        Start::Go { .. }
    ));
    // Copies of 2 and 3 delivered twice, and 4, arrive while 1 holds the key: they park.
    for (seq, task) in [(2, "t2-copy"), (3, "t3-copy"), (4, "t4")] {
        let start = orderer
            .start(&tag(seq), task, Lane::Normal, seq == 2)
            .await
            .unwrap();
        assert!(matches!(start, Start::Parked), "{seq}: {start:?}");
    }
    let n: i64 = redis.get(&parked).await.unwrap();
    assert_eq!(n, 3);

    // 1 wrote 2 and 3 with its own row: the run 1..3 finishes at once, and 4 is handed to this
    // slot (it carries the chain).
    let next = orderer.finish(&tag(3), 1, Some("t1"), false).await.unwrap();
    let Next::Chained(chained) = next else {
        panic!("4 is chained: {next:?}")
    };
    assert_eq!(chained.tag, tag(4));
    let fields: Vec<String> = redis.hkeys(&state).await.unwrap();
    for gone in ["p:2", "p:3", "w:2"] {
        assert!(
            !fields.contains(&gone.to_owned()),
            "{gone} left: {fields:?}"
        );
    }
    assert!(
        fields.contains(&"p:4".to_owned()),
        "4's copy stays for a crash: {fields:?}"
    );
    let (done, held): (u64, u64) = redis::cmd("HMGET")
        .arg(&state)
        .arg("done")
        .arg("held")
        .query_async(&mut redis)
        .await
        .unwrap();
    assert_eq!((done, held), (3, 4));
    let n: i64 = redis.get(&parked).await.unwrap();
    assert_eq!(
        n, 0,
        "the two copies and the chained job left the parked count"
    );
    // A copy of a job of the run that comes later is stale.
    assert!(matches!(
        orderer
            .start(&tag(2), "t2-copy", Lane::Normal, false)
            .await
            .unwrap(),
        Start::Stale
    ));
    sluice_testkit::clear_prefix(url, prefix).await;
}

#[tokio::test]
async fn a_batch_over_many_keys_and_lanes_answers_each_job_as_if_alone() {
    let t = setup();
    let (url, prefix, queue) = (&t.url, &t.prefix, &t.queue);
    let (orderer, namespace) = (&t.orderer, &t.namespace);
    let conn = t.conn.clone();
    let state = |key: &str| format!("{namespace}:k:{key}");
    let mut redis = conn.clone();
    const KEYS: usize = 30;
    // Key k has two jobs queued: 1 runs, 2 (in lane k % 3) arrives early and parks.
    let lane_of = |k: usize| Lane::ALL[k % Lane::ALL.len()];
    let key = |k: usize| format!("b:{k}");
    let at = |k: usize, seq: u64| OrderTag { key: key(k), seq };
    for k in 0..KEYS {
        let _: () = redis.hset(state(&key(k)), "next", 2).await.unwrap();
        let data = lane_config(prefix, lane_of(k), queue).job_data_hash();
        let job = serde_json::to_vec(&envelope("order_bot", k as i64, lane_of(k))).unwrap();
        let _: () = redis.hset(&data, format!("t{k}-2"), job).await.unwrap();
    }
    let ones = (0..KEYS).map(|k| at(k, 1)).collect::<Vec<_>>();
    let twos = (0..KEYS).map(|k| at(k, 2)).collect::<Vec<_>>();
    // All at once: the first goes alone, the rest share the batcher's calls.
    let firsts = futures::future::join_all(
        (0..KEYS).map(|k| orderer.start(&ones[k], "t-1", Lane::Normal, false)),
    )
    .await;
    for (k, start) in firsts.into_iter().enumerate() {
        assert!(matches!(start, Ok(Start::Go { .. })), "{k}: {start:?}");
    }
    let task = (0..KEYS).map(|k| format!("t{k}-2")).collect::<Vec<_>>();
    let seconds = futures::future::join_all(
        (0..KEYS).map(|k| orderer.start(&twos[k], &task[k], lane_of(k), k % 2 == 0)),
    )
    .await;
    for (k, start) in seconds.into_iter().enumerate() {
        assert!(matches!(start, Ok(Start::Parked)), "{k}: {start:?}");
        let parked: Vec<u8> = redis.hget(state(&key(k)), "p:2").await.unwrap();
        let lane = lane_of(k).as_str();
        assert!(
            parked.starts_with(format!("{lane}\n").as_bytes()),
            "{k}: parked under its own lane"
        );
        let written: Option<String> = redis.hget(state(&key(k)), "w:2").await.unwrap();
        assert_eq!(written.is_some(), k % 2 == 0, "{k}: its row flag");
    }
    let held: u64 = redis.zcard(format!("{namespace}:holds")).await.unwrap();
    assert_eq!(held, KEYS as u64);

    // 1 finishes everywhere at once, in chains for the even keys: each even key's 2 comes back
    // to this slot with its own bytes and row flag; each odd key's goes to the front of its lane.
    let carriers = (0..KEYS)
        .map(|k| (k % 2 == 0).then(|| format!("carrier{k}")))
        .collect::<Vec<_>>();
    let nexts = futures::future::join_all(
        (0..KEYS).map(|k| orderer.finish(&ones[k], 1, carriers[k].as_deref(), false)),
    )
    .await;
    for (k, next) in nexts.into_iter().enumerate() {
        match next.unwrap() {
            Next::Chained(chained) => {
                assert_eq!(k % 2, 0, "{k}: only a carrier chains");
                assert_eq!(chained.tag, at(k, 2));
                assert_eq!(chained.job.lane, lane_of(k), "{k}: its own bytes");
                assert!(chained.written, "{k}: its row flag came along");
            }
            Next::Nothing => {
                assert_eq!(k % 2, 1, "{k}: a carrier chains");
                let active = lane_config(prefix, lane_of(k), queue).active_jobs_list();
                let queued: Vec<String> = redis.lrange(&active, 0, -1).await.unwrap();
                assert!(!queued.is_empty(), "{k}: re-queued to its lane");
            }
            other => panic!("{k}: {other:?}"),
        }
    }

    // 2 finishes: nothing was parked behind it, so each key keeps only its counters, idles,
    // and leaves the held keys.
    let lasts =
        futures::future::join_all((0..KEYS).map(|k| orderer.finish(&twos[k], 2, None, false)))
            .await;
    for (k, last) in lasts.into_iter().enumerate() {
        assert!(matches!(last, Ok(Next::Nothing)), "{k}: {last:?}");
        let mut fields: Vec<String> = redis.hkeys(state(&key(k))).await.unwrap();
        fields.sort();
        assert_eq!(fields, ["done", "next"], "{k}");
        let ttl: i64 = redis.ttl(state(&key(k))).await.unwrap();
        assert!((1..=600).contains(&ttl), "{k}: idle lifetime, {ttl}");
    }
    let held: u64 = redis.zcard(format!("{namespace}:holds")).await.unwrap();
    assert_eq!(held, 0);
    let parked: i64 = redis.get(format!("{namespace}:parked")).await.unwrap();
    assert_eq!(parked, 0);
    sluice_testkit::clear_prefix(url, prefix).await;
}
