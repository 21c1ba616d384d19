//! Per-key ordering (issue 15): the settings, the key an update is ordered by, and where a key's
//! state lives in Redis. The enqueue script gives each job of a key the next sequence number
//! (`push.lua`); the worker's scripts (`sluice_worker::order`) start sequence n only once n-1
//! finished, park the jobs that arrive early and wake them in turn.
//!
//! Redis keys, under `<prefix>:order`:
//! - `:k:<key>` a hash per key with work: `next` (last sequence given out), `done` (last
//!   finished), `held`/`since` (the sequence holding the key and when its first attempt
//!   started), `p:<seq>` (a parked job: `<lane>\n<job bytes>`). Deleted when the key goes idle
//!   (`done == next`), and it expires after `SLUICE_DEDUP_TTL` of silence as a safety net.
//! - `:holds` a sorted set of held keys by hold start (ms): the held-keys gauges.
//! - `:parked` the number of parked jobs.

use std::time::Duration;

use serde::Deserialize;

use crate::{
    config::duration_between,
    job::{Job, Origin},
};

/// What updates are ordered by (`SLUICE_ORDERING`).
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Ordering {
    /// One chat's updates one at a time (without a chat: the user; a poll: its id).
    #[default]
    Chat,
    /// Telegram's own delivery queues: messages by chat, queries by user, polls by id.
    Telegram,
    /// No ordering: jobs run as soon as a worker has room.
    Off,
}

/// The ordering settings; the api uses the mode, the worker both.
#[derive(clap::Args, Debug, Clone)]
pub struct OrderConfig {
    /// What updates are processed one at a time by: `chat` (a chat's updates, else the user's),
    /// `telegram` (Telegram's delivery queues: a button press is not held behind its chat's
    /// messages) or `off`.
    #[arg(
        long = "ordering",
        env = "SLUICE_ORDERING",
        value_name = "SLUICE_ORDERING",
        value_enum,
        default_value = "chat"
    )]
    pub ordering: Ordering,

    /// The longest one failing update may hold its key (its retries included) before it goes
    /// to the dead letters and the key's next update runs.
    #[arg(long = "order-max-hold", env = "SLUICE_ORDER_MAX_HOLD", value_name = "SLUICE_ORDER_MAX_HOLD",
          default_value = "60s",
          value_parser = duration_between(Duration::from_secs(1), Duration::from_secs(24 * 3600)))]
    pub max_hold: Duration,
}

impl Default for OrderConfig {
    fn default() -> Self {
        OrderConfig {
            ordering: Ordering::Chat,
            max_hold: Duration::from_secs(60),
        }
    }
}

/// How a pushed job takes part in its key's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order<'a> {
    /// A new delivery (or a replayed dead letter): the key's next sequence, after all its work.
    Assign(&'a str),
    /// The same job again (a retry, a released job, a woken one): its sequence is kept.
    Keep(&'a str, u64),
}

/// A job's place in its key's order, as the enqueue script recorded it in the job's meta hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderTag {
    pub key: String,
    pub seq: u64,
}

/// Meta hash fields of an ordered job (besides apalis-redis's own).
pub const META_KEY: &str = "order_key";
pub const META_SEQ: &str = "order_seq";

impl OrderTag {
    /// The tag in an apalis task's meta fields, if the job is ordered.
    pub fn from_meta(get: impl Fn(&str) -> Option<String>) -> Option<OrderTag> {
        let key = get(META_KEY).filter(|k| !k.is_empty())?;
        let seq = get(META_SEQ)?.parse().ok().filter(|s| *s > 0)?;
        Some(OrderTag { key, seq })
    }

    pub fn keep(&self) -> Order<'_> {
        Order::Keep(&self.key, self.seq)
    }
}

/// `<prefix>:order`, under which every key's state lives (see the module doc).
pub fn order_namespace(prefix: &str) -> String {
    format!("{prefix}:order")
}

/// The kinds Telegram queues by the user, not the chat (FIELD-NOTES, "How Telegram delivers").
const BY_USER: &[&str] = &[
    "callback_query",
    "inline_query",
    "chosen_inline_result",
    "shipping_query",
    "pre_checkout_query",
    "chat_member",
    "chat_join_request",
    "poll_answer",
];

/// A poll id longer than this is not used as a key (it comes from outside; Telegram's are short).
const MAX_POLL_ID: usize = 128;

