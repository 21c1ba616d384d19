//! Unit tests of extraction: where keys come from, and what falls back to what.

use axum::{body::Bytes, http::HeaderMap};
use sluice_shared::lanes::Lane;

use super::*;
use crate::signature::{Scheme, Unverified, hmac};

/// What the tests look at: the job's signed origin, flattened.
#[derive(Debug)]
struct Extracted {
    source: String,
    idempotency_key: String,
    rate_key: Option<String>,
    job: Job,
}

fn event(
    src: &Source,
    headers: &HeaderMap,
    verified: Verified,
    at: i64,
) -> Result<Extracted, ExtractError> {
    let Event { job, rate_key } = super::event(src, headers, verified, at)?;
    let Origin::Signed {
        source,
        key,
        rate_key: in_job,
    } = job.origin.clone()
    else {
        panic!("a signed event became {:?}", job.origin);
    };
    assert_eq!(
        in_job, rate_key,
        "admission and the job see the same rate key"
    );
    Ok(Extracted {
        source,
        idempotency_key: key,
        rate_key,
        job,
    })
}

/// A plain-scheme source and a delivery of `body` verified under it.
fn verified(body: &str, mut headers: HeaderMap) -> (Source, HeaderMap, Verified) {
    let src = Source::new("shop", Scheme::Plain, "k".parse().unwrap());
    let mac = hex::encode(hmac::sign(b"k", &[body.as_bytes()]));
    headers.insert("x-signature", mac.parse().unwrap());
    let v = Unverified::from_headers(Scheme::Plain, &headers)
        .unwrap()
        .verify(
            src.secrets(),
            Bytes::from(body.to_owned()),
            0,
            src.tolerance,
        )
        .unwrap();
    (src, headers, v)
}

fn header(name: &'static str, value: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(name, value.parse().unwrap());
    h
}

fn pointer(p: &str) -> Option<Locator> {
    Some(Locator::Pointer(p.parse().unwrap()))
}

#[test]
fn keys_come_from_where_the_source_says() {
    let body = r#"{"id":"evt_1","type":"invoice.paid","data":{"customer":"cus_9","n":42}}"#;
    let (mut src, h, v) = verified(body, header("x-event", "push"));
    src.idempotency = pointer("/id");
    src.kind = Some(Locator::Header("x-event".parse().unwrap()));
    src.rate_key = "/data/customer".parse().ok();
    src.lane = Lane::High;
    let e = event(&src, &h, v, 5).unwrap();
    assert_eq!(e.idempotency_key, "evt_1");
    assert_eq!(e.job.kind, "push");
    assert_eq!(e.rate_key.as_deref(), Some("cus_9"));
    assert_eq!(
        (e.source.as_str(), e.job.lane, e.job.received_at_ms),
        ("shop", Lane::High, 5)
    );
    assert_eq!(e.job.payload.get(), body, "bytes as received");

    // Numbers are keys too.
    let (mut src, h, v) = verified(body, HeaderMap::new());
    src.idempotency = pointer("/data/n");
    src.kind = pointer("/type");
    let e = event(&src, &h, v, 0).unwrap();
    assert_eq!(
        (e.idempotency_key.as_str(), e.job.kind.as_str()),
        ("42", "invoice.paid")
    );
}

#[test]
fn absent_values_fall_back() {
    let body = r#"{"id":null,"type":{"nested":true}}"#;
    let (mut src, h, v) = verified(body, header("x-delivery", "  "));
    src.idempotency = Some(Locator::Header("x-delivery".parse().unwrap()));
    src.kind = pointer("/type");
    src.rate_key = "/missing".parse().ok();
    let e = event(&src, &h, v, 0).unwrap();
    assert_eq!(e.idempotency_key, sha256_key(body.as_bytes()));
    assert_eq!(e.job.kind, DEFAULT_KIND);
    assert_eq!(e.rate_key, None);
}

#[test]
fn oversized_keys_are_hashed_and_kinds_truncated() {
    let long = "é".repeat(150);
    let body = serde_json::json!({ "id": long, "type": long }).to_string();
    let (mut src, h, v) = verified(&body, HeaderMap::new());
    src.idempotency = pointer("/id");
    src.kind = pointer("/type");
    let e = event(&src, &h, v, 0).unwrap();
    assert_eq!(e.idempotency_key, sha256_key(long.as_bytes()));
    assert_eq!(
        e.job.kind,
        "é".repeat(64),
        "128 bytes, cut on a character boundary"
    );
}

#[test]
fn what_cannot_be_stored_is_refused() {
    for bad in ["Hello, World!", "{\"a\":", ""] {
        let (src, h, v) = verified(bad, HeaderMap::new());
        assert!(
            matches!(event(&src, &h, v, 0), Err(ExtractError::NotJson(_))),
            "{bad}"
        );
    }
    for (bad, why) in [
        (r#"{"a":"x\u0000y"}"#, JsonbError::NulCharacter),
        (r#"{"a":"\ud800"}"#, JsonbError::LoneSurrogate),
        (r#"{"a":1e1000000}"#, JsonbError::NumberOutOfRange),
        (r#"{"id":1,"id":2}"#, JsonbError::DuplicateKey("id".into())),
    ] {
        let (src, h, v) = verified(bad, HeaderMap::new());
        assert_eq!(
            event(&src, &h, v, 0).unwrap_err(),
            ExtractError::Unstorable(why),
            "{bad}"
        );
    }
    // Past serde_json's own depth limit, jsonb's rule answers first.
    let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
    let (src, h, v) = verified(&deep, HeaderMap::new());
    assert_eq!(
        event(&src, &h, v, 0).unwrap_err(),
        ExtractError::Unstorable(JsonbError::TooDeep)
    );
    // An escaped backslash followed by "u0000" is ordinary text.
    let (src, h, v) = verified(r#"{"a":"x\\u0000y"}"#, HeaderMap::new());
    assert!(event(&src, &h, v, 0).is_ok());
}
