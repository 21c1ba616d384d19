//! A proxied call's body, turned into [`Params::Raw`]: the bytes are sent on as the client sent
//! them; only what the limiter needs (`chat_id`, `allow_paid_broadcast`) is read first.
//!
//! - JSON and `application/x-www-form-urlencoded` bodies are read whole, up to
//!   [`MAX_BUFFERED`] (a call without a file is small), and can be retried upstream.
//! - A GET's query string is its parameters (Telegram takes both); it is sent on as a form.
//! - `multipart/form-data` (uploads) is streamed: only the parts before the first file are read
//!   (up to [`MAX_PREFIX`]), then those bytes and the rest of the stream go on unchanged.
//!   python-telegram-bot (httpx), aiogram (aiohttp `FormData`) and grammY all write their text
//!   fields first and files last, so `chat_id` is found there. If a file part comes first,
//!   reading goes on through it while the bytes read stay within [`MAX_PREFIX`] (a small
//!   thumbnail or sticker); a message method whose `chat_id` is not found within it is refused
//!   with 400, since its chat's limit could not be applied. A method without a chat (`setMyPhoto`
//!   …) is not scanned at all.
//!
//! The whole body is bounded by `SLUICE_BOTAPI_PROXY_MAX_BODY`: a `Content-Length` above it is
//! refused before reading, a chunked body that runs past it is cut ([`Limited`]).

use std::{
    io,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
};

use axum::body::Body;
use bytes::{Bytes, BytesMut};
use futures::{StreamExt, TryStreamExt, stream, stream::BoxStream};
use serde_json::Value;
use sluice_botapi::{
    Chat, Params, Raw, RawBody,
    methods::{self, Class},
};

use super::refusal::Refusal;

/// Largest JSON or form body read whole.
pub const MAX_BUFFERED: usize = 1 << 20;
/// Most bytes of a multipart body read before its `chat_id` must have been found.
pub const MAX_PREFIX: usize = 256 << 10;

const FORM: &str = "application/x-www-form-urlencoded";

/// The body types a call may come in.
enum Kind {
    Json,
    Form,
    Multipart(String),
}

/// A body's byte stream, cut with an error once it passes its bound; [`Limited::exceeded`]
/// says afterwards whether that is why it ended.
pub struct Limited {
    exceeded: Arc<AtomicBool>,
}

impl Limited {
    pub fn exceeded(&self) -> bool {
        self.exceeded.load(Ordering::Relaxed)
    }
}

type ByteStream = BoxStream<'static, io::Result<Bytes>>;

fn limited(body: Body, max: u64) -> (ByteStream, Limited) {
    let exceeded = Arc::new(AtomicBool::new(false));
    let seen = Arc::new(AtomicU64::new(0));
    let flag = exceeded.clone();
    let stream = body
        .into_data_stream()
        .map_err(io::Error::other)
        .and_then(move |chunk| {
            let total = seen.fetch_add(chunk.len() as u64, Ordering::Relaxed) + chunk.len() as u64;
            let over = total > max;
            if over {
                flag.store(true, Ordering::Relaxed);
            }
            async move {
                if over {
                    Err(io::Error::other(
                        "request body over SLUICE_BOTAPI_PROXY_MAX_BODY",
                    ))
                } else {
                    Ok(chunk)
                }
            }
        })
        .boxed();
    (stream, Limited { exceeded })
}

/// The parameters of a call of `method`: the body (or, for GET, the `query`) as it came.
pub async fn params(
    method: &str,
    content_type: Option<&str>,
    query: Option<&str>,
    get: bool,
    body: Body,
    max: u64,
) -> Result<(Params, Limited), Refusal> {
    let (stream, limit) = limited(body, max);
    if get {
        let query = Bytes::copy_from_slice(query.unwrap_or("").as_bytes());
        return Ok((buffered(Kind::Form, query)?, limit));
    }
    let kind = match content_type {
        None => Kind::Form,
        Some(ct) => kind(ct)?,
    };
    let params = match kind {
        Kind::Multipart(content_type) => multipart(method, content_type, stream, &limit).await?,
        kind => {
            let bytes = read_all(stream, MAX_BUFFERED, &limit).await?;
            // A POST may carry its parameters in the query string too (Telegram takes them).
            match query {
                Some(q) if bytes.is_empty() => {
                    buffered(Kind::Form, Bytes::copy_from_slice(q.as_bytes()))?
                }
                _ => buffered(kind, bytes)?,
            }
        }
    };
    Ok((params, limit))
}

fn kind(content_type: &str) -> Result<Kind, Refusal> {
    let mime: mime::Mime = content_type
        .parse()
        .map_err(|_| Refusal::BadRequest("unreadable Content-Type"))?;
    match (mime.type_(), mime.subtype()) {
        (mime::APPLICATION, mime::JSON) => Ok(Kind::Json),
        (mime::APPLICATION, mime::WWW_FORM_URLENCODED) => Ok(Kind::Form),
        (mime::MULTIPART, mime::FORM_DATA) => Ok(Kind::Multipart(content_type.to_owned())),
        _ => Err(Refusal::BadRequest(
            "Content-Type is not JSON, a form or multipart/form-data",
        )),
    }
}

async fn read_all(mut stream: ByteStream, max: usize, limit: &Limited) -> Result<Bytes, Refusal> {
    let mut out = BytesMut::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| over_or_cut(limit))?;
        if out.len() + chunk.len() > max {
            return Err(Refusal::TooLarge);
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out.freeze())
}

