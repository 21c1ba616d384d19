//! The admin listener: liveness, readiness and metrics.

use crate::common::{BOT, message, spawn_app};

#[tokio::test]
async fn health_readiness_and_metrics() {
    let app = spawn_app().await;
    assert_eq!(app.admin_get("/healthz").await.status(), 200);
    assert_eq!(app.admin_get("/readyz").await.status(), 200);
    assert_eq!(
        app.post_update(BOT, message(1, 1, "hi")).await.status(),
        200
    );
    let metrics = app.admin_get("/metrics").await.text().await.unwrap();
    for name in [
        sluice_shared::metrics::HTTP_REQUESTS_TOTAL,
        sluice_shared::metrics::HTTP_REQUEST_DURATION_SECONDS,
        sluice_shared::metrics::WEBHOOK_UPDATES_TOTAL,
        sluice_shared::metrics::ENQUEUE_DURATION_SECONDS,
    ] {
        assert!(
            metrics.contains(name),
            "{name} missing from /metrics:\n{metrics}"
        );
    }
    // The route template, never the bot name, labels the request; the registered bot labels
    // its updates (the dashboard's `bot` variable), a made-up name labels nothing.
    assert!(metrics.contains(r#"route="/webhook/telegram/{bot}""#));
    assert_eq!(
        app.post_update("no-such-bot", message(2, 1, "hi"))
            .await
            .status(),
        404
    );
    let metrics = app.admin_get("/metrics").await.text().await.unwrap();
    let updates: Vec<&str> = metrics
        .lines()
        .filter(|l| l.starts_with(sluice_shared::metrics::WEBHOOK_UPDATES_TOTAL))
        .collect();
    assert!(
        updates
            .iter()
            .any(|l| l.contains(&format!(r#"bot="{BOT}""#)) && l.contains(r#"outcome="accepted""#)),
        "no accepted count for bot {BOT}: {updates:?}"
    );
    assert!(
        updates
            .iter()
            .any(|l| l.contains(r#"bot="""#) && l.contains(r#"outcome="unknown_bot""#)),
        "the unknown bot's 404 is not counted with an empty bot: {updates:?}"
    );
    assert!(!metrics.contains("no-such-bot"));
    assert_eq!(
        metrics.matches(BOT).count(),
        updates.iter().filter(|l| l.contains(BOT)).count(),
        "the bot's name labels only {}",
        sluice_shared::metrics::WEBHOOK_UPDATES_TOTAL
    );
    app.stop().await;
}

#[tokio::test]
async fn queue_depth_is_sampled_per_lane_and_state_and_exported() {
    let app =
        crate::common::spawn_app_with(&sluice_testkit::redis_url(), &["--depth-interval=100ms"])
            .await;
    for id in 1..=3 {
        assert_eq!(
            app.post_update(BOT, message(id, 1, "hi")).await.status(),
            200
        );
    }
    // The values, from this test's own prefix (the /metrics gauges are process-wide, and other
    // tests' apps in this process write them too).
    let mut conn =
        sluice_shared::queue::connect(&app.redis_url, std::time::Duration::from_secs(5)).unwrap();
    let [high, normal, low] = sluice_shared::queue::depth::sample(&mut conn, &app.prefix)
        .await
        .unwrap()
        .into_array();
    assert_eq!(
        (
            normal.pending,
            normal.scheduled,
            normal.inflight,
            normal.dead
        ),
        (3, 0, 0, 0)
    );
    assert_eq!((high.pending, low.pending), (0, 0));
    assert!(
        normal.oldest_age < std::time::Duration::from_secs(60),
        "{:?}",
        normal.oldest_age
    );
    assert!(normal.oldest_age > std::time::Duration::ZERO || normal.pending == 0);
    // And their export.
    let exported = sluice_testkit::wait_until(std::time::Duration::from_secs(20), || async {
        let text = app.admin_get("/metrics").await.text().await.unwrap();
        text.contains(r#"sluice_queue_depth{lane="normal",state="pending"}"#)
            && text.contains(r#"sluice_queue_oldest_age_seconds{lane="normal"}"#)
            && text.contains(sluice_shared::metrics::DB_POOL_MAX_CONNECTIONS)
    })
    .await;
    assert!(
        exported,
        "{}",
        app.admin_get("/metrics").await.text().await.unwrap()
    );
    app.stop().await;
}
