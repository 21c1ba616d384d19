//! Signatures made the way a provider makes them — by `openssl dgst`, not by sluice's code — and
//! helpers to register sources and post signed deliveries.

#![allow(dead_code)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sluice_api::sources::{Source, manage};
pub use sluice_testkit::openssl_hmac;

use crate::common::TestApp;

pub type Header = (&'static str, String);

pub fn github(key: &str, body: &[u8]) -> Header {
    (
        "X-Hub-Signature-256",
        format!("sha256={}", openssl_hmac(key, body)),
    )
}

pub fn plain(key: &str, body: &[u8]) -> Header {
    ("X-Signature", openssl_hmac(key, body))
}

/// A `Stripe-Signature` signed at `t` with one `v1` per key, as Stripe does while rotating.
pub fn stripe(keys: &[&str], t: i64, body: &[u8]) -> Header {
    let mut signed = format!("{t}.").into_bytes();
    signed.extend_from_slice(body);
    let mut h = format!("t={t}");
    for key in keys {
        h.push_str(&format!(",v1={}", openssl_hmac(key, &signed)));
    }
    ("Stripe-Signature", h)
}

pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

pub fn hook_url(app: &TestApp, source: &str) -> String {
    format!("http://{}/webhook/hooks/{source}", app.addr)
}

/// POSTs `body` to the source's webhook with `headers`.
pub async fn post_hook(
    app: &TestApp,
    source: &str,
    headers: &[Header],
    body: impl Into<reqwest::Body>,
) -> reqwest::Response {
    let mut req = app
        .client
        .post(hook_url(app, source))
        .header("content-type", "application/json")
        .body(body);
    for (k, v) in headers {
        req = req.header(*k, v);
    }
    req.send().await.expect("request sent")
}

/// Registers `s` and waits until the api's registry knows it (an unsigned POST then gets 401,
/// not 404).
pub async fn add_source(app: &TestApp, s: Source) {
    let name = s.name.clone();
    manage::add(&app.db.pool, &s).await.expect("source added");
    let seen = sluice_testkit::wait_until(Duration::from_secs(5), || async {
        post_hook(app, &name, &[], "{}").await.status() == 401
    })
    .await;
    assert!(seen, "the api saw source '{name}' within 5 s");
}

/// The queued job with id `id` in `lane`, decoded as a worker would.
pub async fn queued_job(app: &TestApp, lane: &str, id: &str) -> sluice_shared::job::Job {
    let client = redis::Client::open(app.redis_url.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let raw: Vec<u8> = redis::cmd("HGET")
        .arg(format!("{}:{lane}:data", app.prefix))
        .arg(id)
        .query_async(&mut conn)
        .await
        .unwrap();
    serde_json::from_slice(&raw).unwrap()
}

/// Asserts the status and the stable error code of a refusal.
pub async fn refused(resp: reqwest::Response, status: u16, code: &str) {
    assert_eq!(resp.status(), status);
    let json: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(json["ok"], false);
    assert_eq!(json["error"], code, "{json}");
    assert!(json["detail"].as_str().is_some_and(|d| !d.is_empty()));
}

/// The job id of a 200, or None for a duplicate.
pub async fn accepted(resp: reqwest::Response) -> Option<String> {
    let status = resp.status();
    let json: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(status, 200, "{json}");
    assert_eq!(json["ok"], true, "{json}");
    match json["id"].as_str() {
        Some(id) => Some(id.to_owned()),
        None => {
            assert_eq!(json["duplicate"], true, "{json}");
            None
        }
    }
}
