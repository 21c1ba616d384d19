//! The signed-webhook contract: what each scheme accepts, and everything it refuses.

use std::ops::Deref;

use serde_json::Value;
use sha2::{Digest, Sha256};
use sluice_api::{
    signature::{Scheme, Secret},
    sources::{Locator, Source},
};
use sluice_shared::{
    job::{Job, Origin},
    lanes::Lane,
};
use sluice_testkit::servers::RedisServer;

use crate::{
    common::{TestApp, spawn_app_with},
    sign::{accepted, add_source, github, now, plain, post_hook, queued_job, refused, stripe},
};

pub fn secret(s: &str) -> Secret {
    s.parse().unwrap()
}

/// The api on a Redis of its own, with a generous enqueue budget. These tests are about answers,
/// not latency (the outage tests keep 250 ms); the shared test Redis can stall for a second at a
/// time while other suites clean up (`KEYS` over millions of benchmark keys).
pub struct HooksApp {
    app: TestApp,
    _redis: RedisServer,
}

impl Deref for HooksApp {
    type Target = TestApp;
    fn deref(&self) -> &TestApp {
        &self.app
    }
}

impl HooksApp {
    pub async fn stop(self) {
        self.app.stop().await;
    }
}

pub async fn spawn_hooks_app() -> HooksApp {
    let redis = RedisServer::start().await.expect("a private redis-server");
    let app = spawn_app_with(&redis.url(), &["--enqueue-timeout=3000ms"]).await;
    HooksApp { app, _redis: redis }
}

/// A queued signed event's origin, flattened for the assertions.
struct SignedEvent {
    source: String,
    idempotency_key: String,
    rate_key: Option<String>,
    kind: String,
    payload: Box<serde_json::value::RawValue>,
}

fn signed_event(job: Job) -> SignedEvent {
    match job.origin {
        Origin::Signed {
            source,
            key,
            rate_key,
        } => SignedEvent {
            source,
            idempotency_key: key,
            rate_key,
            kind: job.kind,
            payload: job.payload,
        },
        other => panic!("expected a signed event, got {other}"),
    }
}

#[tokio::test]
async fn deliveries_signed_by_openssl_are_queued_with_their_raw_bytes() {
    let app = spawn_hooks_app().await;
    let mut gh = Source::new("gh", Scheme::Github, secret("gh-secret"));
    gh.kind = Some(Locator::Header("x-github-event".parse().unwrap()));
    gh.lane = Lane::Low;
    add_source(&app, gh).await;
    let mut st = Source::new("stripe", Scheme::Stripe, secret("whsec_abc"));
    st.idempotency = Some(Locator::Pointer("/id".parse().unwrap()));
    st.kind = Some(Locator::Pointer("/type".parse().unwrap()));
    st.rate_key = Some("/data/object/customer".parse().unwrap());
    st.lane = Lane::High;
    add_source(&app, st).await;
    add_source(&app, Source::new("plain", Scheme::Plain, secret("p"))).await;

    // Odd spacing everywhere: these exact bytes are signed, queued and stored.
    let body = r#"{"action": "opened",  "number":1 , "zen":"Keep it logically awesome."}"#;
    let headers = [
        github("gh-secret", body.as_bytes()),
        ("X-GitHub-Event", "pull_request".into()),
    ];
    let id = accepted(post_hook(&app, "gh", &headers, body).await)
        .await
        .unwrap();
    let e = signed_event(queued_job(&app, "low", &id).await);
    assert_eq!(e.payload.get(), body);
    assert_eq!((e.source.as_str(), e.kind.as_str()), ("gh", "pull_request"));
    let digest = hex::encode(Sha256::digest(body.as_bytes()));
    assert_eq!(e.idempotency_key, format!("sha256:{digest}"));

    let body = r#"{"id":"evt_1NG8Du2eZvKYlo2CUI79vXWy", "object":"event","type":"invoice.paid","data":{"object":{"customer":"cus_9s6XKzkNRiz8i3"}}}"#;
    let sig = stripe(&["whsec_abc"], now(), body.as_bytes());
    let id = accepted(post_hook(&app, "stripe", &[sig], body).await)
        .await
        .unwrap();
    let e = signed_event(queued_job(&app, "high", &id).await);
    assert_eq!(e.payload.get(), body);
    assert_eq!(e.idempotency_key, "evt_1NG8Du2eZvKYlo2CUI79vXWy");
    assert_eq!(e.kind, "invoice.paid");
    assert_eq!(e.rate_key.as_deref(), Some("cus_9s6XKzkNRiz8i3"));

    let body = "[1, 2,\n 3]";
    let id = accepted(post_hook(&app, "plain", &[plain("p", body.as_bytes())], body).await)
        .await
        .unwrap();
    let e = signed_event(queued_job(&app, "normal", &id).await);
    assert_eq!((e.payload.get(), e.kind.as_str()), (body, "event"));
    assert_eq!(app.jobs().await, 3);
    app.stop().await;
}

