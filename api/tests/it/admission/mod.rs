//! Admission control end to end: rate limits and their policies, shedding, the `redis` scope
//! across real api processes, and its fallback.

mod cli;
mod fallback;
mod flood;
mod lua;
mod policies;
mod redelivery;
mod redis_down;
mod replicas;
mod shed;

use serde_json::{Value, json};
use sluice_testkit::servers::RedisServer;

use crate::common::{TestApp, spawn_app_with};

/// The api with `flags`, on a Redis of its own: the shared test Redis can stall for a second
/// on another session's `KEYS`, which would turn rate-limit timings into enqueue timeouts.
/// Stop the app before dropping the server.
pub async fn spawn(flags: &[&str]) -> (TestApp, RedisServer) {
    let redis = RedisServer::start().await.expect("a private redis-server");
    let app = spawn_app_with(&redis.url(), flags).await;
    (app, redis)
}

/// A callback query (high lane) from `user` on a message in `chat`.
pub fn callback_query(update_id: i64, user: i64, chat: i64) -> String {
    json!({
        "update_id": update_id,
        "callback_query": {
            "id": format!("cb{update_id}"),
            "from": {"id": user, "is_bot": false, "first_name": "Ada"},
            "message": {"message_id": 9, "date": 1764000000,
                        "chat": {"id": chat, "type": "supergroup", "title": "G"}},
            "chat_instance": "-1",
            "data": "buy"
        }
    })
    .to_string()
}

/// A channel post (low lane) in `chat`.
pub fn channel_post(update_id: i64, chat: i64) -> String {
    json!({
        "update_id": update_id,
        "channel_post": {
            "message_id": update_id,
            "sender_chat": {"id": chat, "type": "channel", "title": "C"},
            "chat": {"id": chat, "type": "channel", "title": "C"},
            "date": 1764000000,
            "text": "news"
        }
    })
    .to_string()
}

/// The status, the Retry-After header (if any) and the JSON body of an answer.
pub async fn answer(resp: reqwest::Response) -> (u16, Option<u64>, Value) {
    let status = resp.status().as_u16();
    let retry_after = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let body = resp.json().await.unwrap_or(Value::Null);
    (status, retry_after, body)
}

/// The value of one sample of `name` with all of `labels` in a Prometheus text page.
pub fn sample(metrics: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    metrics
        .lines()
        .filter(|l| l.starts_with(&format!("{name}{{")))
        .find(|l| {
            labels
                .iter()
                .all(|(k, v)| l.contains(&format!("{k}=\"{v}\"")))
        })
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}
