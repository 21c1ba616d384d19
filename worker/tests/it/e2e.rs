//! The whole path: webhook → `sluice-api` binary → Redis → worker binary → exactly one row per
//! update.

use std::time::Duration;

use sluice_testkit::{TestDb, prefix, redis_url, wait_until};

use crate::{
    api::{add_bot, spawn_api},
    common::spawn_worker,
};

#[tokio::test]
async fn posted_updates_become_exactly_one_row_each() {
    let db = TestDb::fresh().await.unwrap();
    add_bot(&db.url, "shop_bot", "tok").await;
    let prefix = prefix();
    let redis = redis_url();
    let mut api = spawn_api(&db.url, &redis, &prefix, &[]).await;
    let url = format!("{}/webhook/telegram/shop_bot", api.base);
    let mut worker = spawn_worker(&db.url, &redis, &prefix, &[]);

    let updates = [
        (
            r#"{"update_id":1,"message":{"message_id":1,"from":{"id":7123456789,"is_bot":false,"first_name":"A"},"chat":{"id":-1001234567890,"type":"supergroup","title":"G"},"date":1764000000,"text":"/start@shop_bot"}}"#,
            "message",
            Some(-1001234567890i64),
            Some(7123456789i64),
            "high",
        ),
        (
            r#"{"update_id":2,"inline_query":{"id":"9","from":{"id":42,"is_bot":false,"first_name":"B"},"query":"q","offset":""}}"#,
            "inline_query",
            None,
            Some(42),
            "normal",
        ),
        (
            r#"{"update_id":3,"poll":{"id":"5","question":"?","options":[],"total_voter_count":0,"is_closed":false,"is_anonymous":true,"type":"regular","allows_multiple_answers":false}}"#,
            "poll",
            None,
            None,
            "low",
        ),
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
    let stored = wait_until(Duration::from_secs(20), || async {
        db.update_rows().await == 3
    })
    .await;
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
    assert!(
        metrics.contains(sluice_shared::metrics::JOBS_TOTAL),
        "{metrics}"
    );
    assert!(metrics.contains(sluice_shared::metrics::JOB_DURATION_SECONDS));
    worker.kill9().await;
    api.kill().await;
    sluice_testkit::clear_prefix(&redis, &prefix).await;
    db.drop_db().await;
}

#[tokio::test]
async fn json_logs_are_one_object_per_line_and_sigterm_exits_zero() {
    let db = TestDb::fresh().await.unwrap();
    let (redis, prefix) = (redis_url(), prefix());
    let log = std::env::temp_dir().join(format!("{prefix}.log"));
    let file = std::fs::File::create(&log).unwrap();
    let admin = format!("127.0.0.1:{}", sluice_testkit::free_port());
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_sluice-worker"));
    cmd.env("DATABASE_URL", &db.url)
        .env("REDIS_URL", &redis)
        .env("SLUICE_QUEUE_PREFIX", &prefix)
        .env("SLUICE_ADMIN_ADDR", &admin)
        .env("SLUICE_LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .stderr(file)
        .kill_on_drop(true);
    let mut child = cmd.spawn().unwrap();
    // SIGTERM once the worker runs (its signal handler is installed by then): a fixed sleep
    // sent it during start-up on a loaded machine, where the default action kills the process.
    let ready = format!("http://{admin}/healthz");
    let up = wait_until(Duration::from_secs(60), || async {
        reqwest::get(&ready)
            .await
            .is_ok_and(|r| r.status().is_success())
    })
    .await;
    assert!(up, "the worker's admin listener did not answer");
    let pid = child.id().unwrap().to_string();
    tokio::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await
        .unwrap();
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "{status:?}");
    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = text.lines().filter(|l| !l.is_empty()).collect();
    assert!(
        lines.len() >= 2,
        "expected start-up and shutdown logs: {text}"
    );
    for line in &lines {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(v["level"].is_string() && v["message"].is_string(), "{line}");
    }
    assert!(
        !text.contains(&db.url),
        "the database URL must never be logged"
    );
    let _ = std::fs::remove_file(log);
    db.drop_db().await;
}
