//! What an update is processed in order with: [`Ordering`] (`SLUICE_ORDERING`) and [`key_of`].
//! Where the order is kept and enforced: `crate::queue::order`.

use serde::Deserialize;

use super::{Job, Origin};

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

/// Whether Telegram queues an update of `kind` by its sender rather than by its chat.
pub fn queued_by_user(kind: &str) -> bool {
    BY_USER.contains(&kind)
}

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
            let by_user = mode == Ordering::Telegram && queued_by_user(&job.kind);
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
            traceparent: None,
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
}
