//! The body of one update: the Bot API's exact JSON for each [`Kind`].
//!
//! The random draws happen in a fixed order (message id, text, then the kind's own), so a seed
//! gives the same bodies.

use rand::Rng;
use rand_distr::Distribution;
use serde_json::{Map, Value, json};

use super::people::chat_and_sender;
use super::{Chat, Kind, Population, mix};

/// What every kind's body is built from.
struct Parts<'a> {
    update_id: i64,
    date: i64,
    message_id: i32,
    bot_user: &'a Value,
    text: String,
}

impl Population {
    pub(super) fn body(
        &self,
        bot: usize,
        update_id: i64,
        chat: Chat,
        kind: Kind,
        rng: &mut impl Rng,
    ) -> Value {
        let date = now_secs();
        let message_id = rng.random_range(1..2_000_000);
        let bot_user = self.bot_user(bot);
        let (chat_json, from) = chat_and_sender(chat);
        let p = Parts {
            update_id,
            date,
            message_id,
            bot_user: &bot_user,
            text: self.text(rng),
        };
        let mut message = json!({
            "message_id": message_id,
            "from": from,
            "chat": chat_json,
            "date": date,
        });
        let m = message.as_object_mut().expect("object");
        let field = match kind {
            Kind::Text => {
                m.insert("text".into(), json!(p.text));
                "message"
            }
            Kind::Mention => mention(m, &p),
            Kind::Command => command(m, &p, chat, rng),
            Kind::Reply => self.reply(m, &p, rng),
            Kind::Photo => photo(m, &p, rng),
            Kind::Sticker => sticker(m, rng),
            Kind::Edited => edited(m, &p, rng),
            Kind::ChannelPost => channel_post(m, &p),
            Kind::Callback => return callback_query(m, &p, rng),
            Kind::MemberChange => return member_change(m, &p, rng),
        };
        json!({ "update_id": update_id, field: message })
    }

    /// A reply to one of the bot's own messages.
    fn reply(&self, m: &mut Map<String, Value>, p: &Parts, rng: &mut impl Rng) -> &'static str {
        m.insert("text".into(), json!(p.text));
        m.insert(
            "reply_to_message".into(),
            json!({
                "message_id": p.message_id - 1,
                "from": p.bot_user,
                "chat": m["chat"].clone(),
                "date": p.date - rng.random_range(1..3600),
                "text": self.text(rng),
            }),
        );
        "message"
    }

    fn bot_user(&self, bot: usize) -> Value {
        let name = &self.bots[bot].name;
        json!({
            "id": 5_000_000_000i64 + (mix(name.len() as u64 ^ bot as u64) % 1_000_000_000) as i64,
            "is_bot": true,
            "first_name": name,
            "username": format!("{}_bot", name.replace('-', "_")),
        })
    }

    fn text(&self, rng: &mut impl Rng) -> String {
        const WORDS: [&str; 24] = [
            "hello",
            "the",
            "order",
            "when",
            "will",
            "my",
            "package",
            "arrive",
            "thanks",
            "please",
            "help",
            "price",
            "привет",
            "спасибо",
            "ok",
            "today",
            "tomorrow",
            "is",
            "it",
            "possible",
            "🙂",
            "to",
            "change",
            "address",
        ];
        let target = (self.text_len.sample(rng) as usize).clamp(1, 3000);
        let mut text = String::with_capacity(target + 16);
        while text.len() < target {
            if !text.is_empty() {
                text.push(' ');
            }
            text.push_str(WORDS[rng.random_range(0..WORDS.len())]);
        }
        text
    }
}

fn bot_username(p: &Parts) -> String {
    p.bot_user["username"].as_str().unwrap_or("bot").to_owned()
}

/// A text message that @-mentions the bot.
fn mention(m: &mut Map<String, Value>, p: &Parts) -> &'static str {
    let mention = format!("@{}", bot_username(p));
    let len = utf16_len(&mention);
    m.insert("text".into(), json!(format!("{mention} {}", p.text)));
    m.insert(
        "entities".into(),
        json!([{"offset": 0, "length": len, "type": "mention"}]),
    );
    "message"
}

