//! Signed webhooks over time: replays, duplicates, secret rotation, sources coming and going,
//! and Redis outages.

use std::time::{Duration, Instant};

use sluice_api::{
    replay::{ReplayError, ReplayGuard},
    signature::{ReplayStamp, Scheme},
    sources::{
        Locator, Source,
        manage::{self, Rotation},
    },
};
use sluice_testkit::{free_port, servers::RedisServer, wait_until};

use crate::{
    common::{BOT, message, spawn_app_with},
    hooks::{secret, spawn_hooks_app},
    sign::{accepted, add_source, github, now, plain, post_hook, refused, stripe},
};

#[tokio::test]
async fn a_replayed_stripe_delivery_is_refused_but_a_stripe_retry_is_a_duplicate() {
    let app = spawn_hooks_app().await;
    let mut st = Source::new("st", Scheme::Stripe, secret("whsec_abc"));
    st.idempotency = Some(Locator::Pointer("/id".parse().unwrap()));
    add_source(&app, st).await;
    let body = r#"{"id":"evt_replay","type":"charge.succeeded"}"#;
    let t = now();
    let sig = stripe(&["whsec_abc"], t, body.as_bytes());
    assert!(
        accepted(post_hook(&app, "st", std::slice::from_ref(&sig), body).await)
            .await
            .is_some()
    );
    // The captured request, sent again within the tolerance window.
    refused(
        post_hook(&app, "st", std::slice::from_ref(&sig), body).await,
        401,
        "replayed",
    )
    .await;
    // Stripe's own retry of the event is signed anew: not a replay, a duplicate.
    let retry = stripe(&["whsec_abc"], t - 1, body.as_bytes());
    assert_eq!(
        accepted(post_hook(&app, "st", std::slice::from_ref(&retry), body).await).await,
        None
    );
    refused(post_hook(&app, "st", &[retry], body).await, 401, "replayed").await;

    // Concurrent copies of one request: exactly one gets in.
    let body = r#"{"id":"evt_race"}"#;
    let sig = stripe(&["whsec_abc"], now(), body.as_bytes());
    let sends = (0..5).map(|_| post_hook(&app, "st", std::slice::from_ref(&sig), body));
    let statuses: Vec<u16> = futures::future::join_all(sends)
        .await
        .iter()
        .map(|r| r.status().as_u16())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 401).count(),
        4,
        "{statuses:?}"
    );
    assert_eq!(app.jobs().await, 2);
    app.stop().await;
}

