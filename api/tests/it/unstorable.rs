//! Valid JSON that Postgres `jsonb` cannot store is refused with 400 on both routes, before
//! anything is queued; what jsonb can store still passes.

use serde_json::Value;
use sluice_api::{signature::Scheme, sources::Source};

use crate::{
    common::{BOT, spawn_app},
    hooks::{secret, spawn_hooks_app},
    sign::{accepted, add_source, plain, post_hook, refused},
};

/// Each a Telegram update that jsonb refuses, or (repeated keys) would store as something other
/// than what was classified.
fn unstorable() -> Vec<String> {
    let deep = format!("{}0{}", "[".repeat(10_000), "]".repeat(10_000));
    [
        r#"{"update_id":1,"message":{"chat":{"id":5},"text":"a\u0000b"}}"#.to_owned(),
        r#"{"update_id":2,"message":{"chat":{"id":5},"entities":[{"k\u0000":1}]}}"#.to_owned(),
        r#"{"update_id":3,"message":{"chat":{"id":5},"text":"\ud800"}}"#.to_owned(),
        r#"{"update_id":4,"message":{"chat":{"id":5},"text":"\udc00x"}}"#.to_owned(),
        r#"{"update_id":5,"message":{"chat":{"id":5},"n":1e1000000}}"#.to_owned(),
        r#"{"update_id":204,"message":{"chat":{"id":5}},"update_id":205}"#.to_owned(),
        r#"{"update_id":7,"message":{"chat":{"id":5},"chat":{"id":6}}}"#.to_owned(),
        format!(r#"{{"update_id":8,"message":{{"chat":{{"id":5}},"x":{deep}}}}}"#),
    ]
    .into()
}

#[tokio::test]
async fn telegram_updates_jsonb_cannot_store_get_400_and_queue_nothing() {
    let app = spawn_app().await;
    for body in unstorable() {
        let resp = app.post_update(BOT, body.clone()).await;
        let short = &body[..body.len().min(90)];
        assert_eq!(resp.status(), 400, "{short}");
        let json: Value = resp.json().await.unwrap();
        assert_eq!(json["error"], "bad_request", "{short}: {json}");
        assert!(
            json["detail"].as_str().unwrap().contains("stored"),
            "{json}"
        );
    }
    assert_eq!(app.jobs().await, 0);
    // Escaped backslashes, a valid surrogate pair and big-but-fitting numbers are fine.
    let fine =
        r#"{"update_id":9,"message":{"chat":{"id":5},"text":"\\u0000 \ud83d\ude00","n":1e1000}}"#;
    assert_eq!(app.post_update(BOT, fine).await.status(), 200);
    assert_eq!(app.jobs().await, 1);
    app.stop().await;
}

#[tokio::test]
async fn signed_events_jsonb_cannot_store_get_400_and_queue_nothing() {
    let app = spawn_hooks_app().await;
    add_source(&app, Source::new("p", Scheme::Plain, secret("p"))).await;
    for body in unstorable() {
        let sig = plain("p", body.as_bytes());
        refused(post_hook(&app, "p", &[sig], body).await, 400, "bad_request").await;
    }
    assert_eq!(app.jobs().await, 0);
    let fine = r#"{"text":"\\u0000 \ud83d\ude00"}"#;
    let sig = plain("p", fine.as_bytes());
    assert!(
        accepted(post_hook(&app, "p", &[sig], fine).await)
            .await
            .is_some()
    );
    app.stop().await;
}
