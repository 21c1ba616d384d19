//! What a lane's queue holds: one [`Job`] envelope for every delivery, with an [`Origin`] that
//! says what kind of sender it came from and what each kind may rely on.
//!
//! The JSON a job is queued as, and the older formats still read, are in `job/wire.rs`.

pub mod order;
mod wire;

use std::fmt;

use serde::Serialize;
use serde_json::value::RawValue;

use crate::lanes::Lane;

pub use wire::FORMAT;

/// One queued delivery, as the api queues it and a worker receives it.
///
/// `payload` is the request body exactly as received (a [`RawValue`] is copied verbatim into the
/// job's JSON), so nothing is lost by re-serialization between the socket and Postgres.
#[derive(Debug, Clone)]
pub struct Job {
    /// Who sent it, and the keys that identify it.
    pub origin: Origin,
    /// A Telegram update's kind ("message", "callback_query", ...), or a signed event's type
    /// from its source's kind header or pointer (else `event`).
    pub kind: String,
    pub lane: Lane,
    /// When ingress accepted the request, in Unix milliseconds (queue wait is measured from it).
    pub received_at_ms: i64,
    /// The request body exactly as received (and, for a signed event, verified).
    pub payload: Box<RawValue>,
    /// Failed attempts so far (0 for a fresh delivery); our retry policy counts on it.
    pub attempt: u32,
    /// The W3C `traceparent` of the api's request, when traces are on: the worker's spans
    /// continue that trace. Left out of the JSON when absent.
    pub traceparent: Option<String>,
}

/// Where a job came from. Each kind of sender has its own keys: a signed event has no
/// `update_id`, a Telegram update no source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A Telegram update, posted to `/webhook/telegram/{bot}` with the bot's secret token.
    Telegram {
        /// The bot's registered name (the `{bot}` of the webhook URL).
        bot: String,
        /// Telegram's `update_id`: with `bot`, the deduplication key.
        update_id: i64,
        /// The update's chat, if it has one (the per-chat rate limit's key).
        chat: Option<i64>,
        /// The update's sender, if it has one (the key when there is no chat).
        user: Option<i64>,
    },
    /// A provider event, posted to `/webhook/hooks/{source}` and verified by its signature.
    Signed {
        /// The source's registered name (the `{source}` of the webhook URL).
        source: String,
        /// The provider's key for this event (header, JSON pointer, or `sha256:` of the body):
        /// with `source`, the deduplication key in Redis and the unique key in Postgres.
        key: String,
        /// The admission-control bucket from the source's rate-key pointer, if it has one.
        rate_key: Option<String>,
    },
}

impl Job {
    /// The same job, as attempt `n`.
    pub fn with_attempt(&self, n: u32) -> Job {
        Job {
            attempt: n,
            ..self.clone()
        }
    }

    /// Who and what, for logs and the dead-letter listing: `bot/update_id` or `source/key`.
    pub fn describe(&self) -> String {
        self.origin.to_string()
    }
}

impl Origin {
    /// The Redis deduplication key: `tg:<bot>:<update_id>` or `src:<source>:<key>`.
    pub fn dedup_key(&self) -> String {
        match self {
            Origin::Telegram { bot, update_id, .. } => telegram_key(bot, *update_id),
            Origin::Signed { source, key, .. } => signed_key(source, key),
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Telegram { bot, update_id, .. } => write!(f, "{bot}/{update_id}"),
            Origin::Signed { source, key, .. } => write!(f, "{source}/{key}"),
        }
    }
}

/// `tg:<bot>:<update_id>`: Telegram re-sends the same (bot, update_id).
pub fn telegram_key(bot: &str, update_id: i64) -> String {
    format!("tg:{bot}:{update_id}")
}

/// `src:<source>:<key>`: namespaced per source, and never equal to a Telegram `tg:` key.
pub fn signed_key(source: &str, key: &str) -> String {
    format!("src:{source}:{key}")
}

/// What the api's enqueue needs from a job: its lane, its deduplication key, its ordering key
/// and its JSON.
pub trait Queued: Serialize {
    fn lane(&self) -> Lane;
    fn dedup_key(&self) -> String;
    /// The key it is processed in order with ([`order`]); `None`: unordered.
    fn order_key(&self, _mode: order::Ordering) -> Option<String> {
        None
    }
}

impl Queued for Job {
    fn lane(&self) -> Lane {
        self.lane
    }
    fn dedup_key(&self) -> String {
        self.origin.dedup_key()
    }
    fn order_key(&self, mode: order::Ordering) -> Option<String> {
        order::key_of(mode, self)
    }
}

#[cfg(test)]
mod tests;
