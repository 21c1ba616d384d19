//! Admission through the console: deliveries a small chat limit rejects show in
//! `GET /api/v1/admission` and on the lanes page once the api has flushed its counts.

use std::time::Duration;

use reqwest::Method;

use super::{TOKEN, spawn_console};
use crate::common::{BOT, SECRET, message};

#[tokio::test]
async fn rejected_deliveries_show_in_the_admission_api_and_the_lanes_page() {
    let (app, c) = spawn_console(&["--rate-chat-burst=2", "--policy-chat=reject"]).await;
    let mut statuses = Vec::new();
    for id in 0..5 {
        let resp = app.post_update(BOT, message(7000 + id, 4242, "hi")).await;
        statuses.push(resp.status().as_u16());
    }
    assert_eq!(statuses, [200, 200, 429, 429, 429]);

    let unauthenticated = c.http.get(c.url("/api/v1/admission")).send().await.unwrap();
    assert_eq!(unauthenticated.status(), 401);

    let read = || async {
        let resp = c
            .http
            .get(c.url("/api/v1/admission"))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        resp.json::<serde_json::Value>().await.unwrap()
    };
    let count = |v: &serde_json::Value, decision: &str| -> u64 {
        let rows = v["decisions"].as_array().unwrap();
        rows.iter()
            .filter(|d| d["decision"] == decision)
            .map(|d| d["count"].as_u64().unwrap())
            .sum()
    };
    // The api flushes its counts every few seconds.
    let flushed = sluice_testkit::wait_until(Duration::from_secs(15), || async {
        count(&read().await, "rejected_chat") == 3
    })
    .await;
    let v = read().await;
    assert!(flushed, "{v}");
    assert_eq!(v["window_seconds"], 300);
    assert_eq!(count(&v, "admitted"), 2, "{v}");
    assert_eq!(
        v["limited_chats"],
        serde_json::json!([{"bot": BOT, "chat": 4242, "refused": 3}])
    );
    assert_eq!(v["limited_bots"], serde_json::json!([]));

    // The lanes page and its live block show the same.
    let s = c.sign_in().await;
    for path in ["/lanes", "/lanes/live"] {
        let html = c
            .with(&s, Method::GET, path)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(html.contains("class=\"admission\""), "{path}: {html}");
        assert!(html.contains("rejected_chat"), "{path}");
        assert!(html.contains(&format!("{BOT} / 4242")), "{path}");
        assert!(!html.contains(SECRET) && !html.contains(TOKEN));
    }
    assert!(!v.to_string().contains(SECRET));
    app.stop().await;
}

#[tokio::test]
async fn a_stopping_api_flushes_what_it_counted_last() {
    use sluice_console::service::admission::Admissions;

    let (mut app, _c) = spawn_console(&["--rate-chat-burst=1", "--policy-chat=reject"]).await;
    for id in 0..3 {
        let _ = app.post_update(BOT, message(7100 + id, 99, "hi")).await;
    }
    // Stopped well before its next 5 s flush.
    app.begin_shutdown();
    let client = redis::Client::open(app.redis_url.as_str()).unwrap();
    let store = Admissions::new(client.get_connection_manager().await.unwrap(), &app.prefix);
    let flushed = sluice_testkit::wait_until(Duration::from_secs(3), || async {
        let now = store.recent().await.unwrap();
        now.decisions
            .iter()
            .any(|d| d.decision == "rejected_chat" && d.count == 2)
    })
    .await;
    assert!(flushed, "{:?}", store.recent().await.unwrap());
    app.stop().await;
}
