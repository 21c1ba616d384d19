//! One idempotency namespace per bot (or source) across all lanes: a redelivery is a duplicate
//! whichever lane the rules of the day send it to, and older api releases, which claim per lane,
//! agree with this one during a rolling deploy.

use crate::common::{BOT, TestApp, message, spawn_app, spawn_app_with};

const DUPLICATE: &str = r#"{"ok":true,"duplicate":true}"#;

async fn redis(app: &TestApp) -> redis::aio::MultiplexedConnection {
    let client = redis::Client::open(app.redis_url.as_str()).unwrap();
    client.get_multiplexed_async_connection().await.unwrap()
}

#[tokio::test]
async fn dedup_the_same_update_under_two_lane_rules_is_one_job() {
    let app = spawn_app().await;
    let resp = app.post_update(BOT, message(41, 5, "hi")).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        sluice_testkit::queue_len(&app.redis_url, &app.prefix, "normal")
            .await
            .unwrap(),
        1
    );

    // A deploy moves messages to the low lane; Telegram re-sends the update it did not see
    // answered.
    let app = app.restart_with(&["--lane-rules=message=low"]).await;
    let resp = app.post_update(BOT, message(41, 5, "hi")).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.text().await.unwrap(), DUPLICATE);
    assert_eq!(app.jobs().await, 1, "one job for one update");
    assert_eq!(
        sluice_testkit::queue_len(&app.redis_url, &app.prefix, "low")
            .await
            .unwrap(),
        0
    );

    // A new update does go to the low lane.
    let resp = app.post_update(BOT, message(42, 5, "hi")).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        sluice_testkit::queue_len(&app.redis_url, &app.prefix, "low")
            .await
            .unwrap(),
        1
    );
    app.stop().await;
}

#[tokio::test]
async fn dedup_a_claim_of_an_older_release_in_any_lane_is_a_duplicate() {
    let app = spawn_app().await;
    let mut conn = redis(&app).await;
    // An api of the previous release queued update 7 in the high lane (apalis-redis's key).
    let old = format!("{}:high:idempotency:tg:{BOT}:7", app.prefix);
    let _: () = redis::cmd("SET")
        .arg(&old)
        .arg("01OLDJOB")
        .arg("EX")
        .arg(90_000)
        .query_async(&mut conn)
        .await
        .unwrap();
    let resp = app.post_update(BOT, message(7, 5, "hi")).await;
    assert_eq!(resp.text().await.unwrap(), DUPLICATE);
    assert_eq!(app.jobs().await, 0);

    // What this release queues, an older one sees: the lane's own key is claimed too, and the
    // shared one lives as long.
    let resp = app.post_update(BOT, message(8, 5, "hi")).await;
    assert_eq!(resp.status(), 200);
    for key in [
        format!("{}:normal:idempotency:tg:{BOT}:8", app.prefix),
        sluice_shared::queue::dedup_key_name(&app.prefix, &format!("tg:{BOT}:8")),
    ] {
        let ttl: i64 = redis::cmd("TTL")
            .arg(&key)
            .query_async(&mut conn)
            .await
            .unwrap();
        assert!(ttl > 24 * 3600, "{key}: {ttl}");
    }
    app.stop().await;
}

#[tokio::test]
async fn dedup_without_lane_keys_only_the_shared_namespace_counts() {
    let app = spawn_app_with(&sluice_testkit::redis_url(), &["--dedup-lane-keys=false"]).await;
    let mut conn = redis(&app).await;
    let old = format!("{}:normal:idempotency:tg:{BOT}:9", app.prefix);
    let _: () = redis::cmd("SET")
        .arg(&old)
        .arg("01OLDJOB")
        .query_async(&mut conn)
        .await
        .unwrap();
    let resp = app.post_update(BOT, message(9, 5, "hi")).await;
    assert!(resp.text().await.unwrap().contains("\"id\""));
    let again = app.post_update(BOT, message(9, 5, "hi")).await;
    assert_eq!(again.text().await.unwrap(), DUPLICATE);
    let lane_key: bool = redis::cmd("EXISTS")
        .arg(format!("{}:low:idempotency:tg:{BOT}:9", app.prefix))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(!lane_key);
    assert_eq!(app.jobs().await, 1);
    app.stop().await;
}