#[tokio::test]
async fn tampered_unsigned_and_stale_deliveries_are_refused_and_queue_nothing() {
    let app = spawn_hooks_app().await;
    add_source(&app, Source::new("gh", Scheme::Github, secret("gh-secret"))).await;
    add_source(&app, Source::new("st", Scheme::Stripe, secret("whsec_abc"))).await;
    let body = r#"{"zen": "Design for failure.", "hook_id": 12, "a": [1, 2]}"#;
    let sig = github("gh-secret", body.as_bytes());

    let mut flipped = body.as_bytes().to_vec();
    flipped[10] ^= 0x01;
    refused(
        post_hook(&app, "gh", std::slice::from_ref(&sig), flipped).await,
        401,
        "bad_signature",
    )
    .await;
    // The same JSON re-serialized (keys sorted, no spaces) is not what was signed.
    let reserialized = serde_json::from_str::<Value>(body).unwrap().to_string();
    assert_ne!(reserialized, body);
    refused(
        post_hook(&app, "gh", std::slice::from_ref(&sig), reserialized).await,
        401,
        "bad_signature",
    )
    .await;
    let wrong = github("not-the-secret", body.as_bytes());
    refused(
        post_hook(&app, "gh", &[wrong], body).await,
        401,
        "bad_signature",
    )
    .await;
    refused(post_hook(&app, "gh", &[], body).await, 401, "bad_signature").await;
    let malformed = ("X-Hub-Signature-256", "sha1=0a1b2c".to_owned());
    refused(
        post_hook(&app, "gh", &[malformed], body).await,
        401,
        "bad_signature",
    )
    .await;
    // A right MAC in another scheme's header is still no GitHub signature.
    let elsewhere = plain("gh-secret", body.as_bytes());
    refused(
        post_hook(&app, "gh", &[elsewhere], body).await,
        401,
        "bad_signature",
    )
    .await;

    // Stripe: a right signature over a timestamp 400 s off (tolerance 300 s), either way.
    for t in [now() - 400, now() + 400] {
        let stale = stripe(&["whsec_abc"], t, body.as_bytes());
        refused(
            post_hook(&app, "st", &[stale], body).await,
            401,
            "stale_timestamp",
        )
        .await;
    }
    let other = stripe(&["whsec_other"], now(), body.as_bytes());
    refused(
        post_hook(&app, "st", &[other], body).await,
        401,
        "bad_signature",
    )
    .await;
    assert_eq!(app.jobs().await, 0);

    // The untouched deliveries are fine.
    assert!(
        accepted(post_hook(&app, "gh", &[sig], body).await)
            .await
            .is_some()
    );
    let fresh = stripe(&["whsec_abc"], now(), body.as_bytes());
    assert!(
        accepted(post_hook(&app, "st", &[fresh], body).await)
            .await
            .is_some()
    );
    app.stop().await;
}

#[tokio::test]
async fn unknown_oversized_and_unstorable_deliveries() {
    let app = spawn_hooks_app().await;
    let body = r#"{"a":1}"#;
    refused(
        post_hook(&app, "nobody", &[plain("x", body.as_bytes())], body).await,
        404,
        "unknown_source",
    )
    .await;
    // GitHub's documented example verifies — and is then refused only for not being JSON.
    add_source(
        &app,
        Source::new("docs", Scheme::Github, secret("It's a Secret to Everybody")),
    )
    .await;
    let vector = (
        "X-Hub-Signature-256",
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17".to_owned(),
    );
    refused(
        post_hook(&app, "docs", std::slice::from_ref(&vector), "Hello, World!").await,
        400,
        "bad_request",
    )
    .await;
    refused(
        post_hook(&app, "docs", &[vector], "Hello, World?").await,
        401,
        "bad_signature",
    )
    .await;

    add_source(&app, Source::new("p", Scheme::Plain, secret("p"))).await;
    let huge = format!(r#"{{"x":"{}"}}"#, "x".repeat(1024 * 1024));
    let sig = plain("p", huge.as_bytes());
    refused(post_hook(&app, "p", &[sig], huge).await, 413, "too_large").await;
    let nul = r#"{"a":"x\u0000y"}"#;
    refused(
        post_hook(&app, "p", &[plain("p", nul.as_bytes())], nul).await,
        400,
        "bad_request",
    )
    .await;
    assert_eq!(app.jobs().await, 0);
    app.stop().await;
}

#[tokio::test]
async fn outcomes_are_counted_by_scheme_never_by_source_name() {
    let app = spawn_hooks_app().await;
    add_source(
        &app,
        Source::new("metrics-src-7f3a", Scheme::Github, secret("s")),
    )
    .await;
    let body = r#"{"n":1}"#;
    let sig = github("s", body.as_bytes());
    accepted(post_hook(&app, "metrics-src-7f3a", &[sig], body).await).await;
    refused(
        post_hook(&app, "made-up-name-9c1d", &[], body).await,
        404,
        "unknown_source",
    )
    .await;
    let metrics = app.admin_get("/metrics").await.text().await.unwrap();
    // The recorder is global: other tests' counts are in there too, hence "any".
    let counted = |outcome: &str, lane: &str| {
        metrics.lines().any(|l| {
            l.starts_with(sluice_shared::metrics::HOOK_DELIVERIES_TOTAL)
                && l.contains(r#"scheme="github""#)
                && l.contains(&format!(r#"outcome="{outcome}""#))
                && l.contains(&format!(r#"lane="{lane}""#))
        })
    };
    assert!(counted("accepted", "normal"), "{metrics}");
    let unknown = metrics.lines().any(|l| {
        l.starts_with(sluice_shared::metrics::HOOK_DELIVERIES_TOTAL)
            && l.contains(r#"scheme="none""#)
            && l.contains(r#"outcome="unknown_source""#)
    });
    assert!(unknown, "{metrics}");
    assert!(metrics.contains(r#"route="/webhook/hooks/{source}""#));
    assert!(!metrics.contains("metrics-src-7f3a") && !metrics.contains("made-up-name-9c1d"));
    app.stop().await;
}
