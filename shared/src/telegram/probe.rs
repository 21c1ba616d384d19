//! Where each kind keeps its chat and user, read by probes that name the few fields needed
//! while the parser skips the rest. Every probe is lenient: an id of the wrong type (`1e20`, a
//! string) is [`Ref::Bad`], never an error that would lose the other fields with it.

use std::fmt;

use serde::{
    Deserialize, Deserializer,
    de::{self, IgnoredAny, MapAccess, SeqAccess, Visitor},
};
use serde_json::value::RawValue;

/// An id as found in the update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ref {
    Id(i64),
    /// Present, but not a 64-bit integer (or, for a Chat or User, not an object with an `id`).
    Bad,
}

impl Ref {
    pub fn id(self) -> Option<i64> {
        match self {
            Ref::Id(id) => Some(id),
            Ref::Bad => None,
        }
    }
}

#[derive(Debug, Default)]
pub struct Found {
    pub chat: Option<Ref>,
    pub user: Option<Ref>,
    pub is_command: bool,
    /// Telegram always names a chat for this kind, so a missing one is worth counting.
    pub expects_chat: bool,
}

/// Where each kind of Bot API 9.x keeps its chat and user; `None` for a kind it does not know.
pub fn locate(kind: &str, value: &RawValue) -> Option<Found> {
    let (chat, user, is_command, expects_chat) = match kind {
        "message"
        | "edited_message"
        | "channel_post"
        | "edited_channel_post"
        | "business_message"
        | "edited_business_message" => {
            let p: MessageProbe = probe(value);
            (r(p.chat), r(p.from), p.text.is_some_and(|t| t.0), true)
        }
        "my_chat_member" | "chat_member" | "chat_join_request" => {
            let p: ChatAndFrom = probe(value);
            (r(p.chat), r(p.from), false, true)
        }
        "inline_query"
        | "chosen_inline_result"
        | "shipping_query"
        | "pre_checkout_query"
        | "purchased_paid_media" => (None, r(probe::<ChatAndFrom>(value).from), false, false),
        "deleted_business_messages" | "message_reaction_count" => {
            (r(probe::<ChatAndFrom>(value).chat), None, false, true)
        }
        "message_reaction" => {
            let p: WithUser = probe(value);
            (r(p.chat), r(p.user), false, true)
        }
        "business_connection" => {
            let p: WithUser = probe(value);
            (p.user_chat_id.map(|n| n.0), r(p.user), false, true)
        }
        "poll_answer" => {
            let p: WithUser = probe(value);
            (r(p.voter_chat), r(p.user), false, false)
        }
        "callback_query" => {
            let p: CallbackQuery = probe(value);
            (p.message.and_then(|m| r(m.chat)), r(p.from), false, false)
        }
        "chat_boost" | "removed_chat_boost" => {
            let p: Boosts = probe(value);
            // An added boost nests its source in `boost`; a removed one carries it at the top.
            let source = p.source.or(p.boost.and_then(|b| b.source));
            (r(p.chat), source.and_then(|s| r(s.user)), false, true)
        }
        "poll" => (None, None, false, false),
        _ => return None,
    };
    Some(Found {
        chat,
        user,
        is_command,
        expects_chat,
    })
}

/// A kind sluice does not know (a newer Bot API's): `chat.id`, and `from.id` or `user.id`, the
/// names every known kind uses for a Chat and a User.
pub fn generic(value: &RawValue) -> Found {
    let p: Generic = probe(value);
    Found {
        chat: r(p.chat),
        user: r(p.from).or(r(p.user)),
        ..Found::default()
    }
}

/// A value of an unexpected shape (not an object, a repeated field) yields no ids: ingress
/// forwards what Telegram sends, and the caller counts the update as one without a chat.
fn probe<'a, T: Deserialize<'a> + Default>(value: &'a RawValue) -> T {
    serde_json::from_str(value.get()).unwrap_or_default()
}

fn r(object: Option<Obj>) -> Option<Ref> {
    object.map(|o| o.0)
}

#[derive(Deserialize, Default)]
struct Generic {
    chat: Option<Obj>,
    from: Option<Obj>,
    user: Option<Obj>,
}