#[tokio::test]
async fn idempotency_keys_are_per_source_and_apart_from_telegram() {
    let app = spawn_hooks_app().await;
    for name in [BOT, "other"] {
        let mut s = Source::new(name, Scheme::Plain, secret("k"));
        s.idempotency = Some(Locator::Header("x-delivery".parse().unwrap()));
        add_source(&app, s).await;
    }
    let mut by_id = Source::new("ptr", Scheme::Plain, secret("k"));
    by_id.idempotency = Some(Locator::Pointer("/id".parse().unwrap()));
    add_source(&app, by_id).await;
    add_source(&app, Source::new("hashy", Scheme::Plain, secret("k"))).await;
    let post = |source: &'static str, key: Option<&'static str>, body: &'static str| {
        let mut headers = vec![plain("k", body.as_bytes())];
        headers.extend(key.map(|k| ("X-Delivery", k.to_owned())));
        let app = &app;
        async move {
            accepted(post_hook(app, source, &headers, body).await)
                .await
                .is_some()
        }
    };
    assert!(post(BOT, Some("1"), r#"{"v":"a"}"#).await);
    assert!(
        !post(BOT, Some("1"), r#"{"v":"b"}"#).await,
        "same key, same source"
    );
    assert!(
        post("other", Some("1"), r#"{"v":"a"}"#).await,
        "same key, other source"
    );
    // Telegram's update 1 of a bot named like the source: tg:testbot:1 vs src:testbot:1.
    assert_eq!(
        app.post_update(BOT, message(1, 1, "hi")).await.status(),
        200
    );
    assert_eq!(app.jobs().await, 3);
    assert!(post("ptr", None, r#"{"id":7,"try":1}"#).await);
    assert!(!post("ptr", None, r#"{"id":7,"try":2}"#).await, "same /id");
    // No key configured: the body's hash is the key.
    assert!(post("hashy", None, r#"{"v":1}"#).await);
    assert!(!post("hashy", None, r#"{"v":1}"#).await);
    assert!(
        post("hashy", None, r#"{"v": 1}"#).await,
        "other bytes, other key"
    );
    assert_eq!(app.jobs().await, 6);
    app.stop().await;
}

#[tokio::test]
async fn rotation_accepts_both_secrets_until_the_next_is_promoted() {
    let app = spawn_hooks_app().await;
    add_source(&app, Source::new("gh", Scheme::Github, secret("old"))).await;
    let body = |n: u32| format!(r#"{{"n":{n}}}"#);
    let status = |key: &'static str, n: u32| {
        let (app, b) = (&app, body(n));
        async move {
            post_hook(app, "gh", &[github(key, b.as_bytes())], b)
                .await
                .status()
        }
    };
    assert_eq!(status("new", 1).await, 401);
    let rotate = |r: Rotation| manage::update(&app.db.pool, "gh", move |s| r.apply(s));
    rotate(Rotation {
        secret: None,
        next_secret: Some(secret("new")),
        promote_next: false,
        drop_next: false,
    })
    .await
    .unwrap();
    let seen = wait_until(Duration::from_secs(5), || async {
        status("new", 2).await == 200
    })
    .await;
    assert!(seen, "the next secret is accepted within 5 s");
    assert_eq!(status("old", 3).await, 200, "and the current one still is");
    rotate(Rotation {
        secret: None,
        next_secret: None,
        promote_next: true,
        drop_next: false,
    })
    .await
    .unwrap();
    let gone = wait_until(Duration::from_secs(5), || async {
        status("old", 4).await == 401
    })
    .await;
    assert!(
        gone,
        "the old secret is refused within 5 s of the promotion"
    );
    assert_eq!(status("new", 5).await, 200);

    // Stripe sends one v1 per active secret while rotating; either may be ours.
    let mut st = Source::new("st", Scheme::Stripe, secret("whsec_old"));
    st.next_secret = Some(secret("whsec_new"));
    add_source(&app, st).await;
    for (n, keys) in [
        (6, &["whsec_x", "whsec_new"][..]),
        (7, &["whsec_old"]),
        (8, &["whsec_new"]),
    ] {
        let b = body(n);
        let sig = stripe(keys, now(), b.as_bytes());
        assert!(
            accepted(post_hook(&app, "st", &[sig], b).await)
                .await
                .is_some(),
            "{keys:?}"
        );
    }
    let b = body(9);
    let sig = stripe(&["whsec_x", "whsec_y"], now(), b.as_bytes());
    refused(post_hook(&app, "st", &[sig], b).await, 401, "bad_signature").await;
    app.stop().await;
}

#[tokio::test]
async fn a_removed_source_answers_404_within_seconds() {
    let app = spawn_hooks_app().await;
    add_source(&app, Source::new("brief", Scheme::Plain, secret("k"))).await;
    sluice_api::sources::store::remove(&app.db.pool, "brief")
        .await
        .unwrap();
    let gone = wait_until(Duration::from_secs(5), || async {
        post_hook(&app, "brief", &[], "{}").await.status() == 404
    })
    .await;
    assert!(gone, "a removed source answers 404 within 5 s");
    app.stop().await;
}

#[tokio::test]
async fn redis_down_gets_503_within_the_budget_never_2xx() {
    let closed = format!("redis://127.0.0.1:{}", free_port());
    let app = spawn_app_with(&closed, &[]).await;
    add_source(&app, Source::new("st", Scheme::Stripe, secret("whsec_abc"))).await;
    add_source(&app, Source::new("p", Scheme::Plain, secret("k"))).await;
    let body = r#"{"id":"evt_down"}"#;
    for _ in 0..3 {
        for (source, sig) in [
            ("st", stripe(&["whsec_abc"], now(), body.as_bytes())),
            ("p", plain("k", body.as_bytes())),
        ] {
            let started = Instant::now();
            let resp = post_hook(&app, source, &[sig], body).await;
            let took = started.elapsed();
            assert_eq!(resp.headers().get("retry-after").unwrap(), "1");
            refused(resp, 503, "retry").await;
            assert!(
                took <= Duration::from_millis(350),
                "{source} answered after {took:?}"
            );
        }
    }
    app.stop().await;
}

#[tokio::test]
async fn a_released_replay_claim_can_be_claimed_again() {
    let redis = sluice_testkit::servers::RedisServer::start().await.unwrap();
    let (prefix, url) = (sluice_testkit::prefix(), redis.url());
    let conn = sluice_shared::queue::connect(&url, Duration::from_secs(5)).unwrap();
    let guard = ReplayGuard::new(conn, &prefix, Duration::from_secs(5));
    let stamp = ReplayStamp {
        digest: [7; 32],
        window: Duration::from_secs(300),
    };
    let claim = guard.claim("st", &stamp).await.unwrap();
    assert!(matches!(
        guard.claim("st", &stamp).await,
        Err(ReplayError::Replayed)
    ));
    assert!(
        guard.claim("other", &stamp).await.is_ok(),
        "claims are per source"
    );
    // What the route does when the enqueue fails after the claim: the sender's verbatim retry
    // must not look like a replay.
    guard.release(claim).await;
    let again = guard.claim("st", &stamp).await;
    assert!(again.is_ok(), "{again:?}");
    sluice_testkit::clear_prefix(&url, &prefix).await;
}

#[tokio::test]
async fn a_flooding_rate_key_is_braked_with_429_while_others_pass() {
    let redis = RedisServer::start().await.unwrap();
    let app = spawn_app_with(
        &redis.url(),
        &[
            "--enqueue-timeout=3000ms",
            "--rate-chat-per-min=60",
            "--rate-chat-burst=3",
        ],
    )
    .await;
    let mut src = Source::new("pay", Scheme::Plain, secret("k"));
    src.idempotency = Some(Locator::Pointer("/id".parse().unwrap()));
    src.rate_key = Some("/customer".parse().unwrap());
    add_source(&app, src).await;
    let send = |id: u32, customer: &'static str| {
        let body = format!(r#"{{"id":"evt_{id}","customer":"{customer}"}}"#);
        let sig = plain("k", body.as_bytes());
        let app = &app;
        async move { post_hook(app, "pay", &[sig], body).await }
    };
    for id in 0..3 {
        assert!(accepted(send(id, "cus_flood").await).await.is_some());
    }
    let resp = send(3, "cus_flood").await;
    let retry_after: u64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after), "Retry-After {retry_after}");
    refused(resp, 429, "rate_limited").await;
    assert!(
        accepted(send(4, "cus_quiet").await).await.is_some(),
        "another customer is admitted"
    );
    app.stop().await;
}
