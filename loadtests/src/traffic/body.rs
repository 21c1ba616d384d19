//! The body of one update: the Bot API's exact JSON for each [`Kind`] (the kinds' own fields
//! are in `fields`).
//!
//! The random draws happen in a fixed order (message id, text, then the kind's own), so a seed
//! gives the same bodies.

mod fields;

use rand::Rng;
use rand_distr::Distribution;
use serde_json::{Map, Value, json};

use self::fields::*;
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
    /// The value of the update's field (`message`, `callback_query`...), sent at `date`.
    pub(super) fn body(
        &self,
        bot: usize,
        update_id: i64,
        chat: Chat,
        kind: Kind,
        date: i64,
        rng: &mut impl Rng,
    ) -> Value {
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
        match kind {
            Kind::Text => {
                m.insert("text".into(), json!(p.text));
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
            Kind::Reaction => return reaction(m, &p, rng),
        }
        message
    }

    /// A reply to one of the bot's own messages.
    fn reply(&self, m: &mut Map<String, Value>, p: &Parts, rng: &mut impl Rng) {
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