#[derive(Deserialize, Default)]
struct MessageProbe {
    chat: Option<Obj>,
    from: Option<Obj>,
    text: Option<CommandText>,
}

/// `chat` and `from` are a Chat and a User in every kind that has them.
#[derive(Deserialize, Default)]
struct ChatAndFrom {
    chat: Option<Obj>,
    from: Option<Obj>,
}

#[derive(Deserialize, Default)]
struct WithUser {
    chat: Option<Obj>,
    voter_chat: Option<Obj>,
    user_chat_id: Option<Num>,
    user: Option<Obj>,
}

#[derive(Deserialize, Default)]
struct CallbackQuery {
    from: Option<Obj>,
    /// Also present, with its chat, when the message is inaccessible (`date` 0).
    message: Option<ChatAndFrom>,
}

#[derive(Deserialize, Default)]
struct Boosts {
    chat: Option<Obj>,
    boost: Option<Boost>,
    source: Option<BoostSource>,
}

#[derive(Deserialize)]
struct Boost {
    source: Option<BoostSource>,
}

/// Premium and gift-code boosts always name a user; a giveaway boost only when it was claimed.
#[derive(Deserialize)]
struct BoostSource {
    user: Option<Obj>,
}

/// A Chat or User object, read for its `id`; any other value is [`Ref::Bad`].
struct Obj(Ref);

/// A bare id (`business_connection.user_chat_id`).
struct Num(Ref);

impl<'de> Deserialize<'de> for Obj {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_any(Lenient(Shape::Object))
            .map(Obj)
    }
}

impl<'de> Deserialize<'de> for Num {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_any(Lenient(Shape::Number))
            .map(Num)
    }
}

#[derive(Clone, Copy)]
enum Shape {
    Object,
    Number,
}

/// Takes any JSON value and makes a [`Ref`] of it: an integer id, or an object's `id` field.
/// Values of other shapes are consumed (the parser must move past them) and are `Bad`.
struct Lenient(Shape);

impl<'de> Visitor<'de> for Lenient {
    type Value = Ref;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an id or an object with an id")
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Ref, E> {
        Ok(match self.0 {
            Shape::Number => Ref::Id(v),
            Shape::Object => Ref::Bad,
        })
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Ref, E> {
        match i64::try_from(v) {
            Ok(v) => self.visit_i64(v),
            Err(_) => Ok(Ref::Bad),
        }
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Ref, E> {
        Ok(Ref::Bad)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Ref, E> {
        Ok(Ref::Bad)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Ref, E> {
        Ok(Ref::Bad)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Ref, E> {
        Ok(Ref::Bad)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Ref, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Ref::Bad)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Ref, A::Error> {
        let mut id = None;
        while let Some(key) = map.next_key::<super::Key<'de>>()? {
            match self.0 {
                Shape::Object if key.0 == "id" && id.is_none() => {
                    id = Some(map.next_value::<Num>()?.0);
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(id.unwrap_or(Ref::Bad))
    }
}

/// Whether a message text starts with a bot command, decided inside the parser: Telegram escapes
/// every non-ASCII character, so borrowing the text as a `Cow` would allocate for most of them.
/// A text that is no string is no command.
struct CommandText(bool);

impl<'de> Deserialize<'de> for CommandText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct StartsWithCommand;
        impl<'de> Visitor<'de> for StartsWithCommand {
            type Value = CommandText;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a message text")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<CommandText, E> {
                let command = matches!(text.as_bytes(), [b'/', c, ..] if c.is_ascii_alphabetic());
                Ok(CommandText(command))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<CommandText, E> {
                Ok(CommandText(false))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<CommandText, E> {
                Ok(CommandText(false))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<CommandText, E> {
                Ok(CommandText(false))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<CommandText, E> {
                Ok(CommandText(false))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<CommandText, A::Error> {
                Lenient(Shape::Number)
                    .visit_seq(seq)
                    .map(|_| CommandText(false))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<CommandText, A::Error> {
                Lenient(Shape::Number)
                    .visit_map(map)
                    .map(|_| CommandText(false))
            }
        }
        deserializer.deserialize_any(StartsWithCommand)
    }
}
