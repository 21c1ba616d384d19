//! A [`Job`] as JSON in a lane's queue (and inside a dead letter), and the formats still read.
//!
//! Format 2 (written now): `"v":2`, then `"origin"` (`"telegram"` or `"signed"`) and that
//! origin's keys, then the fields every job has. The keys keep their format-1 names, so a worker
//! of the release before still decodes every job a newer api or worker queues: it ignores `v`
//! and reads the rest as before. Format 1 (no `v`; no `origin` for a Telegram update; `attempt`
//! left out when 0) is still read, so nothing queued by that release is stranded. An optional
//! `"traceparent"` (W3C trace context) follows `attempt` when traces are on; older releases
//! ignore it.
//!
//! ```text
//! {"v":2,"origin":"telegram","bot":"b","update_id":5,"chat_id":-100,"user_id":7,
//!  "kind":"message","lane":"normal","received_at_ms":1,"payload":{…},"attempt":0}
//! {"v":2,"origin":"signed","source":"stripe","idempotency_key":"evt_1","rate_key":null,
//!  "kind":"invoice.paid","lane":"high","received_at_ms":1,"payload":{…},"attempt":0}
//! ```

use serde::{
    Deserialize, Deserializer, Serialize, Serializer, de::Error as _, ser::SerializeStruct,
};
use serde_json::value::RawValue;

use super::{Job, Origin};
use crate::lanes::Lane;

/// The format this release writes; it reads this one and every older one.
pub const FORMAT: u32 = 2;

impl Serialize for Job {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut job = s.serialize_struct("Job", 12)?;
        job.serialize_field("v", &FORMAT)?;
        match &self.origin {
            Origin::Telegram {
                bot,
                update_id,
                chat,
                user,
            } => {
                job.serialize_field("origin", &Tag::Telegram)?;
                job.serialize_field("bot", bot)?;
                job.serialize_field("update_id", update_id)?;
                job.serialize_field("chat_id", chat)?;
                job.serialize_field("user_id", user)?;
            }
            Origin::Signed {
                source,
                key,
                rate_key,
            } => {
                job.serialize_field("origin", &Tag::Signed)?;
                job.serialize_field("source", source)?;
                job.serialize_field("idempotency_key", key)?;
                job.serialize_field("rate_key", rate_key)?;
            }
        }
        job.serialize_field("kind", &self.kind)?;
        job.serialize_field("lane", &self.lane)?;
        job.serialize_field("received_at_ms", &self.received_at_ms)?;
        job.serialize_field("payload", &self.payload)?;
        job.serialize_field("attempt", &self.attempt)?;
        // Optional and absent unless traces are on; every release reads past unknown keys.
        match &self.traceparent {
            Some(tp) => job.serialize_field("traceparent", tp)?,
            None => job.skip_field("traceparent")?,
        }
        job.end()
    }
}

/// The `origin` field; absent means Telegram in format 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Tag {
    Telegram,
    Signed,
}

/// Every field either origin may carry, in any format still read. Decoded in one pass: an
/// untagged or internally tagged enum would be shorter, but serde buffers those, and a buffered
/// [`RawValue`] cannot be decoded, so the raw payload would be lost.
#[derive(Deserialize)]
struct Wire {
    /// Absent in format 1.
    v: Option<u32>,
    origin: Option<Tag>,
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
    traceparent: Option<String>,
}

impl<'de> Deserialize<'de> for Job {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let w = Wire::deserialize(d)?;
        let v = w.v.unwrap_or(1);
        if !(1..=FORMAT).contains(&v) {
            // A job from a newer release: refusing it beats guessing at fields this one lacks.
            return Err(D::Error::custom(format_args!(
                "job format {v} is not one this release reads (1 to {FORMAT})"
            )));
        }
        let tag = match (w.origin, v) {
            (Some(tag), _) => tag,
            (None, 1) => Tag::Telegram,
            (None, _) => return Err(D::Error::missing_field("origin")),
        };
        let origin = match tag {
            Tag::Telegram => Origin::Telegram {
                bot: w.bot.ok_or_else(|| D::Error::missing_field("bot"))?,
                update_id: w
                    .update_id
                    .ok_or_else(|| D::Error::missing_field("update_id"))?,
                chat: w.chat_id,
                user: w.user_id,
            },
            Tag::Signed => Origin::Signed {
                source: w.source.ok_or_else(|| D::Error::missing_field("source"))?,
                key: w
                    .idempotency_key
                    .ok_or_else(|| D::Error::missing_field("idempotency_key"))?,
                rate_key: w.rate_key,
            },
        };
        Ok(Job {
            origin,
            kind: w.kind,
            lane: w.lane,
            received_at_ms: w.received_at_ms,
            payload: w.payload,
            attempt: w.attempt,
            traceparent: w.traceparent,
        })
    }
}
