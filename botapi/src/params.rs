//! A call's parameters as Telegram takes them: a JSON object, or `multipart/form-data` with
//! files streamed from wherever they come from. Also what the limiter needs from them: the chat
//! (`chat_id`) and whether it is a paid broadcast (`allow_paid_broadcast`).

use serde_json::{Map, Value};

pub use crate::multipart::{FileBody, FilePart, Multipart};
use crate::{error::BotApiError, multipart};

/// The parameters of one call.
pub enum Params {
    /// Sent as `application/json`.
    Json(Map<String, Value>),
    /// Sent as `multipart/form-data`, for uploads.
    Multipart(Multipart),
    /// A body passed through as a client sent it (the Bot API proxy), with what the limiter
    /// needs read from it beforehand.
    Raw(Raw),
}

/// A call's body as it came: sent on byte for byte under its own content type.
pub struct Raw {
    /// The client's `Content-Type` (a multipart body keeps its boundary).
    pub content_type: String,
    pub body: RawBody,
    /// The `chat_id`, read from the body by whoever built this (the limiter's chat bucket).
    pub chat: Option<Chat>,
    /// Whether the body asks for `allow_paid_broadcast`.
    pub paid: bool,
}

/// The bytes of a [`Raw`] body.
pub enum RawBody {
    /// Read whole (JSON and form bodies): the call can be retried.
    Bytes(bytes::Bytes),
    /// Streamed as it arrives (an upload): sent once, never buffered whole.
    Stream(Option<futures::stream::BoxStream<'static, std::io::Result<bytes::Bytes>>>),
}

impl Params {
    /// The parameters of a JSON object (anything else is an invalid call).
    pub fn json(value: Value) -> Result<Params, BotApiError> {
        match value {
            Value::Object(map) => Ok(Params::Json(map)),
            _ => Err(BotApiError::Invalid("parameters must be a JSON object")),
        }
    }

    /// No parameters (`getMe`).
    pub fn none() -> Params {
        Params::Json(Map::new())
    }

    /// A parameter as text: JSON strings as they are, other JSON values as JSON.
    fn text(&self, name: &str) -> Option<String> {
        match self {
            Params::Json(map) => map.get(name).map(|v| match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            }),
            Params::Multipart(form) => form
                .fields
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone()),
            Params::Raw(_) => None,
        }
    }

    /// The chat a message goes to, if the call names one.
    pub fn chat(&self) -> Result<Option<Chat>, BotApiError> {
        if let Params::Raw(raw) = self {
            return Ok(raw.chat.clone());
        }
        self.text("chat_id").map(|t| Chat::parse(&t)).transpose()
    }

    /// Whether the call asks for Telegram's paid broadcast limit.
    pub fn paid_broadcast(&self) -> bool {
        if let Params::Raw(raw) = self {
            return raw.paid;
        }
        self.text("allow_paid_broadcast")
            .is_some_and(|t| t.eq_ignore_ascii_case("true"))
    }

    /// Whether [`Self::body`] can be called again after a first attempt (a streamed upload is
    /// sent once).
    pub fn replayable(&self) -> bool {
        match self {
            Params::Json(_) => true,
            Params::Multipart(form) => form
                .files
                .iter()
                .all(|f| matches!(f.body, FileBody::Bytes(_))),
            Params::Raw(raw) => matches!(raw.body, RawBody::Bytes(_)),
        }
    }

    /// The content type and the body of one attempt; `None` when a streamed upload was
    /// already sent.
    pub(crate) fn body(&mut self) -> Option<(String, reqwest::Body)> {
        match self {
            Params::Json(map) => Some((
                "application/json".into(),
                reqwest::Body::from(serde_json::to_vec(map).unwrap_or_default()),
            )),
            Params::Multipart(form) => multipart::encode(form),
            Params::Raw(raw) => {
                let body = match &mut raw.body {
                    RawBody::Bytes(bytes) => reqwest::Body::from(bytes.clone()),
                    RawBody::Stream(taken) => reqwest::Body::wrap_stream(taken.take()?),
                };
                Some((raw.content_type.clone(), body))
            }
        }
    }
}

/// A `chat_id` as the limiter keys it: a numeric id, or a public @username (a channel or a
/// supergroup).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Chat {
    Id(i64),
    Username(String),
}

impl Chat {
    /// Parses a `chat_id`; an @username is kept lowercased (Telegram ignores case) and
    /// bounded, since it becomes part of a Redis key.
    pub fn parse(text: &str) -> Result<Chat, BotApiError> {
        let text = text.trim();
        if let Ok(id) = text.parse::<i64>() {
            return Ok(Chat::Id(id));
        }
        let name = text
            .strip_prefix('@')
            .filter(|n| (1..=64).contains(&n.len()))
            .filter(|n| n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
            .ok_or(BotApiError::Invalid(
                "chat_id is neither an integer nor an @username",
            ))?;
        Ok(Chat::Username(name.to_ascii_lowercase()))
    }

    /// Whether Telegram's per-group limit applies: groups, supergroups and channels have
    /// negative ids; an @username names a channel or a supergroup.
    pub fn is_group(&self) -> bool {
        match self {
            Chat::Id(id) => *id < 0,
            Chat::Username(_) => true,
        }
    }

    /// Its part of a limiter key.
    pub(crate) fn key(&self) -> String {
        match self {
            Chat::Id(id) => id.to_string(),
            Chat::Username(name) => format!("@{name}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_chat_and_the_paid_flag_come_from_the_parameters() {
        let p = Params::json(json!({"chat_id": -1001, "allow_paid_broadcast": true})).unwrap();
        assert_eq!(p.chat().unwrap(), Some(Chat::Id(-1001)));
        assert!(p.chat().unwrap().unwrap().is_group());
        assert!(p.paid_broadcast());
        let p = Params::json(json!({"chat_id": "@My_Channel"})).unwrap();
        assert_eq!(p.chat().unwrap().unwrap().key(), "@my_channel");
        let p = Params::Multipart(Multipart::default().text("chat_id", "42"));
        assert_eq!(p.chat().unwrap(), Some(Chat::Id(42)));
        assert!(!p.paid_broadcast());
        assert!(
            Params::json(json!({"chat_id": "x:y"}))
                .unwrap()
                .chat()
                .is_err()
        );
        assert!(Params::json(json!([1])).is_err());
    }
}
