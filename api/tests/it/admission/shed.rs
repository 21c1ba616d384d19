//! Load shedding: a backed-up low lane is refused while the high lane is still admitted.

use std::time::Duration;

use super::{answer, callback_query, channel_post};
use crate::common::{BOT, message};

#[tokio::test]
async fn admission_sheds_the_low_lane_past_its_threshold_and_still_admits_high() {
    let flags = ["--shed-depth-low=20", "--shed-retry-after=7s"];
    let (app, _redis) = super::spawn(&flags).await;
    // No worker runs: every channel post (low lane, one channel each) stays queued.
    let mut queued = 0;
    for i in 0..21 {
        let (status, _, body) =
            answer(app.post_update(BOT, channel_post(i, -100_000 - i)).await).await;
        assert_eq!(status, 200, "{body}");
        queued += 1;
    }
    assert_eq!(
        sluice_testkit::queue_len(&app.redis_url, &app.prefix, "low")
            .await
            .unwrap(),
        queued
    );
    // The backlog is sampled every 100 ms: within a few samples, new low updates get 503.
    let mut update_id = 1_000;
    let shed = sluice_testkit::wait_until(Duration::from_secs(3), || {
        update_id += 1;
        let body = channel_post(update_id, -200_000 - update_id);
        let app = &app;
        async move {
            let (status, retry_after, json) = answer(app.post_update(BOT, body).await).await;
            assert!(status == 200 || status == 503, "{status} {json}");
            status == 503 && retry_after == Some(7) && json["error"] == "shed"
        }
    })
    .await;
    assert!(shed, "the low lane is shed once its backlog passed 20");

    let (status, _, body) = answer(app.post_update(BOT, callback_query(5_000, 9, -9)).await).await;
    assert_eq!(status, 200, "high lane still admitted: {body}");
    let (status, _, body) = answer(app.post_update(BOT, message(5_001, 9, "hello")).await).await;
    assert_eq!(status, 200, "normal lane still admitted: {body}");
    let (status, _, _) = answer(app.post_update(BOT, channel_post(5_002, -9)).await).await;
    assert_eq!(status, 503, "low lane still shed");
    app.stop().await;
}