fn over_or_cut(limit: &Limited) -> Refusal {
    if limit.exceeded() {
        Refusal::TooLarge
    } else {
        Refusal::BadRequest("the request body was cut short")
    }
}

/// A JSON or form body read whole, with its chat and paid flag read from it.
fn buffered(kind: Kind, bytes: Bytes) -> Result<Params, Refusal> {
    let (content_type, chat, paid) = match kind {
        Kind::Json => {
            let (chat, paid) = if bytes.iter().all(u8::is_ascii_whitespace) {
                (None, None)
            } else {
                let map: serde_json::Map<String, Value> = serde_json::from_slice(&bytes)
                    .map_err(|_| Refusal::BadRequest("the body is not a JSON object"))?;
                let text = |v: &Value| match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                (
                    map.get("chat_id").map(text),
                    map.get("allow_paid_broadcast").map(text),
                )
            };
            ("application/json", chat, paid)
        }
        _ => {
            let (mut chat, mut paid) = (None, None);
            for (k, v) in url::form_urlencoded::parse(&bytes) {
                match &*k {
                    "chat_id" => chat = Some(v.into_owned()),
                    "allow_paid_broadcast" => paid = Some(v.into_owned()),
                    _ => {}
                }
            }
            (FORM, chat, paid)
        }
    };
    raw(content_type.to_owned(), RawBody::Bytes(bytes), chat, paid)
}

fn raw(
    content_type: String,
    body: RawBody,
    chat: Option<String>,
    paid: Option<String>,
) -> Result<Params, Refusal> {
    let chat = chat
        .map(|c| Chat::parse(&c))
        .transpose()
        .map_err(|_| Refusal::BadRequest("chat_id is neither an integer nor an @username"))?;
    Ok(Params::Raw(Raw {
        content_type,
        body,
        chat,
        paid: paid.is_some_and(|p| p.trim().eq_ignore_ascii_case("true")),
    }))
}

/// An upload: the parts before the first file read for the limiter, the rest streamed.
async fn multipart(
    method: &str,
    content_type: String,
    mut stream: ByteStream,
    limit: &Limited,
) -> Result<Params, Refusal> {
    let boundary = multer::parse_boundary(&content_type)
        .map_err(|_| Refusal::BadRequest("multipart/form-data without a boundary"))?;
    let mut prefix = BytesMut::new();
    let mut found = Found::default();
    if methods::class(method) == Class::Chat {
        loop {
            match scan(prefix.clone().freeze(), &boundary).await? {
                Scan::Done(f) => {
                    found = f;
                    break;
                }
                Scan::More(f) if prefix.len() >= MAX_PREFIX && f.chat.is_some() => {
                    found = f;
                    break;
                }
                Scan::More(_) => {}
            }
            if prefix.len() >= MAX_PREFIX {
                return Err(Refusal::BadRequest(
                    "chat_id must come before the files (sluice's proxy reads no further to find it)",
                ));
            }
            match stream.next().await {
                Some(Ok(chunk)) => prefix.extend_from_slice(&chunk),
                Some(Err(_)) => return Err(over_or_cut(limit)),
                None => {
                    // The whole body is in: what it has is all there is.
                    found = match scan(prefix.clone().freeze(), &boundary).await? {
                        Scan::Done(f) => f,
                        Scan::More(_) => {
                            return Err(Refusal::BadRequest("malformed multipart body"));
                        }
                    };
                    break;
                }
            }
        }
    }
    let body = stream::iter([Ok(prefix.freeze())]).chain(stream).boxed();
    raw(
        content_type,
        RawBody::Stream(Some(body)),
        found.chat,
        found.paid,
    )
}

#[derive(Default)]
struct Found {
    chat: Option<String>,
    paid: Option<String>,
}

enum Scan {
    /// Enough was read: the chat is known, a file came after the text fields, or the body ended.
    Done(Found),
    /// The bytes so far end inside a part that matters; what was found before it.
    More(Found),
}

/// Reads the parts in `bytes` (a body's beginning) with multer: text fields until the first
/// file once `chat_id` is known, through files while it is not.
async fn scan(bytes: Bytes, boundary: &str) -> Result<Scan, Refusal> {
    let mut form = multer::Multipart::new(
        stream::once(async move { Ok::<_, std::convert::Infallible>(bytes) }),
        boundary,
    );
    let mut found = Found::default();
    loop {
        let field = match form.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => return Ok(Scan::Done(found)),
            Err(e) if incomplete(&e) => return Ok(Scan::More(found)),
            Err(_) => return Err(Refusal::BadRequest("malformed multipart body")),
        };
        let is_file = field.file_name().is_some();
        if is_file && found.chat.is_some() {
            return Ok(Scan::Done(found));
        }
        let name = field.name().map(str::to_owned);
        let value = match field.bytes().await {
            Ok(value) => value,
            Err(e) if incomplete(&e) => return Ok(Scan::More(found)),
            Err(_) => return Err(Refusal::BadRequest("malformed multipart body")),
        };
        if is_file {
            continue;
        }
        let text = || String::from_utf8_lossy(&value).into_owned();
        match name.as_deref() {
            Some("chat_id") => found.chat = Some(text()),
            Some("allow_paid_broadcast") => found.paid = Some(text()),
            _ => {}
        }
    }
}

fn incomplete(e: &multer::Error) -> bool {
    matches!(
        e,
        multer::Error::IncompleteStream
            | multer::Error::IncompleteFieldData { .. }
            | multer::Error::IncompleteHeaders
    )
}
