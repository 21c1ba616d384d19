//! Webhook replies: a forward target may answer an update with one Bot API call in its response
//! body, as Telegram allows, in any body Telegram takes there: JSON (`{"method":"sendMessage",…}`),
//! `application/x-www-form-urlencoded` or `multipart/form-data` (files as parts).
//!
//! [`parse`] reads one into a [`WebhookReply`]: bounded ([`MAX_BYTES`], [`MAX_FIELDS`]), its
//! method checked against the Bot API's methods ([`methods`]). What is not a reply (no body, no
//! `method`, another content type) is `Ok(None)`, as Telegram ignores it too.
//!
//! # Layout
//! - this file: [`WebhookReply`], [`Param`], [`parse`], and the JSON and form bodies.
//! - [`methods`]: the Bot API's method names, and those a reply may not call.
//! - [`multipart`]: the `multipart/form-data` body.

pub mod methods;
pub mod multipart;

use std::fmt;

use bytes::Bytes;

/// The largest reply read; a longer one is refused (counted `invalid`). Most replies are a
/// message; a file sent this way is usually a photo well under it.
pub const MAX_BYTES: usize = 1024 * 1024;
/// The most parameters a reply may have (the widest Bot API method takes about 30).
pub const MAX_FIELDS: usize = 64;

/// One Bot API call a forward target answered an update with. Its `Debug` shows the method and
/// parameter names, never their values (a message's text is the user's).
#[derive(Clone, PartialEq)]
pub struct WebhookReply {
    method: &'static str,
    params: Vec<(String, Param)>,
}

/// One parameter of a [`WebhookReply`], as the target sent it (its `Debug` shows the value:
/// log the reply, not its parameters).
#[derive(Debug, Clone, PartialEq)]
pub enum Param {
    /// From a JSON body: any JSON value (`reply_markup` is an object there).
    Json(serde_json::Value),
    /// From a form or a multipart text part: text (`reply_markup` is JSON text there).
    Text(String),
    /// A multipart part with a file name: a file to upload.
    File(FilePart),
}

/// A file uploaded as a multipart part.
#[derive(Debug, Clone, PartialEq)]
pub struct FilePart {
    pub file_name: String,
    pub content_type: Option<String>,
    pub bytes: Bytes,
}

impl WebhookReply {
    /// The method's name as the Bot API spells it (`sendMessage`, whatever case was sent).
    pub fn method(&self) -> &'static str {
        self.method
    }

    /// The parameters, `method` left out: in the order they came (a JSON body's by name).
    pub fn params(&self) -> &[(String, Param)] {
        &self.params
    }

    /// Whether a parameter is a file (the call must then be sent as multipart).
    pub fn has_files(&self) -> bool {
        self.params.iter().any(|(_, p)| matches!(p, Param::File(_)))
    }

    pub fn into_parts(self) -> (&'static str, Vec<(String, Param)>) {
        (self.method, self.params)
    }
}

impl fmt::Debug for WebhookReply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.params.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("WebhookReply")
            .field("method", &self.method)
            .field("params", &names)
            .finish()
    }
}

/// Why an answer that claims to be a reply is not one Telegram would take. No variant holds a
/// parameter's value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplyError {
    #[error("longer than {MAX_BYTES} bytes")]
    TooLarge,
    #[error("more than {MAX_FIELDS} parameters")]
    TooManyFields,
    #[error("malformed {0} body")]
    Malformed(&'static str),
    #[error("the answer was cut short")]
    CutShort,
    #[error("'method' is not text")]
    MethodNotText,
    #[error("not a Bot API method ({0} characters)")]
    UnknownMethod(usize),
    #[error("{0} would take the bot's updates away from sluice")]
    Refused(&'static str),
}

/// The three body types Telegram takes a reply in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyType {
    Json,
    Form,
    Multipart,
}

