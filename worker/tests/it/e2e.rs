//! The whole path: webhook → Redis → worker binary → exactly one row per update.

use std::time::Duration;

use clap::Parser;
use sluice_api::{config::ApiConfig, startup::Api};
use sluice_testkit::{TestDb, prefix, redis_url, wait_until};
use tokio::net::TcpListener;

use crate::common::spawn_worker;

#[derive(Parser)]
struct Args {
    #[command(flatten)]
    cfg: ApiConfig,
}

#[tokio::test]
async fn posted_updates_become_exactly_one_row_each() {
    let db = TestDb::fresh().await.unwrap();
    sluice_api::bots::add(&db.pool, "shop_bot", "tok").await.unwrap();
    let prefix = prefix();
    let redis = redis_url();
    let cfg = Args::try_parse_from([
        "sluice-api".to_owned(),
        format!("--database-url={}", db.url),
        format!("--redis-url={redis}"),
        format!("--queue-prefix={prefix}"),
    ])
    .unwrap()
    .cfg;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let admin = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/webhook/telegram/shop_bot", listener.local_addr().unwrap());
    let api = Api::build(cfg).await.unwrap();
    let server = tokio::spawn(api.run(listener, admin, std::future::pending()));
    let mut worker = spawn_worker(&db.url, &redis, &prefix, &[]);

    let updates = [
        (r#"{"update_id":1,"message":{"message_id":1,"from":{"id":7123456789,"is_bot":false,"first_name":"A"},"chat":{"id":-1001234567890,"type":"supergroup","title":"G"},"date":1764000000,"text":"/start@shop_bot"}}"#,
         "message", Some(-1001234567890i64), Some(7123456789i64), "high"),
        (r#"{"update_id":2,"inline_query":{"id":"9","from":{"id":42,"is_bot":false,"first_name":"B"},"query":"q","offset":""}}"#,
         "inline_query", None, Some(42), "normal"),
        (r#"{"update_id":3,"poll":{"id":"5","question":"?","options":[],"total_voter_count":0,"is_closed":false,"is_anonymous":true,"type":"regular","allows_multiple_answers":false}}"#,
         "poll", None, None, "low"),
    ];
    let client = reqwest::Client::new();
    for (body, ..) in &updates {
        for _ in 0..3 {
            // Telegram re-delivers: every copy is answered 200, only one row may result.
            let resp = client
                .post(&url)
                .header("X-Telegram-Bot-Api-Secret-Token", "tok")
                .body(body.to_string())
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), 200);
        }
    }
    let stored = wait_until(Duration::from_secs(20), || async { db.update_rows().await == 3 }).await;
    assert!(stored, "3 rows expected, found {}", db.update_rows().await);
    for (_, kind, chat, user, lane) in updates {
        let row: (String, Option<i64>, Option<i64>, String) = sqlx::query_as(
            "SELECT kind, chat_id, user_id, lane FROM updates WHERE bot = 'shop_bot' AND kind = $1",
        )
        .bind(kind)
        .fetch_one(&db.pool)
        .await
        .unwrap();
        assert_eq!(row, (kind.to_owned(), chat, user, lane.to_owned()));
    }
    // Still three after the worker had time to process any copy.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(db.update_rows().await, 3);
    let metrics = worker.metrics().await;
    assert!(metrics.contains(sluice_shared::metrics::JOBS_TOTAL), "{metrics}");
    assert!(metrics.contains(sluice_shared::metrics::JOB_DURATION_SECONDS));
    worker.kill9().await;
    server.abort();
    sluice_testkit::clear_prefix(&redis, &prefix).await;
    db.drop_db().await;
}
