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
    // The route template, never the bot name, labels the request.
    assert!(metrics.contains(r#"route="/webhook/telegram/{bot}""#));
    assert!(!metrics.contains(BOT));
    app.stop().await;
}

#[tokio::test]
async fn queue_depth_is_exported_per_lane_and_state() {
    let app =
        crate::common::spawn_app_with(&sluice_testkit::redis_url(), &["--depth-interval=100ms"])
            .await;
    for id in 1..=3 {
        assert_eq!(
            app.post_update(BOT, message(id, 1, "hi")).await.status(),
            200
        );
    }
    let want = r#"sluice_queue_depth{lane="normal",state="pending"} 3"#;
    let seen = sluice_testkit::wait_until(std::time::Duration::from_secs(5), || async {
        app.admin_get("/metrics")
            .await
            .text()
            .await
            .unwrap()
            .contains(want)
    })
    .await;
    let metrics = app.admin_get("/metrics").await.text().await.unwrap();
    assert!(seen, "{want} not in:\n{metrics}");
    assert!(metrics.contains(r#"sluice_queue_depth{lane="high",state="pending"} 0"#));
    assert!(metrics.contains(r#"sluice_queue_depth{lane="normal",state="inflight"} 0"#));
    let age: f64 = metrics
        .lines()
        .find(|l| l.starts_with(r#"sluice_queue_oldest_age_seconds{lane="normal"}"#))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
        .expect("oldest age exported");
    assert!((0.0..60.0).contains(&age), "oldest pending age {age}");
    assert!(metrics.contains(sluice_shared::metrics::DB_POOL_MAX_CONNECTIONS));
    app.stop().await;
}
