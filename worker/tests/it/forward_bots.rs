//! Per-bot forwarding against real local targets: each bot's own URL, its Telegram secret token
//! sent on (and only where it should be), a change seen without a restart within the cache's
//! age, and a webhook reply counted, not executed without a token, and never a secret in a log.

use std::time::{Duration, Instant};

use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
};
use base64::{Engine, engine::general_purpose::STANDARD};
use sluice_shared::{lanes::Lane, metrics as m};
use sluice_testkit::{TestDb, prefix, redis_url, wait_until};

use crate::{
    api::api_cli,
    common::{enqueuer, envelope, jobs_done, spawn_worker_logged},
    target::{SECRET, Seen, Target},
};

const ALPHA_SECRET: &str = "alpha_s3cr3t_token";
const BETA_SECRET: &str = "beta_s3cr3t_token";
const GAMMA_SECRET: &str = "gamma_s3cr3t_token";

fn json_reply(_: &Seen) -> Response {
    (
        [("content-type", "application/json")],
        r#"{"method":"sendMessage","chat_id":1,"text":"s3cr3t-reply-text"}"#,
    )
        .into_response()
}

fn secret_of(seen: &Seen) -> Option<String> {
    let v = seen.headers.get("x-telegram-bot-api-secret-token")?;
    Some(v.to_str().unwrap().to_owned())
}

#[tokio::test]
async fn each_bot_has_its_target_and_its_secret_header() {
    let db = TestDb::fresh().await.unwrap();
    let (redis, prefix) = (redis_url(), prefix());
    let key = STANDARD.encode([7u8; 32]);
    let own = Target::start(json_reply).await;
    let global = Target::start(|_| StatusCode::OK.into_response()).await;
    let own_url = format!("{}/alpha?token=s3cr3t-in-url", own.base);
    let keyed = [("SLUICE_SECRETS_KEY", key.as_str())];
    // alpha: its own URL, secret sent; beta: the global URL, secret stored but `off`; gamma:
    // registered without a key, so its secret is a hash only and nothing is sent.
    let alpha = [
        "bots",
        "add",
        "alpha",
        "--secret",
        ALPHA_SECRET,
        "--forward-url",
        &own_url,
    ];
    api_cli(&db.url, &alpha, &keyed).await;
    let beta = [
        "bots",
        "add",
        "beta",
        "--secret",
        BETA_SECRET,
        "--forward-secret",
        "off",
    ];
    api_cli(&db.url, &beta, &keyed).await;
    api_cli(
        &db.url,
        &["bots", "add", "gamma", "--secret", GAMMA_SECRET],
        &[],
    )
    .await;

    let env = [
        ("SLUICE_HANDLER", "forward"),
        ("SLUICE_FORWARD_URL", global.base.as_str()),
        ("SLUICE_FORWARD_SECRET", SECRET),
        ("SLUICE_SECRETS_KEY", key.as_str()),
    ];
    let (worker, log) = spawn_worker_logged(&db.url, &redis, &prefix, &env);
    let enq = enqueuer(&redis, &prefix);
    for bot in ["alpha", "beta", "gamma"] {
        enq.enqueue(&envelope(bot, 1, Lane::High)).await.unwrap();
    }
    let all_done = wait_until(Duration::from_secs(20), || async {
        jobs_done(&worker.metrics().await) == 3.0
    })
    .await;
    assert!(all_done, "{}", worker.metrics().await);

    let to_own = own.seen();
    assert_eq!(to_own.len(), 1);
    assert_eq!(to_own[0].uri, "/alpha?token=s3cr3t-in-url");
    assert_eq!(to_own[0].headers["x-sluice-bot"], "alpha");
    assert_eq!(secret_of(&to_own[0]).as_deref(), Some(ALPHA_SECRET));
    let to_global = global.seen();
    let mut bots: Vec<_> = to_global
        .iter()
        .map(|s| s.headers["x-sluice-bot"].to_str().unwrap().to_owned())
        .collect();
    bots.sort();
    assert_eq!(bots, ["beta", "gamma"]);
    assert!(to_global.iter().all(|s| secret_of(s).is_none()));

    // alpha's target answered with a reply: counted by method, not executed (alpha has no
    // Bot API token), and the update still delivered.
    let metrics = worker.metrics().await;
    let counted = format!(
        r#"{}{{method="sendMessage",outcome="no_token"}} 1"#,
        m::FORWARD_REPLIES_TOTAL
    );
    assert!(metrics.contains(&counted), "{metrics}");

    // A change is seen by the running worker within the cache's age (5 s).
    let changed = Instant::now();
    let to_global_now = ["bots", "update", "alpha", "--default-forward-url"];
    api_cli(&db.url, &to_global_now, &keyed).await;
    let mut update_id = 1;
    let moved = wait_until(Duration::from_secs(10), || {
        update_id += 1;
        let (enq, global) = (&enq, &global);
        async move {
            enq.enqueue(&envelope("alpha", update_id, Lane::High))
                .await
                .unwrap();
            tokio::time::sleep(Duration::from_millis(200)).await;
            global
                .seen()
                .iter()
                .any(|s| s.headers["x-sluice-bot"] == "alpha")
        }
    })
    .await;
    let took = changed.elapsed();
    eprintln!("a bots update reached the running worker after {took:?}");
    assert!(moved && took < Duration::from_secs(7), "{took:?}");
    let at_global = global.seen();
    let alpha_there = at_global
        .iter()
        .find(|s| s.headers["x-sluice-bot"] == "alpha")
        .unwrap();
    assert_eq!(secret_of(alpha_there).as_deref(), Some(ALPHA_SECRET));

    let log = std::fs::read_to_string(&log).unwrap();
    assert!(
        log.contains("webhook reply not executed") && log.contains("has no Bot API token"),
        "{log}"
    );
    assert_eq!(
        log.matches("webhook reply not executed").count(),
        1,
        "once per bot per minute:\n{log}"
    );
    for text in [&log, &worker.metrics().await] {
        for secret in [ALPHA_SECRET, BETA_SECRET, GAMMA_SECRET, "s3cr3t", &key] {
            assert!(!text.contains(secret), "a secret leaked:\n{text}");
        }
    }
    sluice_testkit::clear_prefix(&redis, &prefix).await;
    db.drop_db().await;
}

