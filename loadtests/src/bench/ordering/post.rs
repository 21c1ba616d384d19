//! Updates posted to sluice-api as Telegram sends them: each chat's updates one after the other,
//! the next only once the previous was answered, many chats at once. Every answer goes into a
//! ledger with its times, which the ordering check reads.

use std::time::{Duration, Instant};

use futures::StreamExt;

use crate::summary::LedgerEntry;

/// Where and as whom to post.
#[derive(Debug, Clone)]
pub struct Webhook {
    /// `http://127.0.0.1:<port>` of sluice-api's webhook listener.
    pub base: String,
    pub bot: String,
    pub secret: String,
}

/// What to post: `per_chat` messages in each of `chats` private chats (ids from `first_chat`),
/// update_ids from `first_update_id`, chat `c`'s k-th update being the k-th of its chat.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    pub chats: u64,
    pub per_chat: u64,
    pub first_chat: i64,
    pub first_update_id: i64,
    /// Chats posting at once (one connection each).
    pub connections: usize,
}

/// A Telegram message update in private chat `chat` (the user has the chat's id).
pub fn message(update_id: i64, chat: i64) -> String {
    format!(
        r#"{{"update_id":{update_id},"message":{{"message_id":{update_id},"date":1764720000,"chat":{{"id":{chat},"type":"private","first_name":"Ord"}},"from":{{"id":{chat},"is_bot":false,"first_name":"Ord"}},"text":"step {update_id}"}}}}"#
    )
}

/// Posts the plan; returns one ledger line per request (times from `start`). A transport error
/// is a line with status 0; no update is re-sent.
pub async fn post_chats(
    http: &reqwest::Client,
    to: &Webhook,
    plan: Plan,
    start: Instant,
) -> Vec<LedgerEntry> {
    let url = format!("{}/webhook/telegram/{}", to.base, to.bot);
    let chats = futures::stream::iter(0..plan.chats)
        .map(|c| {
            let url = url.as_str();
            async move {
                let chat = plan.first_chat + c as i64;
                let mut lines = Vec::with_capacity(plan.per_chat as usize);
                for k in 0..plan.per_chat {
                    // Ids interleave across chats, as a bot's updates do; per chat they grow.
                    let update_id = plan.first_update_id + (k * plan.chats + c) as i64;
                    let sent = start.elapsed();
                    let status = http
                        .post(url)
                        .header("X-Telegram-Bot-Api-Secret-Token", &to.secret)
                        .header("content-type", "application/json")
                        .body(message(update_id, chat))
                        .send()
                        .await
                        .map_or(0, |r| r.status().as_u16());
                    lines.push(LedgerEntry {
                        bot: to.bot.clone(),
                        update_id,
                        status,
                        resend: false,
                        sent_us: Some(micros(sent)),
                        answered_us: Some(micros(start.elapsed())),
                    });
                }
                lines
            }
        })
        .buffer_unordered(plan.connections.max(1));
    chats.concat().await
}

fn micros(d: Duration) -> u64 {
    d.as_micros() as u64
}
