//! What a Telegram update is: its kind and where it keeps its chat and user.
//!
//! This runs on every request, so the body is never built into a `serde_json::Value`: the top
//! level is read as borrowed raw values, and only the update's own kind is deserialized, into
//! probes that name the few fields needed while the parser skips the rest ([`probe`]).

mod probe;

use std::{borrow::Cow, fmt};

use serde::{
    Deserialize, Deserializer,
    de::{IgnoredAny, MapAccess, Visitor},
};
use serde_json::value::RawValue;

use self::probe::{Found, Ref, generic, locate};

/// What ingress needs to know about one update, read from the raw body without re-serializing it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classified {
    pub update_id: i64,
    /// The one key besides `update_id` ("message", "callback_query", ...). For an update with an
    /// unknown kind, that key's name; if the object has no key besides update_id, "unknown".
    pub kind: String,
    pub chat_id: Option<i64>,
    pub user_id: Option<i64>,
    /// A message (message/edited_message/channel_post/business_message...) whose text starts with a bot command ("/start", "/help@MyBot arg").
    pub is_command: bool,
    /// Set when the per-chat limit cannot key this update by its chat (it falls back to the
    /// user, or to nothing), so that the fallback is counted rather than silent.
    pub fallback: Option<Fallback>,
}

/// Why an update has no chat id to be rate-limited by. A fixed set: it is a metric label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fallback {
    /// A kind sluice does not know, with no `chat` at all under it.
    UnknownKind,
    /// A `chat` whose id is not a 64-bit integer (`1e20`, a string), or that is no object.
    BadChatId,
    /// A known kind that always names its chat arrived without one.
    NoChat,
}

impl Fallback {
    pub fn as_str(self) -> &'static str {
        match self {
            Fallback::UnknownKind => "unknown_kind",
            Fallback::BadChatId => "bad_chat_id",
            Fallback::NoChat => "no_chat",
        }
    }

    fn of(found: &Found, known_kind: bool) -> Option<Fallback> {
        match found.chat {
            Some(Ref::Id(_)) => None,
            Some(Ref::Bad) => Some(Fallback::BadChatId),
            None if !known_kind => Some(Fallback::UnknownKind),
            None if found.expects_chat => Some(Fallback::NoChat),
            None => None,
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ClassifyError {
    #[error("body is not valid JSON: {0}")]
    InvalidJson(String),
    #[error("body is not a JSON object")]
    NotObject,
    #[error("update_id is missing")]
    MissingUpdateId,
    #[error("update_id is not a 64-bit integer")]
    BadUpdateId,
}

/// Fails only for a body that is no update at all: a kind or shape this module does not know is
/// still classified, so that what a newer Bot API sends passes through. A body it accepts is valid
/// JSON throughout, hence UTF-8, which callers may rely on to keep it as a string.
pub fn classify(body: &[u8]) -> Result<Classified, ClassifyError> {
    let top = read_top(body)?;
    let update_id = top.update_id.ok_or(ClassifyError::MissingUpdateId)?;
    let update_id =
        serde_json::from_str::<i64>(update_id.get()).map_err(|_| ClassifyError::BadUpdateId)?;
    let known = top.known.is_some();
    let (kind, found) = match (top.known, top.other) {
        (Some(known), _) => known,
        (None, Some((kind, value))) => (kind, generic(value)),
        (None, None) => (Cow::Borrowed("unknown"), Found::default()),
    };
    Ok(Classified {
        update_id,
        kind: kind.into_owned(),
        chat_id: found.chat.and_then(Ref::id),
        user_id: found.user.and_then(Ref::id),
        is_command: found.is_command,
        fallback: Fallback::of(&found, known),
    })
}

/// The top level of an update, with every value left unparsed.
#[derive(Default)]
struct Top<'a> {
    update_id: Option<&'a RawValue>,
    known: Option<(Cow<'a, str>, Found)>,
    other: Option<(Cow<'a, str>, &'a RawValue)>,
}

/// A key is borrowed unless it contains escapes, which are legal JSON even if Telegram never
/// sends them; `&str` would reject such a body outright.
#[derive(Deserialize)]
struct Key<'a>(#[serde(borrow)] Cow<'a, str>);

impl<'de> Deserialize<'de> for Top<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TopVisitor;
        impl<'de> Visitor<'de> for TopVisitor {
            type Value = Top<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a Telegram update object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Top<'de>, A::Error> {
                let mut top = Top::default();
                while let Some(Key(key)) = map.next_key()? {
                    let value: &'de RawValue = map.next_value()?;
                    // Telegram never repeats a key; should one repeat, the first occurrence
                    // wins here and jsonb::check refuses the body.
                    if key == "update_id" {
                        top.update_id.get_or_insert(value);
                    } else if top.known.is_none() {
                        match locate(&key, value) {
                            Some(found) => top.known = Some((key, found)),
                            None if top.other.is_none() => top.other = Some((key, value)),
                            None => {}
                        }
                    }
                }
                Ok(top)
            }
        }
        deserializer.deserialize_map(TopVisitor)
    }
}

fn read_top(body: &[u8]) -> Result<Top<'_>, ClassifyError> {
    let invalid = |e: serde_json::Error| ClassifyError::InvalidJson(e.to_string());
    let first = body
        .iter()
        .find(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'));
    if first == Some(&b'{') {
        return serde_json::from_slice(body).map_err(invalid);
    }
    // Only on this error path is the body validated as a whole, to tell a JSON array or scalar
    // (the sender's mistake about the shape) from bytes that are no JSON at all.
    serde_json::from_slice::<IgnoredAny>(body).map_err(invalid)?;
    Err(ClassifyError::NotObject)
}

#[cfg(test)]
mod tests;
