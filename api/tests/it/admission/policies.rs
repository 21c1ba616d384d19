//! Each policy and each limit, one at a time.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::{answer, callback_query};
use crate::common::{BOT, message};

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

#[tokio::test]
async fn admission_high_lane_over_the_chat_limit_is_delayed_in_order() {
    let (app, _redis) = super::spawn(&[]).await;
    let before = unix_now();
    let mut ids = Vec::new();
    for i in 0..8 {
        let (status, _, body) =
            answer(app.post_update(BOT, callback_query(i, 77, -100_777)).await).await;
        assert_eq!(status, 200, "{body}");
        ids.push(body["id"].as_str().expect("a job id").to_owned());
    }
    let after = unix_now();
    // apalis-redis keeps every task in the lane's scheduled set, scored by its run time (s).
    let client = redis::Client::open(app.redis_url.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let mut last = 0.0;
    for (k, id) in ids.iter().enumerate() {
        let score: f64 = redis::cmd("ZSCORE")
            .arg(format!("{}:high:scheduled", app.prefix))
            .arg(id)
            .query_async(&mut conn)
            .await
            .unwrap();
        // The burst of 5 runs now; then one every 3 s (20 per minute), never earlier.
        let delay = 3.0 * k.saturating_sub(4) as f64;
        assert!(
            score >= (before + delay).floor(),
            "job {k} at {score}, sent after {before}"
        );
        assert!(score <= (after + delay).ceil(), "job {k} at {score}");
        assert!(score >= last, "job {k} runs before job {}", k - 1);
        last = score;
    }
    app.stop().await;
}

#[tokio::test]
async fn admission_drop_policy_answers_200_and_queues_nothing() {
    let (app, _redis) = super::spawn(&["--policy-chat=drop"]).await;
    for i in 0..7 {
        let resp = app.post_update(BOT, message(i, 5, "spam")).await;
        assert_eq!(resp.status(), 200);
        let text = resp.text().await.unwrap();
        if i >= 5 {
            assert_eq!(text, r#"{"ok":true,"dropped":true}"#);
        }
    }
    assert_eq!(app.jobs().await, 5);
    app.stop().await;
}

#[tokio::test]
async fn admission_global_limit_refuses_every_chat_with_retry_after() {
    let flags = ["--rate-global-per-sec=0.5", "--rate-global-burst=3"];
    let (app, _redis) = super::spawn(&flags).await;
    for chat in 0..3 {
        assert_eq!(
            app.post_update(BOT, message(chat, chat, "x"))
                .await
                .status(),
            200
        );
    }
    // Callbacks too: the global policy is reject in every lane by default.
    for body in [message(10, 10, "x"), callback_query(11, 11, 11)] {
        let (status, retry_after, json) = answer(app.post_update(BOT, body).await).await;
        assert_eq!((status, retry_after), (429, Some(2)), "{json}");
        assert!(
            json["detail"].as_str().unwrap().contains("global"),
            "{json}"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn admission_per_bot_limits_come_from_the_bots_table() {
    let (app, _redis) = super::spawn(&[]).await;
    let change = sluice_api::bots::BotUpdate {
        limits: sluice_api::registry::BotLimits {
            rate_per_sec: Some(1.0),
            burst: Some(2),
        },
        ..Default::default()
    };
    sluice_api::bots::update(&app.db.pool, BOT, &change)
        .await
        .unwrap();
    // The registry is re-read every 200 ms in tests; distinct chats, so only the bot limit binds.
    let mut update_id = 0;
    let limited = sluice_testkit::wait_until(Duration::from_secs(5), || {
        update_id += 1;
        let body = message(update_id, update_id, "x");
        let app = &app;
        async move {
            let (status, retry_after, json) = answer(app.post_update(BOT, body).await).await;
            status == 429
                && retry_after == Some(1)
                && json["detail"].as_str().unwrap().contains("bot")
        }
    })
    .await;
    assert!(limited, "the bot's own limit (1/s, burst 2) applies");

    let reset = sluice_api::bots::BotUpdate {
        default_limits: true,
        ..Default::default()
    };
    sluice_api::bots::update(&app.db.pool, BOT, &reset)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    for _ in 0..10 {
        update_id += 1;
        let resp = app
            .post_update(BOT, message(update_id, update_id, "x"))
            .await;
        assert_eq!(resp.status(), 200, "back to the default bot limit");
    }
    app.stop().await;
}

#[tokio::test]
async fn admission_updates_without_a_chat_are_limited_per_user() {
    let (app, _redis) = super::spawn(&[]).await;
    let inline_query = |update_id: i64, user: i64| {
        serde_json::json!({
            "update_id": update_id,
            "inline_query": {"id": "q", "from": {"id": user, "is_bot": false, "first_name": "A"},
                             "query": "cats", "offset": ""}
        })
        .to_string()
    };
    for i in 0..5 {
        assert_eq!(
            app.post_update(BOT, inline_query(i, 42)).await.status(),
            200
        );
    }
    assert_eq!(
        app.post_update(BOT, inline_query(5, 42)).await.status(),
        429
    );
    assert_eq!(
        app.post_update(BOT, inline_query(6, 43)).await.status(),
        200
    );
    // A poll has neither chat nor user: it meets only the global and bot buckets.
    for i in 0..10 {
        let poll = serde_json::json!({"update_id": 100 + i, "poll": {"id": "p", "question": "?"}});
        assert_eq!(app.post_update(BOT, poll.to_string()).await.status(), 200);
    }
    app.stop().await;
}