#[tokio::test]
async fn a_secret_no_key_opens_is_retried_and_never_shown() {
    let db = TestDb::fresh().await.unwrap();
    let (redis, prefix) = (redis_url(), prefix());
    let target = Target::start(|_| StatusCode::OK.into_response()).await;
    let sealed_with = STANDARD.encode([1u8; 32]);
    let add = ["bots", "add", "alpha", "--secret", ALPHA_SECRET];
    api_cli(&db.url, &add, &[("SLUICE_SECRETS_KEY", &sealed_with)]).await;
    let other = STANDARD.encode([2u8; 32]);
    let env = [
        ("SLUICE_HANDLER", "forward"),
        ("SLUICE_FORWARD_URL", target.base.as_str()),
        ("SLUICE_FORWARD_SECRET", SECRET),
        ("SLUICE_SECRETS_KEY", other.as_str()),
        ("SLUICE_RETRY_MAX_ATTEMPTS", "2"),
        ("SLUICE_RETRY_BASE", "10ms"),
        ("SLUICE_RETRY_MAX", "10ms"),
    ];
    let (_worker, log) = spawn_worker_logged(&db.url, &redis, &prefix, &env);
    enqueuer(&redis, &prefix)
        .enqueue(&envelope("alpha", 1, Lane::High))
        .await
        .unwrap();
    let (dead, list) =
        crate::common::wait_for_dead_letters(&redis, &prefix, 1, Duration::from_secs(20)).await;
    assert!(dead, "{list}");
    assert!(
        list.contains("gave up after 2 attempts: bot 'alpha' has its webhook secret stored encrypted, and it does not open"),
        "{list}"
    );
    assert!(target.seen().is_empty(), "sent without the header it needs");
    let log = std::fs::read_to_string(&log).unwrap();
    for text in [&list, &log] {
        for secret in [ALPHA_SECRET, &sealed_with, &other] {
            assert!(!text.contains(secret), "a secret leaked:\n{text}");
        }
    }
    sluice_testkit::clear_prefix(&redis, &prefix).await;
    db.drop_db().await;
}
