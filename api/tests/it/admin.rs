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
