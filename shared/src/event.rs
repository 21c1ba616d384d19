//! The queued job of a signed webhook: one verified provider event, its raw bytes untouched.

use serde::Serialize;
use serde_json::value::RawValue;

use crate::lanes::Lane;

/// One verified delivery from a signed-webhook source as it sits in a lane's queue.
///
/// Serialized with `"origin":"signed"` first, which is how a worker tells it from a Telegram
/// [`UpdateEnvelope`](crate::envelope::UpdateEnvelope) (see [`Job`](crate::job::Job)).
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "origin", rename = "signed")]
pub struct EventEnvelope {
    /// The source's registered name (the `{source}` of `/webhook/hooks/{source}`).
    pub source: String,
    /// The provider's key for this event (header, JSON pointer, or `sha256:` of the body): with
    /// `source`, the deduplication key in Redis and the unique key in Postgres.
    pub idempotency_key: String,
    /// The event type from the source's kind header or pointer, else `event`.
    pub kind: String,
    /// The admission-control bucket from the source's rate-key pointer, if it has one.
    pub rate_key: Option<String>,
    pub lane: Lane,
    /// When ingress accepted the request, in Unix milliseconds.
    pub received_at_ms: i64,
    /// The request body exactly as received and verified.
    pub payload: Box<RawValue>,
    /// Failed attempts so far (0 for a fresh delivery).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub attempt: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl EventEnvelope {
    /// The Redis deduplication key of this event.
    pub fn dedup_key(&self) -> String {
        dedup_key(&self.source, &self.idempotency_key)
    }
}

/// `src:{source}:{key}`: namespaced per source, and never equal to a Telegram `tg:` key.
pub fn dedup_key(source: &str, idempotency_key: &str) -> String {
    format!("src:{source}:{idempotency_key}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn keys_are_namespaced_apart_from_telegram() {
        let key = super::dedup_key("testbot", "1");
        assert_eq!(key, "src:testbot:1");
        assert_ne!(key, crate::envelope::idempotency_key("testbot", 1));
    }
}
