//! `SLUICE_ENQUEUE_MIN_REPLICAS`: a 200 only once enough replicas hold the job; fewer in time is a
//! 503 `retry`, and so is the redelivery of a job they do not hold yet.

use sluice_testkit::servers::RedisServer;

use crate::{
    admission::{answer, sample},
    common::{BOT, message, spawn_app_with},
};

// A budget well above a replica round trip on a loaded test machine.
const FLAGS: &[&str] = &["--enqueue-min-replicas=1", "--enqueue-timeout=1000ms"];

#[tokio::test]
async fn durability_without_the_replicas_asked_for_the_answer_is_503_retry() {
    let primary = RedisServer::start().await.unwrap();
    let app = spawn_app_with(&primary.url(), FLAGS).await;
    let (status, retry_after, body) = answer(app.post_update(BOT, message(1, 5, "a")).await).await;
    assert_eq!((status, retry_after), (503, Some(1)), "{body}");
    assert_eq!(body["error"], "retry");
    // The job is on the primary, but the redelivery is not a 200 "duplicate" either: no replica
    // has it yet.
    let (status, ..) = answer(app.post_update(BOT, message(1, 5, "a")).await).await;
    assert_eq!(status, 503);
    let metrics = app.admin_get("/metrics").await.text().await.unwrap();
    let failed = sample(
        &metrics,
        "sluice_enqueue_failures_total",
        &[("reason", "replicas")],
    );
    assert!(failed >= Some(2.0), "{failed:?}");

    // Once a replica has synced, the redelivery is a duplicate and a new update is queued.
    let replica = RedisServer::start_replica_of(&primary).await.unwrap();
    let resp = app.post_update(BOT, message(1, 5, "a")).await;
    let text = resp.text().await.unwrap();
    assert_eq!(text, r#"{"ok":true,"duplicate":true}"#);
    let (status, _, body) = answer(app.post_update(BOT, message(2, 5, "b")).await).await;
    assert_eq!(status, 200, "{body}");
    let id = body["id"].as_str().unwrap();
    let on_replica: bool = replica
        .query(
            redis::cmd("HEXISTS")
                .arg(format!("{}:normal:data", app.prefix))
                .arg(id),
        )
        .await
        .unwrap();
    assert!(on_replica, "an acknowledged job is on the replica");
    app.stop().await;
}
