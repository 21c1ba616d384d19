//! Signed webhooks end to end: `sluice-api` binary → Redis → worker binary → exactly one
//! `events` row per event, however often it is posted.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sluice_testkit::{TestDb, openssl_hmac, prefix, servers::RedisServer, wait_until};

use crate::{
    api::{add_bot, add_source, spawn_api},
    common::{spawn_worker, unfinished},
};

fn stripe_header(key: &str, t: u64, body: &str) -> String {
    format!(
        "t={t},v1={}",
        openssl_hmac(key, format!("{t}.{body}").as_bytes())
    )
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

async fn events(db: &TestDb) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(&db.pool)
        .await
        .unwrap_or(-1)
}

async fn sources(db: &TestDb) {
    let stripe = [
        "--idempotency-pointer=/id",
        "--kind-pointer=/type",
        "--rate-key-pointer=/data/object/customer",
        "--lane=high",
    ];
    add_source(&db.url, "stripe", "stripe", "whsec_e2e", &stripe).await;
    let gh = ["--kind-header=x-github-event"];
    add_source(&db.url, "gh", "github", "gh-e2e", &gh).await;
}

#[tokio::test]
async fn signed_events_land_exactly_once_even_when_posted_twice() {
    let db = TestDb::fresh().await.unwrap();
    sources(&db).await;
    add_bot(&db.url, "shop_bot", "tok").await;
    // A Redis of the test's own: the shared one may be busy with benchmarks.
    let redis = RedisServer::start().await.unwrap();
    let prefix = prefix();
    let env = [("SLUICE_ENQUEUE_TIMEOUT", "3000ms")];
    let mut api = spawn_api(&db.url, &redis.url(), &prefix, &env).await;
    let base = api.base.clone();
    let mut worker = spawn_worker(&db.url, &redis.url(), &prefix, &[]);
    let client = reqwest::Client::new();
    let post = |path: &str, headers: Vec<(&'static str, String)>, body: &str| {
        let mut req = client.post(format!("{base}{path}")).body(body.to_owned());
        for (k, v) in headers {
            req = req.header(k, v);
        }
        async move { req.send().await.unwrap().status().as_u16() }
    };

    let stripe_body =
        r#"{"id":"evt_e2e_1","type":"invoice.paid", "data":{"object":{"customer":"cus_42"}}}"#;
    let t = now();
    let sig = stripe_header("whsec_e2e", t, stripe_body);
    assert_eq!(
        post(
            "/webhook/hooks/stripe",
            vec![("Stripe-Signature", sig.clone())],
            stripe_body
        )
        .await,
        200
    );
    // Stripe's retry (signed anew) is a duplicate; the captured request replayed is refused.
    let retry = stripe_header("whsec_e2e", t - 1, stripe_body);
    assert_eq!(
        post(
            "/webhook/hooks/stripe",
            vec![("Stripe-Signature", retry)],
            stripe_body
        )
        .await,
        200
    );
    assert_eq!(
        post(
            "/webhook/hooks/stripe",
            vec![("Stripe-Signature", sig)],
            stripe_body
        )
        .await,
        401
    );
    let gh_body = r#"{"ref":"refs/heads/main","after":"8f3a"}"#;
    let gh = || {
        vec![
            (
                "X-Hub-Signature-256",
                format!("sha256={}", openssl_hmac("gh-e2e", gh_body.as_bytes())),
            ),
            ("X-GitHub-Event", "push".to_owned()),
        ]
    };
    for _ in 0..2 {
        assert_eq!(post("/webhook/hooks/gh", gh(), gh_body).await, 200);
    }
    let update = r#"{"update_id":1,"message":{"message_id":1,"chat":{"id":5,"type":"private"},"date":1,"text":"hi"}}"#;
    let tg = vec![("X-Telegram-Bot-Api-Secret-Token", "tok".to_owned())];
    assert_eq!(post("/webhook/telegram/shop_bot", tg, update).await, 200);

    let stored = wait_until(Duration::from_secs(20), || async {
        events(&db).await == 2 && db.update_rows().await == 1
    })
    .await;
    assert!(
        stored,
        "2 events and 1 update expected, found {} and {}",
        events(&db).await,
        db.update_rows().await
    );
    let row: (String, String, Option<String>, String, bool) = sqlx::query_as(
        "SELECT idempotency_key, kind, rate_key, lane, payload = $1::jsonb FROM events WHERE source = 'stripe'",
    )
    .bind(stripe_body)
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(
        row,
        (
            "evt_e2e_1".into(),
            "invoice.paid".into(),
            Some("cus_42".into()),
            "high".into(),
            true
        )
    );
    let kind: String = sqlx::query_scalar("SELECT kind FROM events WHERE source = 'gh'")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(kind, "push");

    // Past Redis's dedup window (forgotten here by deleting the key), Stripe's next retry is a
    // new job — and Postgres still keeps one row.
    let conn_client = redis::Client::open(redis.url()).unwrap();
    let mut conn = conn_client
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("*src:stripe:evt_e2e_1")
        .query_async(&mut conn)
        .await
        .unwrap();
    // The lane-independent claim, plus its lane's own while SLUICE_DEDUP_LANE_KEYS is on.
    assert!(
        keys.iter()
            .any(|k| k.ends_with(":idempotency:src:stripe:evt_e2e_1") && !k.contains(":high:")),
        "{keys:?}"
    );
    assert!(keys.len() <= 2, "{keys:?}");
    let _: i64 = redis::cmd("DEL")
        .arg(&keys)
        .query_async(&mut conn)
        .await
        .unwrap();
    let later = stripe_header("whsec_e2e", now() + 1, stripe_body);
    assert_eq!(
        post(
            "/webhook/hooks/stripe",
            vec![("Stripe-Signature", later)],
            stripe_body
        )
        .await,
        200
    );
    // Both stripe jobs (the first, and this one) ran to completion in the high lane.
    let high_done = || async {
        worker.metrics().await.lines().any(|l| {
            l.starts_with(sluice_shared::metrics::JOBS_TOTAL)
                && l.contains(r#"lane="high""#)
                && l.contains(r#"outcome="done""#)
                && l.ends_with(" 2")
        })
    };
    assert!(
        wait_until(Duration::from_secs(20), high_done).await,
        "{}",
        worker.metrics().await
    );
    // The handler counts a job before apalis acknowledges it: wait for the acknowledgement too.
    let acked = wait_until(Duration::from_secs(10), || async {
        unfinished(&redis.url(), &prefix).await == 0
    })
    .await;
    assert!(acked, "the re-delivered job was acknowledged");
    assert_eq!(events(&db).await, 2, "still one row per event");

    worker.kill9().await;
    api.kill().await;
    db.drop_db().await;
}
