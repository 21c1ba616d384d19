//! A redelivery of a stored update is a duplicate whatever the limits say: refused, Telegram
//! would re-send it until the chat's bucket refilled, while the update is already queued.

use std::time::Duration;

use super::{answer, channel_post};
use crate::common::{BOT, message};

const DUPLICATE: &str = r#"{"ok":true,"duplicate":true}"#;

#[tokio::test]
async fn admission_redelivery_with_the_chat_bucket_empty_is_a_duplicate() {
    let flags = ["--rate-chat-per-min=1", "--rate-chat-burst=1"];
    let (app, _redis) = super::spawn(&flags).await;
    let (status, _, body) = answer(app.post_update(BOT, message(1, 5, "a")).await).await;
    assert_eq!(status, 200, "{body}");
    // The bucket is empty: a new update of the chat is refused...
    let (status, retry_after, body) = answer(app.post_update(BOT, message(2, 5, "b")).await).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (429, Some("rate_limited"))
    );
    assert!(retry_after.is_some());
    // ...and the redelivery of the stored one is not.
    let resp = app.post_update(BOT, message(1, 5, "a")).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.text().await.unwrap(), DUPLICATE);
    assert_eq!(app.jobs().await, 1);
    app.stop().await;
}

#[tokio::test]
async fn admission_redelivery_to_a_shed_lane_is_a_duplicate() {
    let (app, _redis) = super::spawn(&["--shed-depth-low=2"]).await;
    for i in 0..3 {
        let (status, _, body) = answer(app.post_update(BOT, channel_post(i, -100 - i)).await).await;
        assert_eq!(status, 200, "{body}");
    }
    // The backlog is sampled every 100 ms: wait until the low lane is shed.
    let mut id = 100;
    let shed = sluice_testkit::wait_until(Duration::from_secs(3), || {
        id += 1;
        let body = channel_post(id, -100 - id);
        let app = &app;
        async move { app.post_update(BOT, body).await.status() == 503 }
    })
    .await;
    assert!(shed, "the low lane is shed");
    let resp = app.post_update(BOT, channel_post(0, -100)).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.text().await.unwrap(), DUPLICATE);
    app.stop().await;
}
