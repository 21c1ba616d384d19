//! A source's options applied to a verified delivery: the JSON and `jsonb` checks, then the
//! idempotency key, kind and rate-limit key → the queued [`Job`], body bytes untouched.

use axum::http::HeaderMap;
use serde::de::IgnoredAny;
use serde_json::{Value, value::RawValue};
use sha2::{Digest, Sha256};
use sluice_shared::{
    job::{Job, Origin},
    jsonb::{self, JsonbError},
    telemetry::propagate,
};

use super::{Locator, Source};
use crate::signature::Verified;

/// The kind of an event whose source names no kind header or pointer (or whose value is absent).
pub const DEFAULT_KIND: &str = "event";
/// Longer keys are replaced by their SHA-256: a key must stay a sane Redis key and fit a btree
/// index entry in Postgres.
const MAX_KEY_BYTES: usize = 200;
const MAX_KIND_BYTES: usize = 128;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ExtractError {
    #[error("the body is not UTF-8 JSON: {0}")]
    NotJson(String),
    /// Valid JSON that Postgres `jsonb` refuses: such an event could be queued but never stored.
    /// The same check as the Telegram route's.
    #[error("the body cannot be stored: {0}")]
    Unstorable(#[from] JsonbError),
}

/// A verified delivery made into its job, with what admission control needs of it.
#[derive(Debug)]
pub struct Event {
    pub job: Job,
    /// The rate key (also in the job's origin): the key of the event's own admission bucket.
    pub rate_key: Option<String>,
}

/// Builds the job of a verified delivery of `src`.
pub fn event(
    src: &Source,
    headers: &HeaderMap,
    verified: Verified,
    received_at_ms: i64,
) -> Result<Event, ExtractError> {
    let text = String::from_utf8(verified.into_body().into())
        .map_err(|_| ExtractError::NotJson("not UTF-8".into()))?;
    let not_json = |e: serde_json::Error| ExtractError::NotJson(e.to_string());
    // Syntax first (IgnoredAny lets every escape through and has no depth limit), then jsonb's
    // rules, so that a lone surrogate or deep nesting is refused for the same reason as on the
    // Telegram route; after both, building the Value below cannot fail.
    serde_json::from_str::<IgnoredAny>(&text).map_err(not_json)?;
    jsonb::check(text.as_bytes())?;
    let doc: Value = serde_json::from_str(&text).map_err(not_json)?;
    let idempotency_key = src
        .idempotency
        .as_ref()
        .and_then(|l| locate(l, headers, &doc))
        .map_or_else(|| sha256_key(text.as_bytes()), bounded);
    let kind = src
        .kind
        .as_ref()
        .and_then(|l| locate(l, headers, &doc))
        .map_or_else(|| DEFAULT_KIND.to_owned(), |k| truncate(k, MAX_KIND_BYTES));
    let rate_key = src
        .rate_key
        .as_ref()
        .and_then(|p| scalar(doc.pointer(p.as_str())?))
        .map(bounded);
    // The text parsed as JSON above, so this only re-checks it; the bytes stay as received.
    let payload = RawValue::from_string(text).map_err(|e| ExtractError::NotJson(e.to_string()))?;
    let job = Job {
        origin: Origin::Signed {
            source: src.name.clone(),
            key: idempotency_key,
            rate_key: rate_key.clone(),
        },
        kind,
        lane: src.lane,
        received_at_ms,
        payload,
        attempt: 0,
        // The request's span: the worker's spans continue its trace.
        traceparent: propagate::traceparent(&tracing::Span::current()),
    };
    Ok(Event { job, rate_key })
}

/// The non-empty text at `l`: a header value, or a string or number in the body. Anything else
/// (absent, null, an object) is "not there", and the caller falls back.
fn locate(l: &Locator, headers: &HeaderMap, doc: &Value) -> Option<String> {
    match l {
        Locator::Header(h) => headers
            .get(h)?
            .to_str()
            .ok()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned),
        Locator::Pointer(p) => scalar(doc.pointer(p.as_str())?),
    }
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn bounded(key: String) -> String {
    if key.len() <= MAX_KEY_BYTES {
        key
    } else {
        sha256_key(key.as_bytes())
    }
}

/// `sha256:<hex>`: the idempotency key of a body that names none.
pub fn sha256_key(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

fn truncate(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
    s
}

#[cfg(test)]
mod tests;
