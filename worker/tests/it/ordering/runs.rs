//! `finish.lua` for a run written together (`order::local`: a handler that only stores writes
//! a key's waiting jobs with its own and finishes them at once), against real Redis: every job
//! of the run is finished, its flags and any parked copy of it (a duplicate delivery) are gone,
//! the parked counter drops by the copies, and the key's next parked job is handed on.

use std::time::Duration;

use redis::AsyncCommands;
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

#[tokio::test]
async fn a_run_finishes_all_its_jobs_and_drops_their_parked_copies() {
    let (url, prefix) = (redis_url(), prefix());
    let conn = connect(&url, Duration::from_secs(5)).unwrap();
    let queue = QueueConfig {
        dedup_ttl: Duration::from_secs(25 * 3600),
    };
    let orderer = Orderer::new(conn.clone(), &prefix, &queue, &OrderConfig::default());
    let namespace = order_namespace(&prefix);
    let state = format!("{namespace}:k:{KEY}");
    let parked = format!("{namespace}:parked");
    let data = lane_config(&prefix, Lane::Normal, &queue).job_data_hash();
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
    sluice_testkit::clear_prefix(&url, &prefix).await;
}
