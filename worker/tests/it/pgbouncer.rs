//! Behind PgBouncer in transaction mode (server connections change between transactions, so no
//! named prepared statement may outlive one): the api and the worker work unchanged.

use std::time::Duration;

use sluice_shared::lanes::Lane;
use sluice_testkit::{TestDb, openssl_hmac, prefix, redis_url, servers::PgBouncer, wait_until};

use crate::{
    api::{add_bot, add_source, api_cli, spawn_api},
    common::{bulk_backlog, row_stats, spawn_worker},
};

const BOTS: usize = 20;

#[tokio::test]
async fn api_and_worker_work_through_pgbouncer_in_transaction_mode() {
    const N: i64 = 2000;
    let db = TestDb::fresh().await.unwrap();
    let bouncer = PgBouncer::start(5432, 4).await.unwrap();
    let via = bouncer.url_for(&db.url);
    let (redis, prefix) = (redis_url(), prefix());

    // The operator's commands migrate first, which takes a session (an advisory lock): they run
    // on the database itself. The api reads its registries through the bouncer, every 100 ms.
    for i in 0..BOTS {
        add_bot(&db.url, &format!("bot{i}"), "tok").await;
    }
    for i in 0..5 {
        add_source(&db.url, &format!("src{i}"), "plain", "k", &[]).await;
    }
    let env = [("SLUICE_REGISTRY_REFRESH", "100ms")];
    let mut api = spawn_api(&via, &redis, &prefix, &env).await;
    let client = reqwest::Client::new();
    let post_update = |bot: String, id: usize| {
        let req = client
            .post(format!("{}/webhook/telegram/{bot}", api.base))
            .header("X-Telegram-Bot-Api-Secret-Token", "tok")
            .body(format!(
                r#"{{"update_id":{id},"message":{{"message_id":1,"chat":{{"id":{id},"type":"private"}},"date":1,"text":"hi"}}}}"#
            ));
        async move { req.send().await.unwrap().status().as_u16() }
    };
    let post_event = |source: &str| {
        let body = format!(r#"{{"source":"{source}"}}"#);
        let req = client
            .post(format!("{}/webhook/hooks/{source}", api.base))
            .header("X-Signature", openssl_hmac("k", body.as_bytes()))
            .body(body);
        async move { req.send().await.unwrap().status().as_u16() }
    };
    // Many reloads later (each a few statements through the bouncer), every bot and source is
    // still known.
    tokio::time::sleep(Duration::from_secs(2)).await;
    for i in 0..BOTS {
        assert_eq!(post_update(format!("bot{i}"), i).await, 200, "bot{i}");
    }
    assert_eq!(post_event("src0").await, 200);
    // And the reloads see changes: a source removed, a bot added.
    api_cli(&db.url, &["sources", "remove", "src4"], &[]).await;
    add_bot(&db.url, "late", "tok").await;
    let seen = wait_until(Duration::from_secs(10), || async {
        post_event("src4").await == 404 && post_update("late".into(), 100).await == 200
    })
    .await;
    assert!(seen, "the registries reloaded through the bouncer");
    api.kill().await;

    // Workers (pool 10 each, the bouncer keeps 4 server connections) drain a backlog.
    bulk_backlog(&redis, &prefix, "bounced", 0..N, Lane::Normal).await;
    let env = [("DB_POOL_MAX_CONNECTIONS", "10")];
    let _workers: Vec<_> = (0..2)
        .map(|_| spawn_worker(&via, &redis, &prefix, &env))
        .collect();
    let expected = N + BOTS as i64 + 1;
    let done = wait_until(Duration::from_secs(60), || async {
        db.update_rows().await == expected
    })
    .await;
    let (rows, distinct) = row_stats(&db.pool).await;
    assert!(done, "{rows} of {expected} through pgbouncer");
    assert_eq!(distinct, expected);
    sluice_testkit::clear_prefix(&redis, &prefix).await;
}
