//! What a lane's queue holds: a Telegram update or a signed provider event, told apart by the
//! `origin` field.
//!
//! Telegram jobs are serialized exactly as before this enum existed (no `origin` field), so jobs
//! queued by an older api still decode, and an older worker still decodes new Telegram jobs
//! during a rolling deploy. Signed events carry `"origin":"signed"`.

use serde::{Deserialize, Deserializer, Serialize, Serializer, de::Error as _};
use serde_json::value::RawValue;

use crate::{envelope::UpdateEnvelope, event::EventEnvelope, lanes::Lane};

/// One queued job, as a worker receives it.
#[derive(Debug, Clone)]
pub enum Job {
    Telegram(UpdateEnvelope),
    Signed(EventEnvelope),
}

/// Where a job came from; absent in the JSON means Telegram.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Origin {
    #[default]
    Telegram,
    Signed,
}

impl Job {
    pub fn lane(&self) -> Lane {
        match self {
            Job::Telegram(u) => u.lane,
            Job::Signed(e) => e.lane,
        }
    }

    pub fn received_at_ms(&self) -> i64 {
        match self {
            Job::Telegram(u) => u.received_at_ms,
            Job::Signed(e) => e.received_at_ms,
        }
    }

    /// Failed attempts so far (our retry policy counts on it).
    pub fn attempt(&self) -> u32 {
        match self {
            Job::Telegram(u) => u.attempt,
            Job::Signed(e) => e.attempt,
        }
    }

    /// The same job, as attempt `n`.
    pub fn with_attempt(&self, n: u32) -> Job {
        let mut job = self.clone();
        match &mut job {
            Job::Telegram(u) => u.attempt = n,
            Job::Signed(e) => e.attempt = n,
        }
        job
    }

    /// Who and what, for logs and the dead-letter listing: `bot/update_id` or `source/key`.
    pub fn describe(&self) -> String {
        match self {
            Job::Telegram(u) => format!("{}/{}", u.bot, u.update_id),
            Job::Signed(e) => format!("{}/{}", e.source, e.idempotency_key),
        }
    }

    pub fn kind(&self) -> &str {
        match self {
            Job::Telegram(u) => &u.kind,
            Job::Signed(e) => &e.kind,
        }
    }
}

/// What the api's enqueue needs from a job: its lane, its deduplication key, and its JSON.
pub trait Queued: Serialize {
    fn lane(&self) -> Lane;
    fn dedup_key(&self) -> String;
}

impl Queued for UpdateEnvelope {
    fn lane(&self) -> Lane {
        self.lane
    }
    fn dedup_key(&self) -> String {
        self.idempotency_key()
    }
}

impl Queued for EventEnvelope {
    fn lane(&self) -> Lane {
        self.lane
    }
    fn dedup_key(&self) -> String {
        EventEnvelope::dedup_key(self)
    }
}

impl Serialize for Job {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Job::Telegram(u) => u.serialize(s),
            Job::Signed(e) => e.serialize(s),
        }
    }
}

/// Every field either kind of job may carry. An untagged or internally tagged enum would be
/// shorter, but serde buffers those, and a buffered [`RawValue`] cannot be decoded: the raw
/// payload would be lost.
#[derive(Deserialize)]
struct Wire {
    #[serde(default)]
    origin: Origin,
    bot: Option<String>,
    update_id: Option<i64>,
    chat_id: Option<i64>,
    user_id: Option<i64>,
    source: Option<String>,
    idempotency_key: Option<String>,
    rate_key: Option<String>,
    kind: String,
    lane: Lane,
    received_at_ms: i64,
    payload: Box<RawValue>,
    #[serde(default)]
    attempt: u32,
}

impl<'de> Deserialize<'de> for Job {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let w = Wire::deserialize(d)?;
        Ok(match w.origin {
            Origin::Telegram => Job::Telegram(UpdateEnvelope {
                bot: w.bot.ok_or_else(|| D::Error::missing_field("bot"))?,
                update_id: w
                    .update_id
                    .ok_or_else(|| D::Error::missing_field("update_id"))?,
                kind: w.kind,
                chat_id: w.chat_id,
                user_id: w.user_id,
                lane: w.lane,
                received_at_ms: w.received_at_ms,
                payload: w.payload,
                attempt: w.attempt,
            }),
            Origin::Signed => Job::Signed(EventEnvelope {
                source: w.source.ok_or_else(|| D::Error::missing_field("source"))?,
                idempotency_key: w
                    .idempotency_key
                    .ok_or_else(|| D::Error::missing_field("idempotency_key"))?,
                kind: w.kind,
                rate_key: w.rate_key,
                lane: w.lane,
                received_at_ms: w.received_at_ms,
                payload: w.payload,
                attempt: w.attempt,
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RAW: &str = r#"{ "id":"evt_1","type" : "invoice.paid","n":1.50 }"#;

    fn event() -> EventEnvelope {
        EventEnvelope {
            source: "stripe".into(),
            idempotency_key: "evt_1".into(),
            kind: "invoice.paid".into(),
            rate_key: Some("cus_9".into()),
            lane: Lane::High,
            received_at_ms: 7,
            payload: RawValue::from_string(RAW.to_owned()).unwrap(),
            attempt: 0,
        }
    }

    #[test]
    fn a_telegram_job_queued_before_origin_existed_still_decodes() {
        // The exact shape the api wrote before signed webhooks.
        let old = r#"{"bot":"b","update_id":5,"kind":"message","chat_id":-1001234567890,"user_id":null,"lane":"normal","received_at_ms":1,"payload":{"update_id":5}}"#;
        let Job::Telegram(u) = serde_json::from_str::<Job>(old).unwrap() else {
            panic!("decoded as a signed event");
        };
        assert_eq!((u.bot.as_str(), u.update_id), ("b", 5));
        assert_eq!(u.chat_id, Some(-1001234567890));
        // And it is written back in the same shape, without an origin field.
        let again = serde_json::to_string(&Job::Telegram(u)).unwrap();
        assert_eq!(again, old);
    }

    #[test]
    fn a_signed_event_round_trips_with_its_raw_bytes() {
        let json = serde_json::to_string(&event()).unwrap();
        assert!(
            json.starts_with(r#"{"origin":"signed","source":"stripe""#),
            "{json}"
        );
        let Job::Signed(e) = serde_json::from_str::<Job>(&json).unwrap() else {
            panic!("decoded as a Telegram update");
        };
        assert_eq!(e.payload.get(), RAW);
        assert_eq!(e.rate_key.as_deref(), Some("cus_9"));
        assert_eq!((e.lane, e.received_at_ms), (Lane::High, 7));
        assert_eq!(e.dedup_key(), "src:stripe:evt_1");
    }

    #[test]
    fn a_job_missing_its_key_fields_is_an_error_not_a_default() {
        let no_bot = r#"{"update_id":5,"kind":"m","lane":"low","received_at_ms":1,"payload":{}}"#;
        assert!(serde_json::from_str::<Job>(no_bot).is_err());
        let no_key = r#"{"origin":"signed","source":"s","kind":"m","lane":"low","received_at_ms":1,"payload":{}}"#;
        assert!(serde_json::from_str::<Job>(no_key).is_err());
    }
}
