//! `SLUICE_ENQUEUE_MIN_REPLICAS=1`: a primary killed -9 (no AOF) right after a burst loses no
//! acknowledged update. The replica is promoted, a worker drains it, and every update answered
//! 200 is a row. Updates sent while the replica is cut off are answered 503, not 200: without the
//! setting they would be 200 and lost with the primary.

use std::{collections::BTreeSet, time::Duration};

use futures::{StreamExt, stream};
use sluice_testkit::{TestDb, prefix, servers::RedisServer, wait_until};

use crate::{
    api::{add_bot, spawn_api},
    common::spawn_worker,
};

const BOT: &str = "durable_bot";
const BURST: i64 = 300;
const CUT_OFF: i64 = 10;

fn update(id: i64) -> String {
    format!(
        r#"{{"update_id":{id},"message":{{"message_id":{id},"from":{{"id":7,"is_bot":false,"first_name":"A"}},"chat":{{"id":{id},"type":"private","first_name":"A"}},"date":1764000000,"text":"hi"}}}}"#
    )
}

/// Sends updates `ids` 16 at a time; returns those answered 200 and the other statuses.
async fn send(url: &str, ids: std::ops::Range<i64>) -> (BTreeSet<i64>, Vec<u16>) {
    let client = reqwest::Client::new();
    let answers: Vec<(i64, u16)> = stream::iter(ids)
        .map(|id| {
            let client = client.clone();
            async move {
                let resp = client
                    .post(url)
                    .header("X-Telegram-Bot-Api-Secret-Token", "tok")
                    .body(update(id))
                    .send()
                    .await
                    .unwrap();
                (id, resp.status().as_u16())
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    let acked = answers.iter().filter(|a| a.1 == 200).map(|a| a.0).collect();
    let other = answers.iter().filter(|a| a.1 != 200).map(|a| a.1).collect();
    (acked, other)
}

async fn signal(server: &RedisServer, sig: &str) {
    let pid = server.pid().expect("the replica runs").to_string();
    let st = tokio::process::Command::new("kill")
        .args([sig, &pid])
        .status()
        .await
        .unwrap();
    assert!(st.success());
}

#[tokio::test]
async fn durability_acknowledged_updates_survive_losing_the_primary() {
    let db = TestDb::fresh().await.unwrap();
    add_bot(&db.url, BOT, "tok").await;
    let mut primary = RedisServer::start().await.unwrap();
    let replica = RedisServer::start_replica_of(&primary).await.unwrap();
    let prefix = prefix();
    let env = [
        ("SLUICE_ENQUEUE_MIN_REPLICAS", "1"),
        // Well above a replica round trip on a loaded test machine.
        ("SLUICE_ENQUEUE_TIMEOUT", "1000ms"),
    ];
    let mut api = spawn_api(&db.url, &primary.url(), &prefix, &env).await;
    let url = format!("{}/webhook/telegram/{BOT}", api.base);

    let (mut acked, refused) = send(&url, 0..BURST).await;
    // A 503 here is not a loss (the sender retries), but with the replica up it is rare.
    assert!(
        acked.len() as i64 > BURST * 9 / 10,
        "with the replica up: {refused:?}"
    );
    // The replica stops and the primary drops its link: what comes next reaches only the primary.
    signal(&replica, "-STOP").await;
    let _: i64 = primary
        .query(redis::cmd("CLIENT").arg("KILL").arg("TYPE").arg("replica"))
        .await
        .unwrap();
    let (late, refused) = send(&url, BURST..BURST + CUT_OFF).await;
    assert!(late.is_empty(), "acknowledged without a replica: {late:?}");
    assert!(refused.iter().all(|s| *s == 503), "{refused:?}");
    acked.extend(late);
    primary.stop().await; // SIGKILL, no AOF, no RDB: its memory is gone.

    signal(&replica, "-CONT").await;
    let _: () = replica
        .query(redis::cmd("REPLICAOF").arg("NO").arg("ONE"))
        .await
        .unwrap();
    let mut worker = spawn_worker(&db.url, &replica.url(), &prefix, &[]);
    let stored = wait_until(Duration::from_secs(60), || async {
        db.update_rows().await >= acked.len() as i64
    })
    .await;
    let rows: BTreeSet<i64> = sqlx::query_scalar("SELECT update_id FROM updates WHERE bot = $1")
        .bind(BOT)
        .fetch_all(&db.pool)
        .await
        .unwrap()
        .into_iter()
        .collect();
    let lost: Vec<_> = acked.difference(&rows).collect();
    assert!(
        stored && lost.is_empty(),
        "acknowledged, then lost: {lost:?}"
    );
    worker.kill9().await;
    api.kill().await;
    db.drop_db().await;
}
