//! Redis outages: never a 2xx for an update that is not queued, an answer within the enqueue
//! budget, and recovery without a restart.

use std::time::{Duration, Instant};

use sluice_testkit::{free_port, servers::RedisServer, wait_until};

use crate::common::{BOT, message, spawn_app_with};

/// The budget under test, and the slack the issue allows on top of it.
const BUDGET_MS: u64 = 250;
const SLACK: Duration = Duration::from_millis(100);

async fn assert_retry_within_budget(resp: reqwest::Response, took: Duration) {
    assert_eq!(resp.status(), 503);
    assert_eq!(resp.headers().get("retry-after").unwrap(), "1");
    let json: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(json["error"], "retry");
    assert!(
        took <= Duration::from_millis(BUDGET_MS) + SLACK,
        "answered after {took:?}"
    );
}

#[tokio::test]
async fn redis_on_a_closed_port_gets_503_within_the_budget() {
    let closed = format!("redis://127.0.0.1:{}", free_port());
    let app = spawn_app_with(&closed, &[]).await;
    for i in 0..5 {
        let started = Instant::now();
        let resp = app.post_update(BOT, message(100 + i, 1, "hi")).await;
        assert_retry_within_budget(resp, started.elapsed()).await;
    }
    assert_eq!(app.admin_get("/readyz").await.status(), 503);
    app.stop().await;
}

#[tokio::test]
async fn redis_stopped_mid_run_then_back_recovers_without_restart() {
    let mut redis = RedisServer::start().await.unwrap();
    let app = spawn_app_with(&redis.url(), &[]).await;
    assert_eq!(
        app.post_update(BOT, message(1, 1, "before")).await.status(),
        200
    );

    redis.stop().await;
    for i in 0..10 {
        let started = Instant::now();
        // A chat each: these tests are about Redis, not the per-chat limit (burst 5).
        let resp = app
            .post_update(BOT, message(10 + i, 10 + i, "during"))
            .await;
        assert_retry_within_budget(resp, started.elapsed()).await;
    }

    redis.resume().await.unwrap();
    // The redis data is gone with the restart: the first update is new again, which is fine here.
    let recovered = wait_until(Duration::from_secs(10), || async {
        app.post_update(BOT, message(2, 1, "after")).await.status() == 200
    })
    .await;
    assert!(recovered, "the api recovered once Redis was back");
    for i in 0..10 {
        assert_eq!(
            app.post_update(BOT, message(10 + i, 10 + i, "retried"))
                .await
                .status(),
            200
        );
    }
    assert_eq!(app.jobs().await, 11);
    app.stop().await;
}

#[tokio::test]
async fn redis_paused_past_the_budget_gets_503_not_a_late_200() {
    let redis = RedisServer::start().await.unwrap();
    let app = spawn_app_with(&redis.url(), &[]).await;
    assert_eq!(
        app.post_update(BOT, message(1, 1, "warm")).await.status(),
        200
    );
    // CLIENT PAUSE holds writes like an overloaded or failing-over Redis would.
    let client = redis::Client::open(redis.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let _: () = redis::cmd("CLIENT")
        .arg("PAUSE")
        .arg(1500)
        .arg("WRITE")
        .query_async(&mut conn)
        .await
        .unwrap();
    let started = Instant::now();
    let resp = app.post_update(BOT, message(2, 1, "paused")).await;
    assert_retry_within_budget(resp, started.elapsed()).await;
    // The timed-out enqueue may still land when Redis resumes ("maybe queued"): the sender's
    // retry must then be a duplicate, not a second job.
    tokio::time::sleep(Duration::from_millis(1600)).await;
    let resp = app.post_update(BOT, message(2, 1, "paused")).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(app.jobs().await, 2);
    app.stop().await;
}