fn command(m: &mut Map<String, Value>, p: &Parts, chat: Chat, rng: &mut impl Rng) -> &'static str {
    const COMMANDS: [&str; 6] = [
        "/start",
        "/help",
        "/settings",
        "/stats",
        "/subscribe",
        "/cancel",
    ];
    let cmd = COMMANDS[rng.random_range(0..COMMANDS.len())];
    let cmd = match chat {
        Chat::Group { .. } => format!("{cmd}@{}", bot_username(p)),
        _ => cmd.to_owned(),
    };
    let len = utf16_len(&cmd);
    let arg: String = p.text.split(' ').take(2).collect::<Vec<_>>().join("_");
    m.insert("text".into(), json!(format!("{cmd} {arg}")));
    m.insert(
        "entities".into(),
        json!([{"offset": 0, "length": len, "type": "bot_command"}]),
    );
    "message"
}

fn photo(m: &mut Map<String, Value>, p: &Parts, rng: &mut impl Rng) -> &'static str {
    let sizes: Vec<Value> = [(90, 67), (320, 240), (800, 600), (1280, 960)]
        .iter()
        .map(|(w, h)| {
            json!({
                "file_id": file_id(rng, 83),
                "file_unique_id": file_id(rng, 16),
                "file_size": w * h / 6,
                "width": w,
                "height": h,
            })
        })
        .collect();
    m.insert("photo".into(), json!(sizes));
    if rng.random_bool(0.4) {
        m.insert("caption".into(), json!(p.text));
    }
    "message"
}

fn sticker(m: &mut Map<String, Value>, rng: &mut impl Rng) -> &'static str {
    m.insert(
        "sticker".into(),
        json!({
            "file_id": file_id(rng, 71),
            "file_unique_id": file_id(rng, 16),
            "type": "regular",
            "width": 512, "height": 512,
            "is_animated": false, "is_video": true,
            "emoji": "\u{1F44D}",
            "set_name": "HotCherry",
            "thumbnail": {"file_id": file_id(rng, 71), "file_unique_id": file_id(rng, 16), "file_size": 5416, "width": 128, "height": 128},
            "file_size": 31_337,
        }),
    );
    "message"
}

fn edited(m: &mut Map<String, Value>, p: &Parts, rng: &mut impl Rng) -> &'static str {
    m.insert("text".into(), json!(p.text));
    m.insert("edit_date".into(), json!(p.date));
    m.insert("date".into(), json!(p.date - rng.random_range(5..600)));
    "edited_message"
}

fn channel_post(m: &mut Map<String, Value>, p: &Parts) -> &'static str {
    m.remove("from");
    m.insert("sender_chat".into(), m["chat"].clone());
    m.insert("text".into(), json!(p.text));
    "channel_post"
}

/// A press on one of the bot's inline buttons: a whole update of its own.
fn callback_query(m: &Map<String, Value>, p: &Parts, rng: &mut impl Rng) -> Value {
    let chat_instance = (mix(p.message_id as u64) as i64).to_string();
    json!({
        "update_id": p.update_id,
        "callback_query": {
            "id": (mix(p.update_id as u64) >> 1).to_string(),
            "from": m["from"].clone(),
            "message": {
                "message_id": p.message_id,
                "from": p.bot_user,
                "chat": m["chat"].clone(),
                "date": p.date - rng.random_range(1..86_400),
                "text": p.text,
                "reply_markup": {"inline_keyboard": [[
                    {"text": "Yes", "callback_data": "vote:yes"},
                    {"text": "No", "callback_data": "vote:no"}
                ]]},
            },
            "chat_instance": chat_instance,
            "data": if rng.random_bool(0.5) { "vote:yes" } else { "vote:no" },
        }
    })
}

/// The bot added to or removed from a chat: a whole update of its own.
fn member_change(m: &Map<String, Value>, p: &Parts, rng: &mut impl Rng) -> Value {
    let (old, new) = if rng.random_bool(0.5) {
        ("member", "kicked")
    } else {
        ("left", "member")
    };
    json!({
        "update_id": p.update_id,
        "my_chat_member": {
            "chat": m["chat"].clone(),
            "from": m["from"].clone(),
            "date": p.date,
            "old_chat_member": {"user": p.bot_user, "status": old},
            "new_chat_member": {"user": p.bot_user, "status": new, "until_date": 0},
        }
    })
}

fn file_id(rng: &mut impl Rng, len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    (0..len)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

fn utf16_len(s: &str) -> usize {
    s.encode_utf16().count()
}

fn now_secs() -> i64 {
    chrono::Utc::now().timestamp()
}
