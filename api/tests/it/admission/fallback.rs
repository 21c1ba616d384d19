//! An update whose chat cannot be read is still limited: an unknown kind by the chat read
//! generically, a chat id of the wrong type by the user, and the fallback is counted.

use serde_json::json;

use super::{answer, sample};
use crate::common::BOT;

/// `guest_message` came with Bot API 10.0; sluice's table of kinds does not know it.
fn guest_message(update_id: i64, chat_id: serde_json::Value, user: i64) -> String {
    json!({
        "update_id": update_id,
        "guest_message": {
            "message_id": update_id,
            "from": {"id": user, "is_bot": false, "first_name": "Ada"},
            "chat": {"id": chat_id, "type": "supergroup", "title": "G"},
            "date": 1764000000,
            "text": "hi"
        }
    })
    .to_string()
}

/// How many of `bodies` were dropped by the chat limit (policy `drop`, burst 5).
async fn dropped(app: &crate::common::TestApp, bodies: Vec<String>) -> usize {
    let mut dropped = 0;
    for body in bodies {
        let (status, _, json) = answer(app.post_update(BOT, body).await).await;
        assert_eq!(status, 200, "{json}");
        dropped += usize::from(json["dropped"] == true);
    }
    dropped
}

async fn fallbacks(app: &crate::common::TestApp) -> f64 {
    let page = app.admin_get("/metrics").await.text().await.unwrap();
    let labels = [("reason", "bad_chat_id"), ("subject", "user")];
    sample(&page, "sluice_admission_subject_fallbacks_total", &labels).unwrap_or(0.0)
}

#[tokio::test]
async fn admission_fallback_unknown_kind_is_limited_per_chat_or_per_user() {
    let (app, _redis) = super::spawn(&["--policy-chat=drop"]).await;
    // Seven different users in one chat: the chat's burst of 5 binds.
    let same_chat = (0..7).map(|i| guest_message(i, json!(-100_777), 1000 + i));
    assert_eq!(dropped(&app, same_chat.collect()).await, 2);

    // A chat id no i64 can hold: one user's burst binds instead, and the fallback is counted.
    let before = fallbacks(&app).await;
    let bad_chat = (10..17).map(|i| guest_message(i, json!(1e20), 4242));
    assert_eq!(dropped(&app, bad_chat.collect()).await, 2);
    let counted = fallbacks(&app).await - before;
    assert!(counted >= 7.0, "{counted} fallbacks counted");

    // Different users behind unreadable chat ids are not one bucket.
    let many_users = (20..27).map(|i| guest_message(i, json!("x"), 5000 + i));
    assert_eq!(dropped(&app, many_users.collect()).await, 0);
    assert_eq!(app.jobs().await, 5 + 5 + 7);
    app.stop().await;
}