/// The key `job` is ordered by under `mode`, or `None`: unordered. A bot's keys never meet
/// another bot's; a signed event orders by its rate key when its source has one.
pub fn key_of(mode: Ordering, job: &Job) -> Option<String> {
    match (&job.origin, mode) {
        (_, Ordering::Off) => None,
        (
            Origin::Signed {
                source, rate_key, ..
            },
            _,
        ) => rate_key.as_ref().map(|r| format!("src:{source}:{r}")),
        (
            Origin::Telegram {
                bot, chat, user, ..
            },
            mode,
        ) => {
            let by_user = mode == Ordering::Telegram && BY_USER.contains(&job.kind.as_str());
            match (by_user, chat, user) {
                (false, Some(chat), _) => Some(format!("tg:{bot}:c:{chat}")),
                (_, _, Some(user)) => Some(format!("tg:{bot}:u:{user}")),
                _ if job.kind == "poll" => poll_id(job).map(|id| format!("tg:{bot}:p:{id}")),
                _ => None,
            }
        }
    }
}

/// A `poll` update's `poll.id`, read from the raw payload (rare: only polls have no chat or user).
fn poll_id(job: &Job) -> Option<String> {
    #[derive(Deserialize)]
    struct Update {
        poll: Poll,
    }
    #[derive(Deserialize)]
    struct Poll {
        id: String,
    }
    let update: Update = serde_json::from_str(job.payload.get()).ok()?;
    Some(update.poll.id).filter(|id| !id.is_empty() && id.len() <= MAX_POLL_ID)
}

#[cfg(test)]
mod tests {
    use serde_json::value::RawValue;

    use super::*;
    use crate::lanes::Lane;

    fn tg(kind: &str, chat: Option<i64>, user: Option<i64>, payload: &str) -> Job {
        Job {
            origin: Origin::Telegram {
                bot: "b".into(),
                update_id: 1,
                chat,
                user,
            },
            kind: kind.into(),
            lane: Lane::Normal,
            received_at_ms: 0,
            payload: RawValue::from_string(payload.into()).unwrap(),
            attempt: 0,
        }
    }

    #[test]
    fn chat_mode_orders_by_chat_then_user_then_poll() {
        let key = |j: &Job| key_of(Ordering::Chat, j);
        assert_eq!(
            key(&tg("message", Some(-5), Some(7), "{}")).unwrap(),
            "tg:b:c:-5"
        );
        assert_eq!(
            key(&tg("callback_query", Some(-5), Some(7), "{}")).unwrap(),
            "tg:b:c:-5"
        );
        assert_eq!(
            key(&tg("inline_query", None, Some(7), "{}")).unwrap(),
            "tg:b:u:7"
        );
        let poll = tg(
            "poll",
            None,
            None,
            r#"{"update_id":1,"poll":{"id":"P1","x":[1]}}"#,
        );
        assert_eq!(key(&poll).unwrap(), "tg:b:p:P1");
        assert_eq!(key(&tg("poll", None, None, r#"{"poll":{"id":""}}"#)), None);
        assert_eq!(key(&tg("weird", None, None, "{}")), None);
    }

    #[test]
    fn telegram_mode_orders_queries_by_user() {
        let key = |j: &Job| key_of(Ordering::Telegram, j);
        assert_eq!(
            key(&tg("message", Some(-5), Some(7), "{}")).unwrap(),
            "tg:b:c:-5"
        );
        assert_eq!(
            key(&tg("callback_query", Some(-5), Some(7), "{}")).unwrap(),
            "tg:b:u:7"
        );
        assert_eq!(
            key(&tg("chat_join_request", Some(-5), Some(7), "{}")).unwrap(),
            "tg:b:u:7"
        );
    }

    #[test]
    fn off_orders_nothing_and_signed_events_order_by_rate_key() {
        assert_eq!(
            key_of(Ordering::Off, &tg("message", Some(1), None, "{}")),
            None
        );
        let mut job = tg("event", None, None, "{}");
        job.origin = Origin::Signed {
            source: "s".into(),
            key: "k".into(),
            rate_key: Some("acct_1".into()),
        };
        assert_eq!(key_of(Ordering::Chat, &job).unwrap(), "src:s:acct_1");
        job.origin = Origin::Signed {
            source: "s".into(),
            key: "k".into(),
            rate_key: None,
        };
        assert_eq!(key_of(Ordering::Chat, &job), None);
    }

    #[test]
    fn a_tag_needs_a_key_and_a_positive_sequence() {
        let meta = |k: &'static str, s: &'static str| {
            move |f: &str| match f {
                META_KEY => Some(k.to_owned()),
                META_SEQ => Some(s.to_owned()),
                _ => None,
            }
        };
        assert_eq!(
            OrderTag::from_meta(meta("tg:b:c:1", "3")),
            Some(OrderTag {
                key: "tg:b:c:1".into(),
                seq: 3
            })
        );
        assert_eq!(OrderTag::from_meta(meta("", "3")), None);
        assert_eq!(OrderTag::from_meta(meta("k", "0")), None);
        assert_eq!(OrderTag::from_meta(|_| None), None);
    }
}
