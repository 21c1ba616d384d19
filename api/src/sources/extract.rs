//! A source's options applied to a verified delivery: the JSON check, then the idempotency key,
//! kind and rate-limit key → the queued [`EventEnvelope`], body bytes untouched.

use axum::http::HeaderMap;
use serde_json::{Value, value::RawValue};
use sha2::{Digest, Sha256};
use sluice_shared::event::EventEnvelope;

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
    /// Postgres refuses `\u0000` in jsonb: such an event could be queued but never stored.
    #[error("the body contains a \\u0000 character, which cannot be stored")]
    NulCharacter,
}

/// Builds the job of a verified delivery of `src`.
pub fn event(
    src: &Source,
    headers: &HeaderMap,
    verified: Verified,
    received_at_ms: i64,
) -> Result<EventEnvelope, ExtractError> {
    let text = String::from_utf8(verified.into_body().into())
        .map_err(|_| ExtractError::NotJson("not UTF-8".into()))?;
    let doc: Value =
        serde_json::from_str(&text).map_err(|e| ExtractError::NotJson(e.to_string()))?;
    if has_nul(&doc) {
        return Err(ExtractError::NulCharacter);
    }
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
    Ok(EventEnvelope {
        source: src.name.clone(),
        idempotency_key,
        kind,
        rate_key,
        lane: src.lane,
        received_at_ms,
        payload,
        attempt: 0,
    })
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

/// serde_json stops at 128 levels of nesting, which bounds this recursion.
fn has_nul(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains('\0'),
        Value::Array(a) => a.iter().any(has_nul),
        Value::Object(o) => o.iter().any(|(k, v)| k.contains('\0') || has_nul(v)),
        _ => false,
    }
}

#[cfg(test)]
mod tests;
