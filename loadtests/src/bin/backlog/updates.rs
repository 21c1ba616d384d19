//! The updates `sluice-backlog` queues: the Bot API's shape, derived from the update_id alone.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::value::RawValue;
use sluice_shared::{
    job::{self, Job},
    lanes::Lane,
};

use crate::Args;

/// A pseudo-random number from `x` (splitmix64): repeatable, no state.
fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

const NAMES: &[&str] = &[
    "Ada", "Grace", "Linus", "Margaret", "Ken", "Zoë", "Łukasz", "José",
];
const TEXTS: &[&str] = &[
    "ok",
    "Thanks! 🙏",
    "see you tomorrow at 10?",
    "Can someone share the link to yesterday's slides, please?",
    "I pushed the fix, the build is green again. Let me know if the deploy looks fine.",
    "Привет! Напомни, пожалуйста, во сколько начинается встреча в четверг?",
    "Der Zug hat wieder 20 Minuten Verspätung, fangt bitte ohne mich an.",
];
const COMMANDS: &[&str] = &["/start", "/help", "/settings", "/stats"];

fn pick<'a>(list: &[&'a str], r: u64) -> &'a str {
    list[(r % list.len() as u64) as usize]
}

/// The update `update_id` of the lane's kinds, with its envelope fields.
pub(crate) fn envelope(args: &Args, update_id: i64) -> Job {
    let r = mix(update_id as u64);
    let from = origin(args.chats, r);
    let m = Message {
        update_id,
        r,
        mid: 1000 + update_id % 900_000,
        date: 1_764_000_000 + update_id % 86_400,
        text: pick(TEXTS, r >> 8),
    };
    let odd = (r >> 40) % 2 == 1;
    let (kind, body, chat_id, user_id) = match args.lane {
        Lane::High => high(&from, &m, odd),
        Lane::Normal => normal(&from, &m, odd),
        Lane::Low => low(&from, &m, odd),
    };
    let raw = format!(r#"{{"update_id":{update_id},"{kind}":{body}}}"#);
    Job {
        origin: job::Origin::Telegram {
            bot: args.bot.clone(),
            update_id,
            chat: chat_id,
            user: user_id,
        },
        kind: kind.to_owned(),
        lane: args.lane,
        received_at_ms: now_ms(),
        payload: RawValue::from_string(raw).expect("the body is valid JSON"),
        attempt: 0,
    }
}

/// Who wrote and where: one of 50 000 users, in chat number `c` of `chats` (60 % private).
struct Origin {
    c: u64,
    user_id: i64,
    user: String,
    chat_id: i64,
    chat: String,
}

fn origin(chats: u64, r: u64) -> Origin {
    let c = r % chats;
    let u = (r >> 20) % 50_000;
    let user_id = if u.is_multiple_of(2) {
        200_000_000 + u as i64 * 9973
    } else {
        5_000_000_000 + u as i64 * 7919
    };
    let user = format!(
        r#"{{"id":{user_id},"is_bot":false,"first_name":"{}","username":"user_{u}","language_code":"en"}}"#,
        pick(NAMES, u)
    );
    let private = c * 10 < chats * 6;
    let (chat_id, chat) = if private {
        (
            user_id,
            format!(
                r#"{{"id":{user_id},"first_name":"{}","type":"private"}}"#,
                pick(NAMES, u)
            ),
        )
    } else {
        let id = -1_001_000_000_000 - c as i64 * 131;
        (
            id,
            format!(r#"{{"id":{id},"title":"Group {c}","type":"supergroup"}}"#),
        )
    };
    Origin {
        c,
        user_id,
        user,
        chat_id,
        chat,
    }
}

/// The message fields every kind shares.
struct Message {
    update_id: i64,
    r: u64,
    mid: i64,
    date: i64,
    text: &'static str,
}

impl Message {
    fn json(&self, from: &Origin, extra: &str, text: &str) -> String {
        let (mid, user, chat, date) = (self.mid, &from.user, &from.chat, self.date);
        format!(
            r#"{{"message_id":{mid},"from":{user},"chat":{chat},"date":{date}{extra},"text":"{text}"}}"#
        )
    }
}

/// The update's kind, its body, chat id and user id.
type Body = (&'static str, String, Option<i64>, Option<i64>);

/// Bot commands and callback queries.
fn high(from: &Origin, m: &Message, odd: bool) -> Body {
    let (user, chat, mid, date) = (&from.user, &from.chat, m.mid, m.date);
    if odd {
        return (
            "callback_query",
            format!(
                r#"{{"id":"{}","from":{user},"message":{{"message_id":{mid},"chat":{chat},"date":{date},"text":"Pick one:"}},"chat_instance":"{}","data":"vote:yes:{mid}"}}"#,
                4_000_000_000_000_000 + m.update_id,
                m.r >> 3
            ),
            Some(from.chat_id),
            Some(from.user_id),
        );
    }
    let cmd = pick(COMMANDS, m.r >> 12);
    let entities = format!(
        r#","entities":[{{"offset":0,"length":{},"type":"bot_command"}}]"#,
        cmd.len()
    );
    (
        "message",
        m.json(from, &entities, &format!("{cmd} {}", m.text)),
        Some(from.chat_id),
        Some(from.user_id),
    )
}

/// Messages and edits.
fn normal(from: &Origin, m: &Message, odd: bool) -> Body {
    let (kind, extra) = if odd {
        ("edited_message", format!(r#","edit_date":{}"#, m.date + 42))
    } else {
        ("message", String::new())
    };
    (
        kind,
        m.json(from, &extra, m.text),
        Some(from.chat_id),
        Some(from.user_id),
    )
}

/// Channel posts and reactions.
fn low(from: &Origin, m: &Message, odd: bool) -> Body {
    let (mid, date, text) = (m.mid, m.date, m.text);
    if odd {
        let (user, chat) = (&from.user, &from.chat);
        return (
            "message_reaction",
            format!(
                r#"{{"chat":{chat},"message_id":{mid},"user":{user},"date":{date},"old_reaction":[],"new_reaction":[{{"type":"emoji","emoji":"👍"}}]}}"#
            ),
            Some(from.chat_id),
            Some(from.user_id),
        );
    }
    let c = from.c;
    let id = -1_001_000_000_000 - c as i64 * 131;
    let channel = format!(r#"{{"id":{id},"title":"Channel {c}","type":"channel"}}"#);
    (
        "channel_post",
        format!(
            r#"{{"message_id":{mid},"sender_chat":{channel},"chat":{channel},"date":{date},"text":"{text}"}}"#
        ),
        Some(id),
        None,
    )
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