impl BodyType {
    /// The body type of a `Content-Type`, if it is one a reply may come in.
    pub fn of(content_type: &str) -> Option<BodyType> {
        let mime: mime::Mime = content_type.parse().ok()?;
        match (mime.type_(), mime.subtype()) {
            (mime::APPLICATION, mime::JSON) => Some(BodyType::Json),
            (mime::APPLICATION, mime::WWW_FORM_URLENCODED) => Some(BodyType::Form),
            (mime::MULTIPART, mime::FORM_DATA) => Some(BodyType::Multipart),
            _ => None,
        }
    }
}

/// The reply in `body`, sent with `content_type`; `Ok(None)` when it holds none.
pub async fn parse(content_type: &str, body: Bytes) -> Result<Option<WebhookReply>, ReplyError> {
    if body.len() > MAX_BYTES {
        return Err(ReplyError::TooLarge);
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    match BodyType::of(content_type) {
        None => Ok(None),
        Some(BodyType::Json) => json(&body),
        Some(BodyType::Form) => form(&body),
        Some(BodyType::Multipart) => multipart::parse(content_type, body).await,
    }
}

/// Reads a 2xx answer's reply: a body of a reply's type up to [`MAX_BYTES`] (no further: a
/// longer one is refused unread), any other answer drained up to `drain_cap` and ignored.
pub async fn read(
    mut resp: reqwest::Response,
    drain_cap: usize,
) -> Result<Option<WebhookReply>, ReplyError> {
    let content_type = resp
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    if BodyType::of(&content_type).is_none() {
        drain(resp, drain_cap).await;
        return Ok(None);
    }
    if resp.content_length().is_some_and(|n| n > MAX_BYTES as u64) {
        return Err(ReplyError::TooLarge);
    }
    let mut body = bytes::BytesMut::new();
    while let Some(chunk) = resp.chunk().await.map_err(|_| ReplyError::CutShort)? {
        if body.len() + chunk.len() > MAX_BYTES {
            return Err(ReplyError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    parse(&content_type, body.freeze()).await
}

/// Reads an answer up to `cap` bytes and throws it away, so that a short one lets the
/// connection go back to the pool; the status has decided already, so errors are moot.
pub async fn drain(mut resp: reqwest::Response, cap: usize) {
    let mut read = 0;
    while read <= cap {
        match resp.chunk().await {
            Ok(Some(chunk)) => read += chunk.len(),
            _ => return,
        }
    }
}

fn json(body: &[u8]) -> Result<Option<WebhookReply>, ReplyError> {
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|_| ReplyError::Malformed("JSON"))?;
    let serde_json::Value::Object(object) = value else {
        return Ok(None);
    };
    if object.len() > MAX_FIELDS + 1 {
        return Err(ReplyError::TooManyFields);
    }
    let mut method = None;
    let mut params = Vec::with_capacity(object.len());
    for (name, value) in object {
        match (name.as_str(), value) {
            ("method", serde_json::Value::String(m)) => method = Some(m),
            ("method", _) => return Err(ReplyError::MethodNotText),
            (_, value) => params.push((name, Param::Json(value))),
        }
    }
    reply(method, params)
}

fn form(body: &[u8]) -> Result<Option<WebhookReply>, ReplyError> {
    let mut method = None;
    let mut params = Vec::new();
    for (name, value) in url::form_urlencoded::parse(body) {
        if name == "method" {
            method = Some(value.into_owned());
        } else {
            params.push((name.into_owned(), Param::Text(value.into_owned())));
        }
        if params.len() > MAX_FIELDS {
            return Err(ReplyError::TooManyFields);
        }
    }
    reply(method, params)
}

/// A reply once its parameters are read: none without a method, else the method checked.
pub(crate) fn reply(
    method: Option<String>,
    params: Vec<(String, Param)>,
) -> Result<Option<WebhookReply>, ReplyError> {
    let Some(method) = method else {
        return Ok(None);
    };
    let method = methods::canonical(&method).ok_or(ReplyError::UnknownMethod(method.len()))?;
    if methods::REFUSED.contains(&method) {
        return Err(ReplyError::Refused(method));
    }
    Ok(Some(WebhookReply { method, params }))
}

#[cfg(test)]
mod tests;
