//! The queued job: one update with everything a worker needs, and its raw bytes untouched.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::lanes::Lane;

/// One webhook delivery as it sits in a lane's queue.
///
/// `payload` is the request body exactly as received (a [`RawValue`] is copied verbatim into the
/// job's JSON), so nothing is lost by re-serialization between the socket and Postgres.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UpdateEnvelope {
    /// The bot's registered name (the `{bot}` of the webhook URL).
    pub bot: String,
    /// Telegram's update_id: with `bot`, the deduplication key.
    pub update_id: i64,
    /// The update's kind ("message", "callback_query", ...).
    pub kind: String,
    pub chat_id: Option<i64>,
    pub user_id: Option<i64>,
    pub lane: Lane,
    /// When ingress accepted the request, in Unix milliseconds (queue wait is measured from it).
    pub received_at_ms: i64,
    /// The raw update body.
    pub payload: Box<RawValue>,
    /// Failed attempts so far (0 for a fresh delivery); our retry policy counts on it. Left out
    /// of the JSON when 0, so a fresh job has the shape older workers know.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub attempt: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl UpdateEnvelope {
    /// The idempotency key of this update: Telegram re-sends the same (bot, update_id).
    pub fn idempotency_key(&self) -> String {
        idempotency_key(&self.bot, self.update_id)
    }
}

pub fn idempotency_key(bot: &str, update_id: i64) -> String {
    format!("tg:{bot}:{update_id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_bytes_survive_the_round_trip() {
        // Odd spacing, key order and number spelling must come out exactly as they went in.
        let raw = r#"{ "update_id":1,"message" : {"text":"h\u00e9","n":1.50,"z":0,"a":1} }"#;
        let env = UpdateEnvelope {
            bot: "b".into(),
            update_id: 1,
            kind: "message".into(),
            chat_id: Some(-1001234567890),
            user_id: None,
            lane: Lane::Normal,
            received_at_ms: 0,
            payload: RawValue::from_string(raw.to_owned()).unwrap(),
            attempt: 0,
        };
        let bytes = serde_json::to_vec(&env).unwrap();
        let back: UpdateEnvelope = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(back.payload.get(), raw);
        assert_eq!(back.chat_id, Some(-1001234567890));
    }
}
